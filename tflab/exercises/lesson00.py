"""Exercises of lesson 00, getting started: exploring MNIST, one-hot labels, a tf.data pipeline."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    NotAttempted,
    _holds_placeholder,
    call,
    calls_of,
    number,
    numbers,
    require_callable,
)
from tflab.exercises.lesson08 import _fresh_seed, _generator


def _ink(images: np.ndarray) -> np.ndarray:
    """Each image's ink: the sum of its pixel values (0-255), exactly, as integers."""
    return images.reshape(len(images), -1).sum(axis=1, dtype=np.int64)


def _returned(function, *args, convert):
    """``call(function, *args)``, its result converted by ``convert`` (number, pair, np.asarray
    ...) under the same guard: a returned object's ``__float__`` or ``__array__`` is the
    learner's code too, and must not run after call() has put NumPy and the course back."""
    def run():
        result = function(*args)
        if _holds_placeholder(result):
            raise NotAttempted
        return convert(result)

    return call(run)


def _most_ink(answer) -> str:
    from tflab import data

    # first: the data and the reference exist only once the answer is a number
    got = _returned(lambda: answer, convert=lambda value: number(value, "an index"))
    splits = data.mnist(dtype="uint8")
    ink = _ink(splits.validation.images)
    if got != int(got):
        raise Failed(f"{got:g} is not an index: give a whole number from 0 to {len(ink) - 1}")
    got = int(got)
    best = int(np.argmax(ink))
    if 0 <= got < len(ink) and ink[got] == ink[best]:
        return (f"image {got} of the validation split, a {splits.validation.labels[got]}, has "
                f"the most ink: its pixels add up to {ink[got]:,} (the median image: "
                f"{int(np.median(ink)):,}).")
    if got == int(np.argmin(ink)):
        raise Failed("that is the image with the *least* ink: you want the largest sum (argmax)")
    for name in ("train", "test"):
        if got == int(np.argmax(_ink(getattr(splits, name).images))):
            raise Failed(f"that is the image with the most ink in the {name} split; search the "
                         "validation split (x_val)")
    pixels = splits.validation.images.reshape(len(ink), -1)
    label = int(splits.validation.labels[best])
    if got == int(np.argmax(pixels.max(axis=1))):
        also = (f" ({got} is also the digit of the image with the most ink: give that image's "
                "index, not its label)" if got == label else "")
        raise Failed(f"image {got} is the first image whose brightest pixel is "
                     f"{pixels[got].max()}: that is the largest *max* of each image; the most "
                     "ink is the largest *sum* of an image's pixels: sum over each image" + also)
    if got == int(np.argmax(np.count_nonzero(pixels, axis=1))):
        raise Failed(f"image {got} has the most inked pixels ({np.count_nonzero(pixels[got])} "
                     f"not 0), but its pixels add up to {ink[got]:,} where the most is "
                     f"{ink[best]:,}: add the pixel values, do not count them")
    if got == label:
        raise Failed("that is the digit's label; give the image's index in the validation split")
    if not 0 <= got < len(ink):
        raise Failed(f"the validation split has {len(ink):,} images: indices 0 to {len(ink) - 1}")
    if pixels[got].max() == 255:
        raise Failed(f"image {got} has a pixel of 255, like most images, but its pixels add up to "
                     f"{ink[got]:,} where the most is {ink[best]:,}: sum over each image")
    raise Failed(f"image {got}'s pixels add up to {ink[got]:,}; the most is {ink[best]:,}")


def _label_sets(seed: int) -> list[np.ndarray]:
    """Two label sets drawn from ``seed``: one without any 9 (a width taken from labels.max()
    comes out 9), one with several 9s (a table 9 rows high has no row for them)."""
    rng = _generator(seed)
    no_nines = rng.integers(0, 9, int(rng.integers(30, 45))).astype(np.uint8)
    with_nines = rng.integers(0, 10, int(rng.integers(30, 45))).astype(np.uint8)
    with_nines[rng.choice(len(with_nines), 4, replace=False)] = 9
    return [no_nines, with_nines]


