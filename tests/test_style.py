"""Lesson 08: the notebook's Gram matrix, losses, steps and transform network (read from its
cells, the one copy), run through tflab.style's plumbing; the offline weights error."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tflab import data, style
from tflab.source import notebook_definitions

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_style_transfer.ipynb"
NOTEBOOK_B = NOTEBOOK.with_name("08b_fast_style_transfer.ipynb")
NAMES = ("gram_matrix", "style_loss", "content_loss", "variation_loss", "make_loss",
         "train_step", "seconds_per_step")  # notebook 08's; 08b repeats them in its setup
NAMES_B = ("reflect_pad", "conv_block", "transform_net", "fast_train_step")  # notebook 08b's


@pytest.fixture(scope="module")
def nb():
    """The lessons' definitions, executed from notebook 08's and 08b's code cells."""
    namespace = {"tf": tf, "keras": keras, "np": np}
    exec(compile(notebook_definitions(NOTEBOOK, *NAMES), str(NOTEBOOK), "exec"), namespace)
    exec(compile(notebook_definitions(NOTEBOOK_B, *NAMES_B), str(NOTEBOOK_B), "exec"), namespace)
    return type("Lesson08", (), {name: staticmethod(namespace[name]) for name in NAMES + NAMES_B})


def test_08b_repeats_lesson_08s_losses_and_step_unchanged():
    assert notebook_definitions(NOTEBOOK_B, *NAMES) == notebook_definitions(NOTEBOOK, *NAMES)


@pytest.fixture(scope="module")
def extractor():
    return style.feature_extractor("random", seed=0)


@pytest.fixture(scope="module")
def images():
    return data.content_image("chelsea", max_side=96), data.style_image("starry_night", max_side=96)


def test_gram_matrix_is_channel_correlations_divided_by_positions(nb):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 5, 7, 4)).astype(np.float32)
    ref = np.stack([b.reshape(-1, 4).T @ b.reshape(-1, 4) / 35 for b in f])
    np.testing.assert_allclose(nb.gram_matrix(tf.constant(f)), ref, rtol=1e-5, atol=1e-5)
    shuffled = rng.permutation(f.reshape(2, 35, 4), axis=1).reshape(2, 7, 5, 4)
    np.testing.assert_allclose(nb.gram_matrix(tf.constant(shuffled)), ref, rtol=1e-5, atol=1e-5)


def test_losses_match_their_formulas(nb):
    rng = np.random.default_rng(1)
    f = [rng.normal(size=(1, 6, 5, 3)).astype(np.float32), rng.normal(size=(1, 3, 2, 4))
         .astype(np.float32)]
    g = [rng.normal(size=(1, 3, 3)).astype(np.float32), rng.normal(size=(1, 4, 4))
         .astype(np.float32)]
    gram = [np.einsum("bijc,bijd->bcd", x, x) / (x.shape[1] * x.shape[2]) for x in f]
    want = np.mean([np.mean((a - b) ** 2) / np.mean(b ** 2) for a, b in zip(gram, g)])
    np.testing.assert_allclose(float(nb.style_loss([tf.constant(x) for x in f], g)), want,
                               rtol=1e-5)
    t = [rng.normal(size=x.shape).astype(np.float32) for x in f]
    want = np.mean([np.mean((a - b) ** 2) / np.mean(b ** 2) for a, b in zip(f, t)])
    np.testing.assert_allclose(float(nb.content_loss(f, t)), want, rtol=1e-5)
    image = rng.uniform(size=(1, 5, 7, 3)).astype(np.float32)
    want = (np.abs(np.diff(image, axis=1)).sum() + np.abs(np.diff(image, axis=2)).sum()) \
        / image.size
    np.testing.assert_allclose(float(nb.variation_loss(tf.constant(image))), want, rtol=1e-5)


