"""Lesson 08b's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
from exercise_checks import caller_value, failed_with

from tflab import exercises, multiscale


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _logit(photo):
    p = np.clip(photo, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def test_stylise_wrong_answers():
    ex = exercises.get("08b", 1)
    assert ex.judge(lambda photo, change, bound: 0.5)[0] == "failed"
    failed_with(ex, lambda photo, change, bound: _sigmoid(_logit(photo) + change),
                "bound the change")
    failed_with(ex, lambda photo, change, bound: np.clip(photo + bound * np.tanh(change / bound),
                                                         0, 1), "not to its pixels")
    failed_with(ex, lambda photo, change, bound: _sigmoid(bound * np.tanh(change / bound)),
                "add the change to the photo's logit")
    failed_with(ex, lambda photo, change, bound: _sigmoid(_logit(photo) + np.tanh(change) * bound),
                "divide the change by the bound")
    failed_with(ex, lambda photo, change, bound: photo, "apply the change")

    def no_clip(photo, change, bound):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log(photo / (1 - photo)) + bound * np.tanh(change / bound)
            return 1 / (1 + np.exp(-z))

    failed_with(ex, no_clip, "clip the photo")


def test_colour_distance_wrong_answers():
    ex = exercises.get("08b", 2)
    assert ex.judge(lambda a, b: 0.5)[0] == "failed"
    failed_with(ex, multiscale.histogram_distance, "calls multiscale.histogram_distance")

    def shares(image, last=7):
        bins = np.minimum((np.asarray(image) * 8).astype(int), last)
        cells = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
        return np.bincount(cells.ravel(), minlength=729) / cells.size

    failed_with(ex, lambda a, b: np.abs(shares(a) - shares(b)).sum(), "twice the reference")
    # 1.0 in a ninth bin of its own: pure white shares no cell with 0.99
    failed_with(ex, lambda a, b: 0.5 * np.abs(shares(a, 8) - shares(b, 8)).sum(),
                "value 1.0 in the last bin")

    def counts(a, b):  # counts, not shares
        def c(image):
            bins = np.minimum((np.asarray(image) * 8).astype(int), 7)
            cells = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
            return np.bincount(cells.ravel(), minlength=512)
        return 0.5 * np.abs(c(a) - c(b)).sum()

    failed_with(ex, counts, "shares of pixels")

    def per_channel(a, b, combine=np.mean):  # the review's mistake: three histograms of 8 bins
        def shares(image, k):
            bins = np.minimum((np.asarray(image[..., k]) * 8).astype(int), 7)
            return np.bincount(bins.ravel(), minlength=8) / bins.size
        return combine([0.5 * np.abs(shares(a, k) - shares(b, k)).sum() for k in range(3)])

    for combine in (np.mean, np.sum, np.max):
        failed_with(ex, lambda a, b, c=combine: per_channel(a, b, c),
                    "you compare each channel's 8 bins on their own")


def _norm(x, axes, eps=1e-3, ddof=0):
    return ((x - x.mean(axis=axes, keepdims=True))
            / np.sqrt(x.var(axis=axes, keepdims=True, ddof=ddof) + eps))


def test_instance_norm_reference_in_tensorflow_passes():
    import tensorflow as tf

    def instance_norm(x):
        mean, var = tf.nn.moments(tf.constant(x), axes=[1, 2], keepdims=True)
        return (x - mean) / tf.sqrt(var + 1e-3)

    assert exercises.try_it("08b", 1).judge(instance_norm)[0] == "passed"


def test_instance_norm_wrong_answers():
    import keras

    ex = exercises.try_it("08b", 1)
    # a constant, and gaming answers: the layer itself, the input unchanged, zeros
    failed_with(ex, lambda x: 0.0, "the output should have that shape")
    failed_with(ex, lambda x: keras.layers.GroupNormalization(groups=-1)(x),
                "calls keras.layers.GroupNormalization")
    failed_with(ex, lambda x: x, "you return the batch unchanged")
    failed_with(ex, np.zeros_like, "differs from the reference")
    # typical mistakes: the wrong axes
    failed_with(ex, lambda x: _norm(x, (0, 1, 2)), "that is batch normalisation")
    failed_with(ex, lambda x: _norm(x, (1, 2, 3)), "normalise each channel on its own")
    failed_with(ex, lambda x: _norm(x, None), "the whole batch at once")
    # epsilon: left out (in float64 a constant channel is 0 / 0; in float32 it is noise),
    # outside the square root, or PyTorch's 1e-5
    with np.errstate(divide="ignore", invalid="ignore"):
        failed_with(ex, lambda x: _norm(x.astype(np.float64), (1, 2), eps=0.0), "add epsilon")
        failed_with(ex, lambda x: _norm(x, (1, 2), eps=0.0), "add epsilon")
    failed_with(ex, lambda x: (x - x.mean(axis=(1, 2), keepdims=True))
                / (x.std(axis=(1, 2), keepdims=True) + 1e-3), "inside the square root")
    failed_with(ex, lambda x: _norm(x, (1, 2), eps=1e-5), "not 1e-5")
    # the variance: unbiased, or not square-rooted; the mean not subtracted
    failed_with(ex, lambda x: _norm(x, (1, 2), ddof=1), "not H·W − 1")
    failed_with(ex, lambda x: (x - x.mean(axis=(1, 2), keepdims=True))
                / (x.var(axis=(1, 2), keepdims=True) + 1e-3), "not by the variance")
    failed_with(ex, lambda x: x / np.sqrt(x.var(axis=(1, 2), keepdims=True) + 1e-3),
                "subtract each channel's mean first")


def test_stylise_and_colour_distance_references_cannot_be_changed_or_called():
    """New cheats: the checker's own reference, and its inputs changed through its frame."""
    from tflab.exercises import lesson08b

    ex = exercises.get("08b", 1)
    failed_with(ex, lambda photo, change, bound: lesson08b._reference_output(photo, change, bound),
                "calls the checker's own output (lesson08b._reference_output)")

    def greys_the_checkers_photo(photo, change, bound):  # grey photo, no change: output grey
        caller_value("photo")[...] = 0.5
        caller_value("change")[...] = 0.0
        return np.full_like(photo, 0.5)

    failed_with(ex, greys_the_checkers_photo, "differs from the reference by up to")

    def blackens_the_checkers_images(a, b):  # all black: every distance 0
        for first, second in caller_value("pairs") or caller_value("cases") or []:
            first[...], second[...] = 0.0, 0.0
        return 0.0

    failed_with(exercises.get("08b", 2), blackens_the_checkers_images, "the distance is")


