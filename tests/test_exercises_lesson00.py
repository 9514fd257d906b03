"""Lesson 00's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf
from exercise_checks import caller_value, failed_with

from tflab import data, exercises


def test_most_ink_wrong_answers():
    ex = exercises.get("00", 1)
    splits = data.mnist(dtype="uint8")
    ink = {name: getattr(splits, name).images.reshape(-1, 784).sum(axis=1, dtype=np.int64)
           for name in ("train", "validation", "test")}
    failed_with(ex, int(np.argmin(ink["validation"])), "least* ink")
    failed_with(ex, int(np.argmax(ink["test"])), "in the test split")
    failed_with(ex, int(np.argmax(ink["train"])), "in the train split")
    best = int(np.argmax(ink["validation"]))
    # the digit of the most inked image is 0, which is also the first image with a pixel of 255
    failed_with(ex, int(splits.validation.labels[best]), "not its label")
    second = int(np.argsort(ink["validation"])[-2])  # close, but not the most
    failed_with(ex, second, "sum over each image")
    failed_with(ex, 5000, "indices 0 to 4999")
    failed_with(ex, best + 0.5, "not an index")
    failed_with(ex, "seven", "an index")
    assert ex.judge(best)[0] == "passed"
    assert ex.judge(np.int64(best))[0] == "passed"


def test_most_ink_by_the_brightest_pixel_or_the_inked_pixels():
    """Issue 32: argmax of each image's max pixel (image 0, whose index is also the label of
    the image with the most ink) was told "that is the digit's label"."""
    ex = exercises.get("00", 1)
    pixels = data.mnist().validation.images.reshape(5000, -1)
    failed_with(ex, int(np.argmax(pixels.max(axis=1))), "the largest *max* of each image; the "
                "most ink is the largest *sum* of an image's pixels")
    failed_with(ex, int(np.argmax(np.count_nonzero(pixels, axis=1))),
                "add the pixel values, do not count them")


class _ReadsTheChecker:
    """Issue 32: an answer whose value, read by float(), is the argmax of the checker's ``ink``,
    or 17 where no frame holds one."""

    def __float__(self):
        ink = caller_value("ink")
        return float(np.argmax(ink)) if ink is not None else 17.0


class _BendsArgmax:
    """An answer whose float() makes np.argmax return it, so that the checker's best is it."""

    def __float__(self):
        np.argmax = lambda *args, **kwargs: 17
        return 17.0


def test_most_ink_answer_cannot_see_or_change_the_reference():
    ex = exercises.get("00", 1)
    failed_with(ex, _ReadsTheChecker(), "image 17 has a pixel of 255")
    real = np.argmax
    failed_with(ex, _BendsArgmax(), "your answer replaced or reloaded numpy.argmax")
    assert np.argmax is real


def test_one_hot_wrong_answers():
    ex = exercises.get("00", 2)
    failed_with(ex, lambda labels: np.eye(10, dtype=np.float32)[labels].T, "should have shape")
    failed_with(ex, lambda labels: np.eye(10, dtype=np.float32)[(labels + 1) % 10],
                "1 column(s) to the right")
    failed_with(ex, lambda labels: np.eye(10)[labels], "dtype is float64")
    # gaming: ignores the labels, every row the one-hot vector of 0
    failed_with(ex, lambda labels: np.eye(10, dtype=np.float32)[np.zeros(len(labels), int)],
                "rows are wrong")


@pytest.mark.parametrize("make, message", [
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).batch(n), "original order"),
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=1)
     .batch(n, drop_remainder=True), "exactly once"),
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y))
     .shuffle(len(x), seed=1, reshuffle_each_iteration=False).batch(n), "same order"),
    (lambda x, y, n: tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(x).shuffle(len(x)),
                                          tf.data.Dataset.from_tensor_slices(y))).batch(n),
     "no longer paired"),
    (lambda x, y, n: list(zip(x, y)), "should return a tf.data.Dataset"),
    # gaming: ignores batch_size, the lesson's 32
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x)).batch(32),
     "batches should hold 10 examples; yours hold up to 32"),
])
def test_pipeline_wrong_answers(make, message):
    failed_with(exercises.get("00", 3), make, message)


