"""Lesson 08's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import sys

import numpy as np
import tensorflow as tf
from exercise_checks import caller_value, failed_with

from tflab import exercises


def test_gram_wrong_answers():
    ex = exercises.get("08", 1)
    failed_with(ex, lambda f: np.einsum("bijc,bijd->bcd", f, f),
                "× the reference: you did not divide by H·W")
    failed_with(ex, lambda f: np.einsum("bijc,bijd->bcd", f, f)[0], "should have shape")
    failed_with(ex, lambda f: np.einsum("bijc,bijd->bcd", f, f) / f[0].size,
                "you divided by H·W·C, the number of values of one example")
    failed_with(ex, lambda f: np.einsum("bijc,bijd->bcd", f, f) / (f.shape[1] * f.shape[2]) ** 2,
                "you divided by H·W twice")
    failed_with(ex, lambda f: np.einsum("bijc,bijd->bcd", f, f) / f[..., 0].size,
                "× the reference: you divided by B·H·W")
    # gaming: ignores the features, an identity matrix of the right shape
    failed_with(ex, lambda f: np.broadcast_to(np.eye(f.shape[3]), (f.shape[0], f.shape[3],
                                                                   f.shape[3])), "values differ")
    # gaming: the first example's Gram matrix for every example of the batch
    failed_with(ex, lambda f: np.repeat(np.einsum("ijc,ijd->cd", f[0], f[0])[None] /
                                        (f.shape[1] * f.shape[2]), f.shape[0], axis=0),
                "values differ")


def test_gram_says_divide_by_positions_only_when_that_is_the_mistake():
    """Review finding (issue 32): 'did you divide by H·W?' came with every wrong value; now
    only a wrong divisor names one, other mistakes say what they are or what was expected."""
    ex = exercises.get("08", 1)

    def channels_first(f):  # reshape to (B, C, H·W) without a transpose: mixes the axes
        b, h, w, c = f.shape
        g = f.reshape(b, c, h * w)
        return g @ g.transpose(0, 2, 1) / (h * w)

    def centred(f):  # a covariance: the mean of each channel subtracted first
        g = f - f.mean(axis=(1, 2), keepdims=True)
        return np.einsum("bijc,bijd->bcd", g, g) / (f.shape[1] * f.shape[2])

    def whole_batch(f):  # one Gram matrix over the batch, repeated for each example
        b, h, w, _ = f.shape
        return np.repeat(np.einsum("bijc,bijd->cd", f, f)[None] / (b * h * w), b, axis=0)

    for answer, message in [(channels_first, "which mixes positions and channels"),
                            (centred, "the values differ from the reference by up to"),
                            (whole_batch, "you averaged over the whole batch")]:
        failed_with(ex, answer, message)
        assert "H·W?" not in ex.judge(answer)[1]
        assert "did you divide" not in ex.judge(answer)[1]


def test_variation_wrong_answers():
    ex = exercises.get("08", 2)
    failed_with(ex, lambda im: (np.abs(np.diff(im, axis=0)).sum()
                                + np.abs(np.diff(im, axis=1)).sum()),
                "divide by the number of values")
    failed_with(ex, lambda im: np.abs(np.diff(im, axis=0)).sum() / im.size, "across columns")
    failed_with(ex, lambda im: (np.square(np.diff(im, axis=0)).sum()
                                + np.square(np.diff(im, axis=1)).sum()) / im.size,
                "not squares")
    failed_with(ex, lambda im: 0.33, "the variation is")  # gaming: a constant
    total_variation = tf.image.total_variation  # gaming: the library does the exercise, by name
    failed_with(ex, lambda im: float(tf.image.total_variation(tf.constant(im))) / im.size,
                "calls tf.image.total_variation")
    failed_with(ex, lambda im: float(total_variation(tf.constant(im))) / im.size,
                "calls tf.image.total_variation")
    # TensorFlow's own ops are fine when they do the work themselves, image_gradients (which
    # takes the differences, as np.diff does, and leaves summing them to the answer) included
    assert ex.judge(lambda im: float(tf.add_n([tf.reduce_sum(tf.abs(d)) for d in
                                               tf.image.image_gradients(tf.constant(im)[None])])
                                     ) / im.size)[0] == "passed"
    assert ex.judge(lambda im: float(tf.reduce_sum(tf.abs(im[1:] - im[:-1]))
                                     + tf.reduce_sum(tf.abs(im[:, 1:] - im[:, :-1]))) / im.size
                    )[0] == "passed"


def test_resize_wrong_answers():
    ex = exercises.get("08", 3)
    failed_with(ex, lambda im, side: tf.image.resize(im, (side, side)).numpy(), "aspect ratio kept")
    failed_with(ex, lambda im, side: im[:side, :side], "aspect ratio kept")

    def unclipped(im, side):
        h, w = im.shape[:2]
        s = side / max(h, w)
        return tf.image.resize(im, (round(h * s), round(w * s)), method="bicubic").numpy()

    failed_with(ex, unclipped, "in [0, 1]")


def test_resize_rejects_the_library_function():
    """The gaming answer: calling tflab.style.resize, the very function the exercise replaces."""
    from tflab import style

    ex = exercises.get("08", 3)
    failed_with(ex, lambda im, side: style.resize(im, side)[0].numpy(), "calls tflab.style.resize")
    library_resize = style.resize

    def renamed(im, side):  # a reference captured under another name
        return library_resize(im, side)[0].numpy()

    failed_with(ex, renamed, "calls tflab.style.resize")
    assert sys.getprofile() is None  # the check puts the profiler back
    namespace: dict = {}
    exec(ex.solution_code, namespace)
    status, text = ex.judge(namespace["answer"])
    assert status == "passed", text


def test_relative_distance_try_it_wrong_answers():
    ex = exercises.try_it("08", 1)
    assert ex.judge(lambda x, t: 0.01)[0] == "failed"
    failed_with(ex, lambda x, t: np.mean((x - t) ** 2), "divide by the mean square of the target")
    failed_with(ex, lambda x, t: np.mean((x - t) ** 2) / np.mean(x ** 2), "not of x")
    failed_with(ex, lambda x, t: np.sqrt(np.mean((x - t) ** 2) / np.mean(t ** 2)),
                "no square root")
    failed_with(ex, lambda x, t: np.mean(np.abs(x - t)) / np.mean(np.abs(t)),
                "not absolute values")
    failed_with(ex, lambda x, t: np.sum((x - t) ** 2) / np.mean(t ** 2), "not their sum")
    # the TensorFlow spelling of section 3 passes
    assert ex.judge(lambda x, t: tf.reduce_mean(tf.square(x - t)) / tf.reduce_mean(tf.square(t))
                    )[0] == "passed"


def _checker_local(*names):
    """What a cheating answer finds in the checker's frames: the first local called ``names``."""
    frame = sys._getframe(2)
    while frame is not None:
        if all(name in frame.f_locals for name in names):
            return [frame.f_locals[name] for name in names]
        frame = frame.f_back
    return None