def test_instance_norm_rejects_other_normalisation_layers_and_the_checkers_own():
    """New cheats: LayerNormalization over axes 1 and 2, and BatchNormalization in training
    on the positions as its batch, are instance normalisation too; so is the checker's
    _normalised."""
    import keras

    from tflab.exercises import lesson08b

    ex = exercises.try_it("08b", 1)
    failed_with(ex, lambda x: keras.layers.LayerNormalization(
        axis=[1, 2], epsilon=1e-3, center=False, scale=False)(x),
        "calls keras.layers.LayerNormalization, a normalisation layer")

    def batch_norm_of_positions(x):  # positions as the batch, (image, channel) as channels
        b, h, w, c = x.shape
        rows = np.transpose(x, (1, 2, 0, 3)).reshape(h * w, b * c)
        out = keras.layers.BatchNormalization(epsilon=1e-3, center=False, scale=False)(
            rows, training=True)
        return np.transpose(np.asarray(out).reshape(h, w, b, c), (2, 0, 1, 3))

    failed_with(ex, batch_norm_of_positions,
                "calls keras.layers.BatchNormalization, a normalisation layer")
    failed_with(ex, lambda x: lesson08b._normalised(x, (1, 2)),
                "calls the checker's own normalisation (lesson08b._normalised)")


def _without_keepdims(x):  # the review's honest mistake: statistics of shape (B, C)
    return (x - x.mean(axis=(1, 2))) / np.sqrt(x.var(axis=(1, 2)) + 1e-3)


def test_instance_norm_without_keepdims_says_so(monkeypatch):
    """Review finding (issue 32): a forgotten keepdims gave a raw 'operands could not be
    broadcast' error; where W = B it broadcasts without one, along the wrong axes."""
    import tensorflow as tf

    from tflab.exercises import lesson08b

    ex = exercises.try_it("08b", 1)
    failed_with(ex, _without_keepdims, "operands could not be broadcast")
    failed_with(ex, _without_keepdims, "take the mean and variance with keepdims=True")

    def in_tensorflow(x):
        mean, var = tf.nn.moments(tf.constant(x), axes=[1, 2])
        return (x - mean) / tf.sqrt(var + 1e-3)

    failed_with(ex, in_tensorflow, "take the mean and variance with keepdims=True")
    # the batch where it broadcasts without an error (W = B), judged on its own
    drawn = lesson08b._batches
    monkeypatch.setattr(lesson08b, "_batches", lambda seed: drawn(seed)[2:])
    batch = drawn(0)[2]
    assert batch.shape[0] == batch.shape[2]
    failed_with(ex, _without_keepdims, "here W = B, so NumPy broadcasts without an error")
    assert "could not be broadcast" not in ex.judge(_without_keepdims)[1]
    namespace: dict = {}
    exec(ex.solution_code, namespace)
    assert ex.judge(namespace["answer"])[0] == "passed"


def test_inputs_are_drawn_at_check_time(monkeypatch):
    """Review finding (issue 32): 08b.1, 08b.2 and the Try it drew their inputs from fixed
    seeds, so a table of the references keyed by shape passed. They are drawn on every check
    now, sizes included."""
    from tflab.exercises import lesson08b

    def arrays(items):
        return [a for item in items for a in item if isinstance(a, np.ndarray)] \
            if isinstance(items[0], tuple) else items

    for draw in (lesson08b._photos, lesson08b._image_pairs, lesson08b._batches):
        same, other = arrays(draw(1)), arrays(draw(2))
        assert all(np.array_equal(a, b) for a, b in zip(arrays(draw(1)), same, strict=True))
        assert [a.shape for a in same] != [a.shape for a in other]
    seed = 880
    outputs = {(p.shape, bound): 1 / (1 + np.exp(-(_logit(p) + bound * np.tanh(c / bound))))
               for p, c, bound in lesson08b._photos(seed)}
    distances = {(a.shape, b.shape): multiscale.histogram_distance(a, b)
                 for a, b in lesson08b._image_pairs(seed)}
    normalised = {x.shape: _norm(x, (1, 2)) for x in lesson08b._batches(seed)}
    for ex, table in [
            (exercises.get("08b", 1),
             lambda p, c, bound: outputs.get((p.shape, bound), np.full_like(p, 0.5))),
            (exercises.get("08b", 2), lambda a, b: distances.get((a.shape, b.shape), 0.5)),
            (exercises.try_it("08b", 1), lambda x: normalised.get(x.shape, x))]:
        status, text = ex.judge(table)
        assert status == "failed", text
    # with the seed fixed, the checks judge the inputs drawn from it
    monkeypatch.setattr(lesson08b, "_fresh_seed", lambda: seed)
    assert exercises.get("08b", 2).judge(lambda a, b: distances[(a.shape, b.shape)])[0] == "passed"