def _in_order(orders):
    """A pipeline that yields the examples in ``orders(n, epoch)``, a new order each epoch."""
    def make(x, y, n):
        epoch = itertools.count()

        def indices():
            yield from orders(len(x), next(epoch))

        ds = tf.data.Dataset.from_generator(indices, output_signature=tf.TensorSpec([], tf.int64))
        return ds.map(lambda i: (tf.gather(x, i), tf.gather(y, i))).batch(n)

    return make


def _swapped_neighbours(n, seed):
    """0 … n-1 with each pair (2k, 2k + 1) swapped or not at random."""
    order = np.arange(n)
    pairs = order[: n - n % 2].reshape(-1, 2)
    flip = np.random.default_rng(seed).random(len(pairs)) < 0.5
    pairs[flip] = pairs[flip, ::-1]
    return order


_BUFFER = "shuffle()'s buffer holds only about"
_BLOCKS = "your batches are blocks of the original order"


@pytest.mark.parametrize("make, message", [
    # issue 32: shuffling after batch() only reorders whole batches
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).batch(n).shuffle(100), _BLOCKS),
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).batch(n).shuffle(20).unbatch()
     .batch(n), _BLOCKS),
    # issue 32: a buffer far smaller than the data set keeps examples near their place
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(2).batch(n),
     f"{_BUFFER} 2 examples"),
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(50).batch(n),
     _BUFFER),  # "about 49" or "about 50": estimated from how far the unseeded order reached
    (lambda x, y, n: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(2).batch(n).shuffle(20),
     _BLOCKS),
    # the last example first, then neighbours swapped at random: one moves far, the rest barely
    (_in_order(lambda n, epoch: [n - 1, *_swapped_neighbours(n - 1, epoch)]),
     "your examples barely move"),
    # a fixed pattern that changes every epoch: reversed and rotated
    (_in_order(lambda n, epoch: np.roll(np.arange(n)[::-1], 7 * epoch + 3)), _BLOCKS),
    # two random orders, taken in turn: epochs 1 and 3 agree
    (_in_order(lambda n, epoch: np.random.default_rng(epoch % 2).permutation(n)),
     "epochs 1 and 3 came out in the same order"),
    # a stride through the data, from a new start every epoch: no neighbours share a batch
    (_in_order(lambda n, epoch: (37 * np.arange(n) + 11 * epoch + 5) % n),
     "your order follows a fixed pattern"),
])
def test_pipeline_orders_no_shuffle_of_the_whole_data_set_gives(make, message):
    failed_with(exercises.get("00", 3), make, message)


def test_pipeline_right_answers():
    ex = exercises.get("00", 3)
    for buffer in (103, 1000):  # the data set's size or more, seeded or not
        assert ex.judge(lambda x, y, n, b=buffer: tf.data.Dataset.from_tensor_slices((x, y))
                        .shuffle(b).batch(n))[0] == "passed"
    assert ex.judge(_in_order(lambda n, epoch: np.random.default_rng(epoch).permutation(n))
                    )[0] == "passed"  # a random order drawn another way


def test_class_shares_wrong_answers():
    ex = exercises.try_it("00", 1)
    failed_with(ex, lambda labels: np.bincount(labels, minlength=10), "those are the counts")
    failed_with(ex, lambda labels: 100 * np.bincount(labels, minlength=10) / len(labels),
                "percentages")
    failed_with(ex, lambda labels: np.unique(labels, return_counts=True)[1] / len(labels),
                "it should have 10")
    failed_with(ex, lambda labels: np.full(10, 0.1), "the shares are")  # balanced, a constant
    failed_with(ex, lambda labels: np.bincount(labels, minlength=10) / 300, "the shares are")


_RULE = "make_pipeline calls data.make_dataset, the course's own pipeline"