def test_gram_rejects_the_course_function_and_changed_features():
    """Issue 32's corpus: multiscale._gram does 08.1; the answer is judged on a copy."""
    from tflab import multiscale

    ex = exercises.get("08", 1)
    failed_with(ex, lambda f: multiscale._gram(tf.constant(f)).numpy(),
                "calls the course's own Gram matrix (multiscale._gram)")
    gram = multiscale._gram
    failed_with(ex, lambda f: np.asarray(gram(tf.constant(f, tf.float64))),
                "calls the course's own Gram matrix")

    def zeroes_its_input(f):  # new cheat: make the features zero, so zeros are right
        f[...] = 0
        return np.zeros((f.shape[0], f.shape[3], f.shape[3]))

    failed_with(ex, zeroes_its_input, "the values differ")

    def zeroes_the_checkers_features(f):  # new cheat: the checker's own array, through its frame
        caller_value("f")[...] = 0
        return np.zeros((f.shape[0], f.shape[3], f.shape[3]))

    failed_with(ex, zeroes_the_checkers_features, "the values differ")


def test_variation_cannot_read_the_reference():
    """Issue 32's corpus: the reference is computed only after the answer returns."""
    ex = exercises.get("08", 2)

    def reads_want(image):
        found = _checker_local("want")
        return found[0] if found else 0.25

    def reads_differences(image):  # new cheat: the checker's partial sums
        found = _checker_local("down", "across")
        return (found[0] + found[1]) / image.size if found else 0.25

    failed_with(ex, reads_want, "the variation is")
    failed_with(ex, reads_differences, "the variation is")

    def flattens_the_checkers_image(image):  # new cheat: a flat image has no variation
        caller_value("image")[...] = 0.5
        return 0.0

    failed_with(ex, flattens_the_checkers_image, "the variation is")


