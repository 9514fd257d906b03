"""Exercises of lesson 00, getting started: MNIST's splits, one-hot labels, a tf.data pipeline."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, number, require_callable


def _sevens(answer) -> str:
    from tflab import data

    got = number(answer, "a count")
    splits = data.mnist(dtype="uint8")
    want = int(np.sum(splits.validation.labels == 7))
    if got == want:
        return f"the validation split holds {want} sevens."
    for name in ("train", "test"):
        if got == int(np.sum(getattr(splits, name).labels == 7)):
            raise Failed(f"{got:g} is the number of sevens in the {name} split; count them in "
                         "the validation split (y_val).")
    how = "too many" if got > want else "too few"
    raise Failed(f"{got:g} is {how}: off by {abs(got - want):g}.")


def _one_hot(answer) -> str:
    require_callable(answer, "one_hot(labels) returning an (N, 10) array")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 37).astype(np.uint8)
    got = np.asarray(call(answer, labels.copy()))
    want = np.eye(10, dtype=np.float32)[labels]
    if got.shape != want.shape:
        raise Failed(f"for {len(labels)} labels the result should have shape {want.shape}; "
                     f"yours has {got.shape}")
    if not np.array_equal(got, want):
        rows = int(np.sum(np.any(got != want, axis=1)))
        where = (np.argmax(got, axis=1) - labels) % 10
        extra = (f" (every 1 sits {int(where[0])} column(s) to the right of labels[i])"
                 if np.all(where == where[0]) and where[0] else "")
        raise Failed(f"{rows} of {len(labels)} rows are wrong{extra}: row i needs a single 1 in "
                     "column labels[i] and 0 elsewhere.")
    if got.dtype != np.float32:
        raise Failed(f"the values are right but the dtype is {got.dtype}; the course uses float32 "
                     "(as data.mnist(one_hot=True) does).")
    return "right shape, values and dtype on labels you had not seen."


def _pipeline(answer) -> str:
    import tensorflow as tf

    require_callable(answer,
                     "make_pipeline(images, labels, batch_size) returning a tf.data.Dataset")
    n, batch_size = 103, 10
    images = np.arange(n * 4, dtype=np.float32).reshape(n, 2, 2)
    labels = np.arange(n, dtype=np.int64)
    ds = call(answer, images, labels, batch_size)
    if not isinstance(ds, tf.data.Dataset):
        raise Failed(f"make_pipeline should return a tf.data.Dataset, not {type(ds).__name__}")
    epochs = []
    for _ in range(2):
        seen, sizes = [], []
        for batch in ds:
            if not (isinstance(batch, tuple) and len(batch) == 2):
                raise Failed("each element should be an (images, labels) pair")
            x, y = (np.asarray(t) for t in batch)
            if not np.array_equal(x[:, 0, 0], y * 4):
                raise Failed("images and labels are no longer paired: shuffle them together")
            sizes.append(len(y))
            seen.extend(y.tolist())
        epochs.append(seen)
        if sorted(seen) != list(range(n)):
            raise Failed(f"one epoch yielded {len(seen)} examples, {len(set(seen))} distinct; "
                         f"it should yield each of the {n} examples exactly once "
                         "(no repeat(), no drop_remainder)")
        if max(sizes) != batch_size:
            raise Failed(f"batches should hold {batch_size} examples; yours hold up to "
                         f"{max(sizes)}")
    if epochs[0] == list(range(n)):
        raise Failed("the examples come out in their original order: shuffle them")
    if epochs[0] == epochs[1]:
        raise Failed("both epochs came out in the same order: reshuffle every epoch")
    return "every example once per epoch, batches of 10, reshuffled every epoch."


EXERCISES = [
    Exercise("00", 1, "How many sevens are there in the validation split of MNIST?", _sevens,
             ["data.mnist() returns train, validation and test splits; you want the labels of "
              "the second one.", "np.sum(y_val == 7) counts the True values."],
             """import numpy as np
from tflab import data

(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.mnist()
answer = int(np.sum(y_val == 7))"""),
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
