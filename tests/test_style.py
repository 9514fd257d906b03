"""tflab.style: Gram matrices, losses, optimisation, the offline weights error, fast network."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, style


@pytest.fixture(scope="module")
def extractor():
    return style.feature_extractor("random", seed=0)


@pytest.fixture(scope="module")
def images():
    return data.content_image("chelsea", max_side=96), data.style_image("starry_night", max_side=96)


def test_gram_matrix_matches_numpy():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 5, 7, 4)).astype(np.float32)
    ref = np.stack([b.reshape(-1, 4).T @ b.reshape(-1, 4) / 35 for b in f])
    np.testing.assert_allclose(style.gram_matrix(f), ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        style.gram_matrix(np.zeros((5, 7, 4)))


def test_each_loss_is_zero_for_identical_images_and_positive_otherwise(extractor, images):
    content, painting = (style.resize(i, 64) for i in images)
    flat = tf.fill(content.shape, 0.5)
    same = style.StyleLoss(extractor, content, content, tv_weight=0.0).terms(content)
    assert float(same["style"]) < 1e-6 and float(same["content"]) < 1e-6
    other = style.StyleLoss(extractor, painting, content).terms(flat)
    assert float(other["style"]) > 0 and float(other["content"]) > 0
    tv = style.StyleLoss(extractor, painting, content, tv_weight=1.0)
    assert float(tv.terms(flat)["variation"]) == 0.0 and float(tv.terms(content)["variation"]) > 0


def test_fifty_adam_steps_halve_the_loss_and_the_style_distance(extractor, images):
    content, painting = images
    result = style.transfer(extractor, content, painting, sizes=(64,), steps=50)
    assert result.steps == 50 and result.image.shape[2] == 3
    assert result.losses[-1] <= 0.5 * result.losses[0]
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    loss = style.StyleLoss(extractor, style.resize(painting, 64), style.resize(content, 64))
    before = float(loss.style_distance(style.resize(content, 64)))
    after = float(loss.style_distance(result.image))
    assert after <= 0.5 * before


def test_lbfgs_and_multi_resolution(extractor, images):
    content, painting = images
    lbfgs = style.transfer(extractor, content, painting, sizes=(48,), steps=20, method="lbfgs")
    assert lbfgs.losses[-1] < lbfgs.losses[0]
    multi = style.transfer(extractor, content, painting, sizes=(32, 64), steps=5)
    assert multi.sizes == (32, 64) and max(multi.image.shape[:2]) == 64 and multi.steps == 10
    with pytest.raises(ValueError, match="method"):
        style.transfer(extractor, content, painting, method="sgd")


def test_imagenet_weights_offline_raise_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.vgg19.file_utils.get_file", offline)
    with pytest.raises(style.WeightsUnavailableError, match="weights='random'"):
        style.feature_extractor("imagenet")
    with pytest.raises(ValueError, match="imagenet"):
        style.feature_extractor("trained")


def test_fast_network_trains_and_round_trips_through_savedmodel(extractor, images, tmp_path):
    content, painting = images
    net = style.transform_net(filters=8, residual_blocks=1)
    losses = style.train_fast(net, extractor, painting, [content], size=64, steps=30,
                              learning_rate=5e-3)
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5])
    photo = tf.image.resize(data.content_image("coffee")[None], (48, 64))
    out = net(photo).numpy()
    assert out.shape == (1, 48, 64, 3) and 0 <= out.min() and out.max() <= 1
    net.export(str(tmp_path / "fast"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "fast"))
    np.testing.assert_allclose(reloaded.serve(photo).numpy(), out, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 4"):
        style.train_fast(net, extractor, painting, [content], size=30, steps=1)