def test_resize_rejects_the_loader_and_made_up_pixels():
    """Issue 32's corpus: data._to_float_rgb resizes to a longer side; pixels of the right
    shape and brightness that are not the picture fail too."""
    from PIL import Image

    from tflab import data

    ex = exercises.get("08", 3)

    def loader(im, side):
        return data._to_float_rgb(Image.fromarray(np.round(im * 255).astype(np.uint8)), side)

    failed_with(ex, loader, "calls the course's image loader (data._to_float_rgb)")

    def size_of(im, side):
        h, w = im.shape[:2]
        return round(h * side / max(h, w)), round(w * side / max(h, w))

    def grey(im, side):  # new cheat: the right shape, the picture's mean brightness
        return np.full((*size_of(im, side), 3), float(im.mean()), np.float32)

    def blanks_its_input(im, side):  # new cheat: make the input grey, return grey
        im[...] = mean = float(im.mean())  # its brightness: only the pixels tell
        return np.full((*size_of(im, side), 3), mean, np.float32)

    for cheat in (grey, blanks_its_input):
        failed_with(ex, cheat, "return the image itself, resized")
    # any smoothing filter is fine
    for method in ("bilinear", "area", "lanczos3"):
        assert ex.judge(lambda im, side, m=method: np.clip(
            tf.image.resize(im, size_of(im, side), method=m).numpy(), 0, 1))[0] == "passed"


class _LateReader:
    """New cheat: gives its value only when converted, hoping the reference exists by then."""

    def __init__(self, *names, shape=(1, 3, 3)):
        self.names, self.shape = names, shape

    def __array__(self, dtype=None, copy=None):
        found = _checker_local(*self.names)
        return np.zeros(self.shape) if found is None else np.asarray(found[0], dtype)

    def __float__(self):
        found = _checker_local(*self.names)
        return 0.25 if found is None else float(found[0])


def test_answers_converted_late_cannot_read_the_reference():
    failed_with(exercises.get("08", 1),
                lambda f: _LateReader("want", shape=(f.shape[0], f.shape[3], f.shape[3])),
                "the values differ")
    failed_with(exercises.get("08", 2), lambda im: _LateReader("want"), "the variation is")


def test_08b_stylise_cannot_read_the_reference():
    """Lesson 08b's 08b.1 (its tests file is not this change's): the reference is computed
    after the answer returns."""
    failed_with(exercises.get("08b", 1),
                lambda photo, change, bound: (_checker_local("want") or [photo])[0],
                "apply the change")


def test_08b_colour_distance_rejects_the_course_count():
    """08b.2: multiscale._histogram counts the colour cells, most of the exercise."""
    from tflab import multiscale

    def course_count(a, b):
        p = multiscale._histogram(tf.constant(a), 8)
        q = multiscale._histogram(tf.constant(b), 8)
        return 0.5 * float(np.abs(p - q).sum())

    failed_with(exercises.get("08b", 2), course_count, "calls multiscale._histogram, the course")
    failed_with(exercises.get("08b", 2), lambda a, b: multiscale.histogram_distance(a, b),
                "calls multiscale.histogram_distance")


