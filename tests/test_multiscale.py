"""The random multi-scale extractor (issue 17): shapes, seeding, frozen weights, that lesson 08's
loss and step run on it, and the measures (Gram, content and colour-histogram distances)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, multiscale, style
from tflab.source import notebook_definitions

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_style_transfer.ipynb"


@pytest.fixture(scope="module")
def extractor():
    return multiscale.random_multiscale(seed=0)


@pytest.fixture(scope="module")
def images():
    return (data.content_image("chelsea", max_side=96),
            data.style_image("starry_night", max_side=96))


def stripes(period: int, size: int = 64) -> np.ndarray:
    """Black and white vertical stripes, ``period`` px wide each: half the pixels white."""
    row = (np.arange(size) // period) % 2
    return np.tile(row[None, :, None], (size, 1, 3)).astype(np.float32)


@pytest.mark.parametrize("height,width", [(64, 64), (96, 72)])
def test_one_map_per_scale_at_its_pyramid_level(extractor, height, width):
    maps = extractor(tf.zeros((1, height, width, 3)))
    assert len(maps) == len(multiscale.DEFAULT_SCALES) + 1  # the style maps, then the content
    for f, (level, _) in zip(maps, multiscale.DEFAULT_SCALES):
        assert tuple(f.shape) == (1, -(-height // 2 ** level), -(-width // 2 ** level), 64)
    assert tuple(maps[-1].shape) == tuple(maps[2].shape)
    np.testing.assert_array_equal(maps[-1], maps[2])
    assert extractor.style_layers == ("level0_k3", "level0_k7", "level1_k7", "level2_k7",
                                      "level3_k7", "level4_k7")
    assert extractor.content_layers == ("level1_k7",)
    assert extractor.weights_kind == "random-multiscale"


def test_same_seed_same_filters_other_seed_other_filters(extractor, images):
    again, other = multiscale.random_multiscale(seed=0), multiscale.random_multiscale(seed=1)
    for a, b, c in zip(extractor.weights, again.weights, other.weights):
        np.testing.assert_array_equal(a, b)
        assert np.abs(np.asarray(a) - np.asarray(c)).mean() > 1e-3
    photo = images[0][None]
    for a, b, c in zip(extractor(photo), again(photo), other(photo)):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_filters_are_glorot_uniform_and_frozen(extractor):
    assert extractor.trainable_weights == []
    assert len(extractor.non_trainable_weights) == len(multiscale.DEFAULT_SCALES)
    for name, (_, k) in zip(extractor.style_layers, multiscale.DEFAULT_SCALES):
        w = np.asarray(extractor.get_layer(name).kernel)
        limit = np.sqrt(6 / (k * k * 3 + k * k * 64))
        assert w.shape == (k, k, 3, 64) and np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.9 * limit and abs(w.mean()) < 0.1 * limit  # fills [-l, l]


def test_a_flat_image_gives_flat_maps_at_every_scale(extractor):
    """Reflect padding and a blur that sums to 1: no border artefacts from zero padding."""
    maps = extractor(tf.fill((1, 64, 80, 3), 0.3))
    for f in maps:
        f = np.asarray(f)
        np.testing.assert_allclose(f, np.broadcast_to(f[:, :1, :1], f.shape), atol=1e-5)


def test_coarse_scales_tell_stripe_widths_apart_that_colours_do_not(extractor):
    fine, coarse = stripes(2), stripes(16)
    assert multiscale.histogram_distance(fine, coarse) == 0.0
    assert multiscale.gram_distance(fine, coarse, extractor) > 0.1


def test_gram_distance_is_zero_for_the_style_and_large_for_a_photo(extractor, images):
    photo, painting = images
    assert multiscale.gram_distance(painting, painting, extractor) == pytest.approx(0, abs=1e-6)
    far = multiscale.gram_distance(photo, painting, extractor)
    assert far > 0.3
    judge = multiscale.random_multiscale(seed=7)
    assert multiscale.gram_distance(photo, painting, judge) > 0.3
    near = np.clip(photo + 0.02 * np.random.default_rng(0).normal(size=photo.shape), 0, 1)
    assert multiscale.gram_distance(near, photo, extractor) < 0.1 * far


class FixedMaps:
    """A stand-in extractor returning given maps: checks the formulas, not the network."""

    style_layers, content_layers = ("a", "b"), ("c",)

    def __init__(self, maps):
        self.maps = maps

    def __call__(self, image):
        return self.maps[round(float(np.asarray(image).mean()) * 10)]


def test_distances_follow_their_formulas():
    rng = np.random.default_rng(3)
    maps = {k: [rng.normal(size=(1, 4, 5, 3)).astype(np.float32) for _ in range(3)]
            for k in (1, 5)}
    ex = FixedMaps(maps)
    one, five = np.full((8, 8, 3), 0.1, np.float32), np.full((8, 8, 3), 0.5, np.float32)

    def gram(f):
        return f.reshape(-1, f.shape[-1]).T @ f.reshape(-1, f.shape[-1]) / 20

    want = np.mean([np.mean((gram(a) - gram(b)) ** 2) / np.mean(gram(b) ** 2)
                    for a, b in zip(maps[1][:2], maps[5][:2])])
    assert multiscale.gram_distance(one, five, ex) == pytest.approx(want, rel=1e-5)
    a, b = maps[1][2], maps[5][2]
    assert multiscale.content_distance(one, five, ex) == pytest.approx(
        np.mean((a - b) ** 2) / np.mean(b ** 2), rel=1e-5)


def test_content_distance_zero_for_itself_and_grows_with_change(extractor, images):
    photo, painting = images
    assert multiscale.content_distance(photo, photo, extractor) == 0.0
    blurred = np.asarray(tf.image.resize(tf.image.resize(photo[None], (11, 16), "area"),
                                         photo.shape[:2]))[0]
    assert multiscale.content_distance(blurred, photo, extractor) > 0.01
    with pytest.raises(ValueError, match="same height and width"):
        multiscale.content_distance(painting, photo, extractor)


def test_histogram_distance_zero_one_symmetric_and_by_hand():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=(20, 30, 3)), rng.uniform(size=(10, 10, 3))
    assert multiscale.histogram_distance(a, a) == 0.0
    assert multiscale.histogram_distance(a, b) == multiscale.histogram_distance(b, a)
    dark, light = 0.4 * a, 0.6 + 0.4 * b
    assert multiscale.histogram_distance(dark, light) == 1.0
    red, blue = np.zeros((2, 2, 3)), np.zeros((2, 2, 3))
    red[..., 0], blue[..., 2] = 1.0, 1.0
    mixed = np.concatenate([red, blue], axis=0)  # half red, half blue
    assert multiscale.histogram_distance(red, mixed) == pytest.approx(0.5)
    assert multiscale.histogram_distance(red, mixed[None], bins=1) == 0.0


@pytest.mark.parametrize("call,match", [
    (lambda ex: multiscale.histogram_distance(np.ones((8, 8, 3)) * 255, np.ones((8, 8, 3))),
     r"a must hold values in \[0, 1\].*255"),
    (lambda ex: multiscale.histogram_distance(np.ones((8, 8, 3)), np.ones((8, 8))),
     r"b must be one RGB image"),
    (lambda ex: multiscale.histogram_distance(np.ones((8, 8, 3)), np.ones((8, 8, 3)), bins=0),
     "bins must be"),
    (lambda ex: multiscale.gram_distance(np.ones((2, 64, 64, 3)), np.ones((64, 64, 3)), ex),
     "image must be one RGB image"),
    (lambda ex: multiscale.gram_distance(np.ones((64, 64, 3)), np.full((64, 64, 3), np.nan), ex),
     r"style_image must hold values in \[0, 1\]"),
    (lambda ex: multiscale.gram_distance(np.ones((64, 64, 3)), np.ones((64, 64, 3)), "vgg"),
     "extractor must be a feature extractor"),
    (lambda ex: multiscale.random_multiscale(filters=0), "filters must be a positive int"),
    (lambda ex: multiscale.random_multiscale(scales=[(0, 4)]), "odd kernel"),
    (lambda ex: multiscale.random_multiscale(content_scale=6), "content_scale must index"),
])
def test_bad_input_is_named(extractor, call, match):
    with pytest.raises(ValueError, match=match):
        call(extractor)


def test_small_images_run_too():
    """Coarse levels of a small image are smaller than the padding: mirrored in rounds."""
    extractor = multiscale.random_multiscale(seed=0, filters=4)
    for height, width in [(1, 1), (5, 9), (30, 44)]:
        maps = extractor(tf.fill((1, height, width, 3), 0.7))
        for f, (level, _) in zip(maps, multiscale.DEFAULT_SCALES):
            assert tuple(f.shape) == (1, -(-height // 2 ** level), -(-width // 2 ** level), 4)
            f = np.asarray(f)
            np.testing.assert_allclose(f, np.broadcast_to(f[:, :1, :1], f.shape), atol=1e-5)


def test_lesson_08_loss_and_step_run_on_it_unchanged(extractor, images):
    namespace = {"tf": tf, "keras": keras, "np": np}
    exec(compile(notebook_definitions(NOTEBOOK, "gram_matrix", "style_loss", "content_loss",
                                      "variation_loss", "make_loss", "train_step"),
                 str(NOTEBOOK), "exec"), namespace)
    photo, painting = images
    result = style.transfer(extractor, photo, painting, make_loss=namespace["make_loss"],
                            step=namespace["train_step"], sizes=(96,), steps=15,
                            style_weight=100.0)
    assert result.losses[-1] < 0.5 * result.losses[0]
    before = multiscale.gram_distance(photo, painting, multiscale.random_multiscale(seed=1))
    after = multiscale.gram_distance(result.image, painting, multiscale.random_multiscale(seed=1))
    assert after < before  # also for an extractor with other filters