def test_make_loss_uses_the_right_layers_and_weights(nb, extractor, images):
    assert extractor.content_layers == ("block5_conv2",)
    content, painting = (style.resize(i, 64) for i in images)
    flat = tf.fill(content.shape, 0.5)
    # the same image as style and content: both terms vanish, only the variation is left
    same = nb.make_loss(extractor, content, content, tv_weight=0.0)
    assert float(same(content)) < 1e-6
    # content term alone: block5_conv2 features of the flat image against the photo's
    only_content = nb.make_loss(extractor, painting, content, style_weight=0.0, tv_weight=0.0)
    f, t = extractor(flat)[-1].numpy(), extractor(content)[-1].numpy()
    assert f.shape[1:] == (content.shape[1] // 16, content.shape[2] // 16, 512)
    np.testing.assert_allclose(float(only_content(flat)), np.mean((f - t) ** 2) / np.mean(t ** 2),
                               rtol=1e-4)
    # style term alone: the five style layers' Grams of the flat image against the painting's
    only_style = nb.make_loss(extractor, painting, content, content_weight=0.0, tv_weight=0.0)
    out, ref = extractor(flat)[:5], extractor(painting)[:5]
    gram = [np.einsum("bijc,bijd->bcd", x, x) / (x.shape[1] * x.shape[2])
            for x in (o.numpy() for o in out + ref)]
    want = np.mean([np.mean((a - b) ** 2) / np.mean(b ** 2) for a, b in zip(gram[:5], gram[5:])])
    np.testing.assert_allclose(float(only_style(flat)), want, rtol=1e-4)
    # variation term alone, weighted
    only_tv = nb.make_loss(extractor, painting, content, style_weight=0.0, content_weight=0.0,
                           tv_weight=2.0)
    assert float(only_tv(flat)) == 0.0
    np.testing.assert_allclose(float(only_tv(content)), 2.0 * float(nb.variation_loss(content)),
                               rtol=1e-5)


def test_fifty_adam_steps_halve_the_loss_and_the_style_distance(nb, extractor, images):
    content, painting = images
    result = style.transfer(extractor, content, painting, make_loss=nb.make_loss,
                            step=nb.train_step, sizes=(64,), steps=50)
    assert result.steps == 50 and result.image.shape[2] == 3
    assert result.losses[-1] <= 0.5 * result.losses[0]
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0
    style_only = nb.make_loss(extractor, style.resize(painting, 64), style.resize(content, 64),
                              content_weight=0.0, tv_weight=0.0)
    before = float(style_only(style.resize(content, 64)))
    after = float(style_only(result.image[None]))
    assert after <= 0.5 * before


def test_train_step_descends_and_keeps_pixels_in_range(nb):
    image = tf.Variable(tf.fill((1, 4, 4, 3), 0.9))
    optimizer = keras.optimizers.Adam(0.5)
    optimizer.build([image])
    loss = lambda x: -tf.reduce_sum(x)  # noqa: E731 (pushes every pixel up, past 1)
    before = float(nb.train_step(image, loss, optimizer))
    assert before == pytest.approx(-0.9 * 48) and float(tf.reduce_max(image)) == 1.0
    assert float(loss(image)) < before


def test_lbfgs_and_multi_resolution(nb, extractor, images):
    content, painting = images
    lbfgs = style.transfer(extractor, content, painting, make_loss=nb.make_loss, sizes=(48,),
                           steps=20, method="lbfgs")
    assert lbfgs.losses[-1] < lbfgs.losses[0]
    multi = style.transfer(extractor, content, painting, make_loss=nb.make_loss,
                           step=nb.train_step, sizes=(32, 64), steps=5)
    assert multi.sizes == (32, 64) and max(multi.image.shape[:2]) == 64 and multi.steps == 10
    with pytest.raises(ValueError, match="method"):
        style.transfer(extractor, content, painting, make_loss=nb.make_loss, method="sgd")
    with pytest.raises(ValueError, match="step="):
        style.transfer(extractor, content, painting, make_loss=nb.make_loss)


def test_imagenet_weights_offline_raise_a_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty cache: Keras must download
    monkeypatch.delenv("TFLAB_OFFLINE", raising=False)
    monkeypatch.setattr(keras.applications, "VGG19", offline)
    with pytest.raises(style.WeightsUnavailableError, match="weights='random'") as info:
        style.feature_extractor("imagenet")
    text = str(info.value)
    assert "Name or service not known" in text  # the cause is passed on
    assert "weights='random-multiscale'" in text and "explicitly" in text  # both offline choices
    with pytest.raises(ValueError, match="imagenet"):
        style.feature_extractor("trained")
    with pytest.raises(ValueError, match="'random-multiscale'"):
        style.feature_extractor("multiscale")


def test_imagenet_weights_with_downloads_off_fail_before_trying(monkeypatch, tmp_path):
    tried = []

    def vgg19(**kwargs):
        tried.append(kwargs)
        raise OSError("no network in this test")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.applications, "VGG19", vgg19)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: tried.append(k))
    for value in ("1", "TRUE", "yes", " On "):
        monkeypatch.setenv("TFLAB_OFFLINE", value)
        with pytest.raises(style.WeightsUnavailableError, match="switched off") as info:
            style.feature_extractor("imagenet")
        assert str(tmp_path) in str(info.value) and "weights='random-multiscale'" in str(info.value)
        with pytest.raises(style.WeightsUnavailableError, match="switched off"):
            style.fetch_weights()
    assert tried == []  # neither Keras's loader nor its download was called
    monkeypatch.setenv("TFLAB_OFFLINE", "0")  # downloads on: Keras's loader is called
    with pytest.raises(style.WeightsUnavailableError, match="no network in this test"):
        style.feature_extractor("imagenet")
    assert tried == [{"include_top": False, "weights": "imagenet"}]