def test_resize_and_relative_distance_inputs_cannot_be_changed_through_the_checker():
    """New cheats: make the checker's picture grey (then grey is 'the picture resized'), or
    its x equal to its target (then 0 is the distance), through its frame; read the Try it's
    reference, which was computed before the answer ran."""
    def greys_the_checkers_image(im, side):
        caller_value("image")[...] = mean = float(im.mean())  # its brightness: only pixels tell
        h, w = im.shape[:2]
        return np.full((round(h * side / max(h, w)), round(w * side / max(h, w)), 3), mean,
                       np.float32)

    failed_with(exercises.get("08", 3), greys_the_checkers_image,
                "return the image itself, resized")

    def copies_target_into_x(x, target):
        caller_value("x")[...] = caller_value("target")
        return 0.0

    failed_with(exercises.try_it("08", 1), copies_target_into_x, "the relative distance is")

    def reads_want(x, target):  # the reference used to exist before the answer ran
        return 0.0 if np.array_equal(x, target) else caller_value("want", 0.5)

    failed_with(exercises.try_it("08", 1), reads_want, "the relative distance is")


def test_inputs_are_drawn_at_check_time(monkeypatch):
    """Review finding (issue 32): the inputs of 08.1, 08.2, 08.3 and Try it 08.1 came from fixed
    seeds, so a table of the course's answers keyed by shape passed. They are drawn on every
    check now (sizes included); the same seed gives the same inputs, another seed others."""
    from tflab.exercises import lesson08

    def arrays(items):  # the arrays drawn, pairs flattened
        return [a for item in items for a in (item if isinstance(item, tuple) else (item,))]

    for draw in (lesson08._features, lesson08._images, lesson08._pairs):
        same, other = arrays(draw(1)), arrays(draw(2))
        assert all(np.array_equal(a, b) for a, b in zip(arrays(draw(1)), same, strict=True))
        assert [a.shape for a in same] != [a.shape for a in other]
    assert not np.array_equal(lesson08._pictures(1)[0][0], lesson08._pictures(2)[0][0])
    seeds = {lesson08._fresh_seed() for _ in range(5)}
    assert len(seeds) == 5
    # the checker draws its inputs at check time: fix the seed and the messages are exact
    monkeypatch.setattr(lesson08, "_fresh_seed", lambda: 8)
    shape = lesson08._features(8)[1].shape
    failed_with(exercises.get("08", 1),
                lambda f: np.einsum("bijc,bijd->bcd", f, f) / f[..., 0].size,
                f"for features of shape {shape} your values are {1 / shape[0]:.3g} × the "
                "reference: you divided by B·H·W")


def test_a_table_of_the_course_answers_fails():
    """The review's cheats: the reference of each input, computed beforehand (with the
    library's own function) and looked up by shape, for inputs drawn with any seed."""
    from tflab.exercises import lesson08

    seed = 80
    grams = {f.shape: np.einsum("bijc,bijd->bcd", f, f) / (f.shape[1] * f.shape[2])
             for f in lesson08._features(seed)}
    variations = {im.shape: float(tf.image.total_variation(tf.constant(im))) / im.size
                  for im in lesson08._images(seed)}
    distances = {x.shape: float(np.mean((x - t) ** 2) / np.mean(t ** 2))
                 for x, t in lesson08._pairs(seed)}
    resized = {(im.shape, side): tf.clip_by_value(tf.image.resize(
        im, (round(im.shape[0] * side / max(im.shape[:2])),
             round(im.shape[1] * side / max(im.shape[:2]))), method="bicubic"), 0, 1).numpy()
        for im, side in lesson08._pictures(seed)}
    for ex, table in [(exercises.get("08", 1), lambda f: grams.get(f.shape, np.zeros(1))),
                      (exercises.get("08", 2), lambda im: variations.get(im.shape, 0.25)),
                      (exercises.get("08", 3), lambda im, side: resized[(im.shape, side)]),
                      (exercises.try_it("08", 1),
                       lambda x, t: 0.0 if np.array_equal(x, t) else distances.get(x.shape, 1.0))]:
        status, text = ex.judge(table)
        assert status == "failed", (ex.number, text)


def test_relative_distance_rejects_the_course_distance():
    """New cheat (issue 32's second review): multiscale._relative is Try it 08.1's distance."""
    from tflab import multiscale

    ex = exercises.try_it("08", 1)
    relative = multiscale._relative
    for cheat in (lambda x, t: multiscale._relative(tf.constant(x), tf.constant(t)),
                  lambda x, t: relative(tf.constant(x), tf.constant(t))):
        failed_with(ex, cheat, "calls the course's own distance (multiscale._relative)")