def _one_hot(answer) -> str:
    require_callable(answer, "one_hot(labels) returning an (N, 10) array")
    seed = _fresh_seed()  # all the checker holds while the answer runs
    for which in range(2):
        try:
            got = _returned(answer, _label_sets(seed)[which], convert=np.asarray)
        except Failed as err:
            if which == 0:
                raise
            raise Failed(f"on labels that include 9s {err} (the labels before had no 9, and your "
                         "function handled them): label 9 needs column 9, the tenth, so every "
                         "row has 10 columns") from None
        labels = _label_sets(seed)[which]  # drawn again, once the answer has returned
        _judge_one_hot(got, labels, "no 9" if which == 0 else "9s")
    return "right shape, values and dtype on two label sets you had not seen, one without 9s."


def _judge_one_hot(got: np.ndarray, labels: np.ndarray, nines: str) -> None:
    want = np.eye(10, dtype=np.float32)[labels]
    if got.shape != want.shape:
        width = (" (a width taken from the labels, labels.max() + 1, is 9 here: a digit label "
                 "has 10 possible values whether or not a 9 occurs)"
                 if nines == "no 9" and got.shape == (len(labels), int(labels.max()) + 1) else "")
        raise Failed(f"for {len(labels)} labels with {nines} the result should have shape "
                     f"{want.shape}; yours has {got.shape}{width}")
    if not np.array_equal(got, want):
        bad = np.any(got != want, axis=1)
        rows = int(np.sum(bad))
        where = (np.argmax(got, axis=1).astype(np.int64) - labels) % 10
        extra = (f" (every 1 sits {int(where[0])} column(s) to the right of labels[i])"
                 if np.all(where == where[0]) and where[0] else "")
        if nines == "9s" and np.all(labels[bad] == 9):
            extra = " (exactly the rows of label 9: its 1 belongs in column 9, the last)"
        raise Failed(f"{rows} of {len(labels)} rows are wrong{extra}: row i needs a single 1 in "
                     "column labels[i] and 0 elsewhere.")
    if got.dtype != np.float32:
        raise Failed(f"the values are right but the dtype is {got.dtype}; the course uses float32 "
                     "(as data.mnist(one_hot=True) does).")


_MAKE_DATASET_RULE = ("make_pipeline calls data.make_dataset, the course's own pipeline, which "
                      "does the exercise for you: build it yourself from "
                      "tf.data.Dataset.from_tensor_slices")


def _pipeline(answer) -> str:
    from tflab import data

    # forbidden while the answer builds its pipeline and while the checker reads it (a
    # generator can call it lazily), in every thread
    with calls_of(data.make_dataset, rule=_MAKE_DATASET_RULE):
        return _judge_pipeline(answer)


def _judge_pipeline(answer) -> str:
    import tensorflow as tf

    require_callable(answer,
                     "make_pipeline(images, labels, batch_size) returning a tf.data.Dataset")
    n, batch_size = 103, 10
    images = np.arange(n * 4, dtype=np.float32).reshape(n, 2, 2)
    labels = np.arange(n, dtype=np.int64)
    ds = call(answer, images, labels, batch_size)
    if not isinstance(ds, tf.data.Dataset):
        raise Failed(f"make_pipeline should return a tf.data.Dataset, not {type(ds).__name__}")
    epochs, batches = [], []
    for _ in range(4):  # several epochs: the order is judged on all of them
        seen, sizes = [], []
        for batch in ds:
            if len(seen) > n:  # a repeat()ed data set never ends
                break
            if not (isinstance(batch, tuple) and len(batch) == 2):
                raise Failed("each element should be an (images, labels) pair")
            x, y = (np.asarray(t) for t in batch)
            if not np.array_equal(x[:, 0, 0], y * 4):
                raise Failed("images and labels are no longer paired: shuffle them together")
            sizes.append(len(y))
            seen.extend(y.tolist())
        epochs.append(seen)
        batches.append(sizes)
        if sorted(seen) != list(range(n)):
            raise Failed(f"one epoch yielded {len(seen)} examples, {len(set(seen))} distinct; "
                         f"it should yield each of the {n} examples exactly once "
                         "(no repeat(), no drop_remainder)")
        if max(sizes) != batch_size:
            raise Failed(f"batches should hold {batch_size} examples; yours hold up to "
                         f"{max(sizes)}")
    if epochs[0] == list(range(n)):
        raise Failed("the examples come out in their original order: shuffle them")
    repeated = [(i, j) for j in range(len(epochs)) for i in range(j) if epochs[i] == epochs[j]]
    if repeated:  # two random orders of 103 examples agree with a chance of 1 in 103!
        i, j = repeated[0]
        raise Failed(f"epochs {i + 1} and {j + 1} came out in the same order: reshuffle every "
                     "epoch, so that each one has a new order")
    _judge_mixing(epochs, batches)
    return "every example once per epoch, batches of 10, reshuffled every epoch."