def test_transform_net_shape_and_range(nb):
    net = nb.transform_net(filters=8, residual_blocks=2)
    out = net(tf.random.uniform((2, 48, 64, 3))).numpy()
    assert out.shape == (2, 48, 64, 3) and 0 <= out.min() and out.max() <= 1
    assert sum(isinstance(layer, keras.layers.Add) for layer in net.layers) == 2
    strides = [layer.strides for layer in net.layers if isinstance(layer, keras.layers.Conv2D)]
    assert strides.count((2, 2)) == 2


def test_fast_network_trains_and_round_trips_through_savedmodel(nb, extractor, images, tmp_path):
    content, painting = images
    net = nb.transform_net(filters=8, residual_blocks=1)
    losses = style.train_fast(net, extractor, painting, [content], make_loss=nb.make_loss,
                              step=nb.fast_train_step, size=64, steps=30, learning_rate=5e-3)
    assert len(losses) == 30 and np.mean(losses[-5:]) < np.mean(losses[:5])
    photo = tf.image.resize(data.content_image("coffee")[None], (48, 64))
    out = net(photo).numpy()
    assert out.shape == (1, 48, 64, 3) and 0 <= out.min() and out.max() <= 1
    net.export(str(tmp_path / "fast"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "fast"))
    np.testing.assert_allclose(reloaded.serve(photo).numpy(), out, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of 4"):
        style.train_fast(net, extractor, painting, [content], make_loss=nb.make_loss,
                         step=nb.fast_train_step, size=30, steps=1)


def test_random_multiscale_choice_shapes_seeding_and_layers():
    model = style.feature_extractor("random-multiscale", seed=3)
    assert model.weights_kind == "random-multiscale"
    n = len(model.style_layers)
    assert n == 6 and len(model.content_layers) == 1
    image = tf.random.stateless_uniform((1, 48, 64, 3), seed=(1, 2))
    outputs = model(image)
    assert len(outputs) == n + 1
    assert [tuple(o.shape[1:3]) for o in outputs[:n]] == [
        (48, 64), (48, 64), (24, 32), (12, 16), (6, 8), (3, 4)]
    np.testing.assert_array_equal(outputs[n].numpy(), outputs[model.style_layers.index(
        model.content_layers[0])].numpy())
    same = style.feature_extractor("random-multiscale", seed=3)(image)
    other = style.feature_extractor("random-multiscale", seed=4)(image)
    np.testing.assert_array_equal(same[0].numpy(), outputs[0].numpy())
    assert not np.allclose(other[0].numpy(), outputs[0].numpy())
    with pytest.raises(ValueError, match="has its own"):
        style.feature_extractor("random-multiscale", style_layers=style.STYLE_LAYERS[:2])


def test_untrained_transform_net_returns_the_photo(nb):
    net = nb.transform_net(filters=8, residual_blocks=1)
    photo = tf.random.stateless_uniform((1, 32, 48, 3), seed=(3, 4), minval=0.01, maxval=0.99)
    np.testing.assert_allclose(net(photo).numpy(), photo.numpy(), atol=1e-4)


def _scramble_last_layer(net, scale):
    """Give the transform network's last convolution large random weights."""
    rgb = net.get_layer("rgb")
    rng = np.random.default_rng(7)
    rgb.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in rgb.get_weights()])


def test_transform_net_changes_each_pixel_by_at_most_the_bound_in_logits(nb):
    photo = tf.random.stateless_uniform((1, 32, 48, 3), seed=(5, 6), minval=0.01, maxval=0.99)
    logit = np.log(photo.numpy() / (1 - photo.numpy()))
    for bound in (0.5, 2.0):
        net = nb.transform_net(filters=8, residual_blocks=1, bound=bound)
        _scramble_last_layer(net, 10.0)
        out = np.clip(net(photo).numpy(), 1e-6, 1 - 1e-6)
        change = np.abs(np.log(out / (1 - out)) - logit)
        assert change.max() <= bound * 1.001 and change.max() > 0.9 * bound  # reaches, never passes