def test_pipeline_by_make_dataset():
    failed_with(exercises.get("00", 3), lambda x, y, n: data.make_dataset(x, y, batch_size=n),
                _RULE)


def test_pipeline_by_make_dataset_in_a_generator():
    def lazily(x, y, n):  # the course's pipeline, called only when the checker reads the data
        def batches():
            yield from data.make_dataset(x, y, batch_size=n, seed=None).as_numpy_iterator()

        spec = (tf.TensorSpec([None, 2, 2], tf.float32), tf.TensorSpec([None], tf.int64))
        return tf.data.Dataset.from_generator(batches, output_signature=spec)

    failed_with(exercises.get("00", 3), lazily, _RULE)


def test_pipeline_by_make_dataset_in_a_thread():
    def threaded(x, y, n):
        import sys
        import threading

        out = []

        def run():
            sys.setprofile(None)
            try:
                out.append(data.make_dataset(x, y, batch_size=n))
            except Exception:
                out.append(tf.data.Dataset.from_tensor_slices((x, y)).batch(n))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return out[0]

    failed_with(exercises.get("00", 3), threaded, _RULE)


def test_one_hot_and_shares_read_want_from_the_checker():

    failed_with(exercises.get("00", 2), lambda labels: caller_value("want", np.zeros((1, 10))),
                "should have shape")
    failed_with(exercises.try_it("00", 1), lambda labels: caller_value("want", np.zeros(10)),
                "the shares are")


def test_a_width_read_from_the_labels_fails_on_labels_without_a_nine():
    """One-hot width and class shares taken from labels.max() are right only when a 9 occurs."""
    failed_with(exercises.get("00", 2), lambda labels: np.eye(labels.max() + 1)[labels],
                "a width taken from the labels, labels.max() + 1, is 9 here")
    failed_with(exercises.try_it("00", 1), lambda labels: np.bincount(labels) / len(labels),
                "minlength")


def test_one_hot_nine_rows_high_fails_on_labels_with_nines():
    """Issue 32: np.eye(9, 10)[labels] passed, as the labels held no 9."""
    ex = exercises.get("00", 2)
    failed_with(ex, lambda labels: np.eye(9, 10, dtype=np.float32)[labels],
                "on labels that include 9s your function raised IndexError")
    failed_with(ex, lambda labels: np.eye(10, dtype=np.float32)[np.minimum(labels, 8)],
                "exactly the rows of label 9")


def test_one_hot_labels_are_drawn_at_check_time(monkeypatch):
    from tflab.exercises import lesson00

    seen = []

    def remember(labels):
        seen.append(labels.copy())
        return np.eye(10, dtype=np.float32)[labels]

    ex = exercises.get("00", 2)
    assert ex.judge(remember)[0] == "passed"
    assert ex.judge(remember)[0] == "passed"
    assert not np.array_equal(seen[0], seen[2])  # new labels every check
    assert 9 not in seen[0] and 9 in seen[1]
    monkeypatch.setattr(lesson00, "_fresh_seed", lambda: 0)
    table = {}  # a table of the labels it was shown and their rows, from one check to the next

    def by_table(labels):
        return table.setdefault(labels.tobytes(), np.eye(10, dtype=np.float32)[labels])

    assert ex.judge(by_table)[0] == "passed"
    assert ex.judge(lambda labels: np.eye(10, dtype=np.float32)[labels])[0] == "passed"


class _PatchesArrayEqual:
    """A returned array-like whose conversion makes np.array_equal say yes to everything."""

    def __init__(self, n):
        self.n = n

    def __array__(self, dtype=None, copy=None):
        np.array_equal = lambda *args, **kwargs: True
        return np.zeros((self.n, 10), np.float32)


def test_one_hot_returned_value_cannot_patch_numpy():
    real = np.array_equal
    failed_with(exercises.get("00", 2), lambda labels: _PatchesArrayEqual(len(labels)),
                "your answer replaced or reloaded numpy.array_equal")
    assert np.array_equal is real