def _judge_mixing(epochs: list[list[int]], batches: list[list[int]]) -> None:
    """Fail an order that a shuffle of the whole data set would (practically) never give.

    ``epochs`` holds each epoch's labels, in the order they came out (the data held labels
    0 … n-1 in that order), ``batches`` each epoch's batch sizes. Three statistics over the
    epochs, each one a uniformly random order gives with a chance far below 1e-9:

    - how many places an example comes out *earlier* than its place in the data, at most: a
      shuffle buffer of B examples never moves one forward by B places or more, and a full
      shuffle moves one forward by more than n/2 places in almost every epoch;
    - how far an example lands from its place in the data: about n/3 places for a full
      shuffle, one or two for shuffle(2);
    - how many neighbours in the data (labels i, i + 1) share a batch: about 9 of 102 for
      a full shuffle, 92 when whole batches are shuffled (batch() before shuffle());
    - how often the commonest step from where i lands to where i + 1 lands occurs: a few
      times for a random order, nearly always for a fixed pattern (a reversal, a stride).
    """
    n = len(epochs[0])
    moved, together, stride, chance, reach = [], [], [], [], []
    for seen, sizes in zip(epochs, batches):
        place = np.empty(n, dtype=np.int64)
        place[np.asarray(seen)] = np.arange(n)
        moved.append(np.mean(np.abs(place - np.arange(n))))
        reach.append(int(np.max(np.arange(n) - place)))
        batch = np.repeat(np.arange(len(sizes)), sizes)[place]
        together.append(np.sum(batch[:-1] == batch[1:]))
        stride.append(np.bincount(np.diff(place) % n).max())
        chance.append(sum(s * (s - 1) for s in sizes) / n)  # pairs sharing a batch by chance
    moved, together, chance = (float(np.mean(v)) for v in (moved, together, chance))
    if max(reach) < n // 2:
        places = f"{max(reach)} place{'s' * (max(reach) != 1)}"
        raise Failed(f"no example ever comes out more than {places} earlier than its place in "
                     f"the data, in {len(epochs)} epochs; a shuffle of all {n} lets "
                     "the last one come first. shuffle()'s buffer holds only about "
                     f"{max(reach) + 1} examples, too few to mix the data set: make it as large "
                     "as the data set, shuffle(len(images))")
    full = (n * n - 1) / (3 * n)  # the mean displacement of a uniformly random order
    if moved < 0.65 * full:
        raise Failed(f"your examples barely move: on average each comes out {moved:.1f} places "
                     f"from its place in the data, where a shuffle of all {n} moves it about "
                     f"{full:.0f}. shuffle()'s buffer is too small to mix the data set: make it "
                     "as large as the data set, shuffle(len(images))")
    if together > 4 * chance + 5:
        raise Failed(f"examples that are neighbours in the data come out in the same batch "
                     f"({together:.0f} of {n - 1} neighbouring pairs share a batch; a shuffle "
                     f"of the examples leaves about {chance:.0f}): your batches are blocks of "
                     "the original order. Shuffle the examples before batch(): shuffle() after "
                     "batch() only reorders whole batches")
    if min(stride) >= n // 4:
        raise Failed("your order follows a fixed pattern: where example i + 1 comes out is "
                     f"the same step away from example i for {min(stride)} or more of the {n - 1} "
                     "neighbouring pairs in every epoch. Draw a random order with shuffle()")