def test_transform_net_pads_by_reflection_so_a_flat_image_stays_flat(nb):
    # every layer treats each position alike and a mirrored border of a flat map is the same
    # flat value, so a uniform grey photo gives a uniform output; zero padding would make the
    # border pixels differ (an edge the photo does not have)
    net = nb.transform_net(filters=8, residual_blocks=1)
    _scramble_last_layer(net, 0.5)
    out = net(tf.fill((1, 32, 48, 3), 0.4)).numpy()[0]
    assert np.abs(out - 0.4).max() > 1e-3  # the network does change the photo
    assert np.ptp(out, axis=(0, 1)).max() < 1e-4  # ... and alike everywhere, borders included


def test_random_vgg19_is_keras_vgg19_with_the_same_filters_built_only_as_deep_as_used():
    image = tf.random.stateless_uniform((1, 40, 56, 3), seed=(7, 8))
    # the reference: keras.applications' whole VGG19, its filters drawn in its layer order
    whole = keras.applications.VGG19(include_top=False, weights=None)
    rng = np.random.default_rng(5)
    for layer in whole.layers:
        if isinstance(layer, keras.layers.Conv2D):
            fan_in = int(np.prod(layer.kernel.shape[:-1]))
            layer.kernel.assign(rng.normal(0, np.sqrt(2.0 / fan_in), layer.kernel.shape))
            layer.bias.assign(np.zeros(layer.bias.shape))
    names = style.STYLE_LAYERS + style.CONTENT_LAYERS
    reference = keras.Model(whole.input, [whole.get_layer(n).output for n in names])
    pixels = keras.applications.vgg19.preprocess_input(image * 255.0)
    model = style.feature_extractor("random", seed=5)
    for got, want in zip(model(image), reference(pixels)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-4)
    built = {w.path.split("/")[0] for w in model.weights}
    assert "block5_conv2" in built and "block5_conv3" not in built  # nothing past the last used
    shallow = style.feature_extractor("random", seed=5, style_layers=("block1_conv1",),
                                      content_layers=("block2_conv1",))
    assert len(shallow.weights) == 6  # block1_conv1, block1_conv2, block2_conv1: kernel, bias
    with pytest.raises(ValueError, match="no VGG19 convolution called 'block6_conv1'"):
        style.feature_extractor("random", style_layers=("block6_conv1",))


def test_own_copy_is_a_fresh_tf_function_with_the_same_options():
    def double(x):
        return 2 * x

    step = tf.function(double, jit_compile=False, reduce_retracing=True)
    step(tf.constant(1.0))
    copy = style.own_copy(step)
    assert copy is not step and copy.python_function is double
    assert copy.experimental_get_tracing_count() == 0  # none of the original's traces
    assert float(copy(tf.constant(3.0))) == 6.0
    assert copy._jit_compile is False and copy._reduce_retracing is True
    assert style.own_copy(double) is double  # a plain function is used as it is


def test_transfer_and_train_fast_leave_no_traces_behind(nb, images):
    from tensorflow.python.framework import ops

    content, painting = images
    extractor = style.feature_extractor("random-multiscale", seed=9)
    # the lesson's steps as the notebook declares them (@tf.function), not yet traced
    step, fast_step = style.own_copy(nb.train_step), style.own_copy(nb.fast_train_step)
    assert step.experimental_get_tracing_count() == fast_step.experimental_get_tracing_count() == 0
    registered = set(ops._gradient_registry._registry)
    style.transfer(extractor, content, painting, make_loss=nb.make_loss, step=step,
                   sizes=(24, 32), steps=2)
    net = nb.transform_net(filters=4, residual_blocks=1)
    style.train_fast(net, extractor, painting, [content, content], make_loss=nb.make_loss,
                     step=fast_step, size=32, steps=3)
    # a copy of each step was traced (its graphs went with it), not the step itself
    assert step.experimental_get_tracing_count() == 0
    assert fast_step.experimental_get_tracing_count() == 0
    # and no gradient function of the optimizer's all-reduce (each holds its graph) is left
    assert set(ops._gradient_registry._registry) == registered
    with style.releasing_traces():  # it forgets what was registered inside it, nothing else
        style.own_copy(nb.train_step)(tf.Variable(tf.zeros((1, 4, 4, 3))), tf.reduce_sum,
                                      keras.optimizers.SGD(0.1))
    assert set(ops._gradient_registry._registry) == registered