EXERCISES = [
    Exercise("00", 1, "Which image of the validation split has the most ink, the largest sum "
             "of its pixel values? Give its index in x_val.", _most_ink,
             ["Reshape x_val to one row of 784 pixels per image, then sum each row.",
              "np.argmax gives the index of the largest sum: "
              "np.argmax(x_val.reshape(len(x_val), -1).sum(axis=1))."],
             """import numpy as np
from tflab import data

(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.mnist()
answer = int(np.argmax(x_val.reshape(len(x_val), -1).sum(axis=1)))"""),
    Exercise("00", 2, "Write one_hot(labels): for N digit labels return an (N, 10) float32 array "
             "with a 1 in column labels[i] of row i and 0 elsewhere.", _one_hot,
             ["Rows of the 10 × 10 identity matrix are exactly the one-hot vectors.",
              "np.eye(10, dtype=np.float32)[labels] picks row labels[i] for every i."],
             """import numpy as np

def one_hot(labels):
    return np.eye(10, dtype=np.float32)[labels]

answer = one_hot"""),
    Exercise("00", 3, "Write make_pipeline(images, labels, batch_size): a tf.data.Dataset of "
             "(images, labels) batches that yields every example exactly once per epoch, in a "
             "new random order every epoch.", _pipeline,
             ["Start from tf.data.Dataset.from_tensor_slices((images, labels)).",
              "Shuffle before batching, with a buffer as large as the data set; shuffle() "
              "reshuffles every epoch by default."],
             """import tensorflow as tf

def make_pipeline(images, labels, batch_size):
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    return ds.shuffle(len(images), seed=0).batch(batch_size).prefetch(tf.data.AUTOTUNE)

answer = make_pipeline"""),
]


def _class_shares(answer) -> str:
    require_callable(answer, "class_shares(labels) returning 10 shares")
    rng = np.random.default_rng(0)
    unbalanced = rng.choice(10, size=300, p=np.r_[0.3, np.full(9, 0.7 / 9)])
    missing = rng.choice([0, 1, 2, 4, 5, 6, 7, 8, 9], size=81)  # no 3s at all
    no_nines = rng.choice(9, size=40)  # the highest digit missing: bincount needs minlength
    for labels in (unbalanced, missing, no_nines, np.array([9, 9, 1])):
        got = numbers(call(answer, labels.copy()), "the shares class_shares returns").ravel()
        want = np.bincount(labels, minlength=10) / len(labels)  # only now
        if got.shape == want.shape and np.allclose(got, want, atol=1e-9):
            continue
        counts = np.bincount(labels, minlength=10)
        if got.shape == want.shape and np.allclose(got, counts):
            raise Failed("those are the counts; divide by the number of labels for the shares")
        if got.shape == want.shape and np.allclose(got, 100 * want):
            raise Failed("those are percentages; give the shares as fractions that sum to 1")
        if got.shape != want.shape:
            raise Failed(f"for labels with {len(np.unique(labels))} of the 10 digits your answer "
                         f"has {got.size} values; it should have 10, one per digit, 0 for a "
                         "digit that does not occur (np.bincount's minlength)")
        raise Failed(f"for {len(labels)} labels you had not seen the shares are "
                     f"{np.round(want, 3).tolist()}; yours are {np.round(got, 3).tolist()}")
    return "right on four label sets you had not seen, one without any 3s and one without 9s."


TRY_ITS = [
    Exercise("00", 1, "Write class_shares(labels): for an array of digit labels 0–9, the share "
             "of each digit, as 10 fractions that sum to 1 (0 for a digit that does not occur).",
             _class_shares,
             ["np.bincount counts each label; it needs minlength=10 so that a missing digit still "
              "gets its 0.",
              "Divide the counts by len(labels)."],
             """import numpy as np

def class_shares(labels):
    return np.bincount(labels, minlength=10) / len(labels)

answer = class_shares""", try_it=True),
]
