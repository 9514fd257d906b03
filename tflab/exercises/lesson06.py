"""Exercises of lesson 06, Estimators and feature columns: their Keras layers, and hooks."""

from __future__ import annotations

import tempfile

import numpy as np

from tflab import quiet_tensorflow
from tflab.exercises.core import Exercise, Failed, call, require_callable

BOUNDARIES = [18.0, 35.0, 50.0, 65.0]
HASH_BINS = 20


def _same_encoding(got, want: np.ndarray, inputs: np.ndarray, what: str, slots: str) -> None:
    """Fail unless the learner's output ``got`` equals the column's ``want`` row by row."""
    got = np.asarray(got)
    if got.shape != want.shape:
        looks_like = (" (one number per row: that is the bucket index; ask for one-hot rows with "
                      "output_mode='one_hot')" if got.ndim == 2 and got.shape[1] == 1 else "")
        raise Failed(f"for {len(inputs)} {what} of shape {inputs.shape} your layer gives shape "
                     f"{got.shape}; the feature column gives {want.shape}, {slots}{looks_like}")
    wrong = np.flatnonzero(np.any(got.astype(np.float64) != want, axis=1))
    if len(wrong):
        i = wrong[0]
        ones = np.flatnonzero(got[i] == 1)
        yours = (f"in slot {ones[0]}" if len(ones) == 1 and np.sum(got[i] != 0) == 1 else
                 f"the row {np.round(got[i].astype(float), 3).tolist()}")
        raise Failed(f"{len(wrong)} of {len(inputs)} rows differ; for {inputs[i, 0].item()!r} the "
                     f"feature column puts a 1 in slot {np.argmax(want[i])}, your layer {yours}")


def _require_keras_layers(answer, example: str) -> None:
    """Fail unless ``answer`` is built from Keras's own layers only.

    A plain function, a ``Lambda`` or a ``Layer`` subclass of the learner's could run the
    feature column itself, which is what the exercise asks to replace.
    """
    import keras

    if not isinstance(answer, keras.layers.Layer):
        raise Failed(f"the answer should be a Keras layer, such as {example}, not "
                     f"{type(answer).__name__}: a function (for instance one that runs the "
                     "feature column itself) is not its Keras replacement")
    wrappers = (keras.layers.Lambda, keras.layers.TFSMLayer)  # run any function or SavedModel
    for layer in answer._flatten_layers(include_self=True, recursive=True):
        kind = type(layer)
        code = [getattr(getattr(kind, name), "__module__", "") or ""
                for name in ("call", "__call__")]
        if (kind in wrappers or not kind.__module__.startswith("keras.")
                or not all(module.startswith("keras.") for module in code)):
            raise Failed(f"{kind.__name__} is not one of Keras's own layers: build the answer "
                         "from keras.layers preprocessing layers (a Lambda or your own Layer "
                         "could just wrap the feature column, which is what it replaces)")
        if "call" in vars(layer):
            raise Failed(f"your {kind.__name__} layer has its own call function: use Keras's "
                         "layers as they are (a replaced call could just run the feature "
                         "column, which is what the answer replaces)")


def _bucketized(answer) -> str:
    """The answer is a Keras layer mapping ages (N, 1) to the column's one-hot rows."""
    import tensorflow as tf

    from tflab import features

    _require_keras_layers(answer, "keras.layers.Discretization(...)")
    fc = tf.feature_column
    rng = np.random.default_rng(606)
    edges = np.array(BOUNDARIES, np.float32)
    just_below = np.nextafter(edges, np.float32(0))
    ages = np.concatenate([edges, just_below, [-3.0, 0.0, 120.0], rng.uniform(0, 100, 40)])
    ages = ages.astype(np.float32).reshape(-1, 1)
    with quiet_tensorflow():
        column = fc.bucketized_column(fc.numeric_column("age"), BOUNDARIES)
        want = features.feature_column_output(column, {"age": ages})
    _same_encoding(call(answer, ages), want, ages, "ages",
                   f"one 0/1 slot per bucket ({len(BOUNDARIES)} boundaries make "
                   f"{len(BOUNDARIES) + 1} buckets)")
    return (f"the same one-hot buckets as the feature column on {len(ages)} ages you had not "
            "seen, each boundary and the values just below it included.")


def _random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ -"))
    return np.array(["".join(rng.choice(letters, rng.integers(1, 12))) for _ in range(n)])


def _hash_bucket(answer) -> str:
    """The answer is a Keras layer mapping strings (N, 1) to the column's one-hot rows."""
    import tensorflow as tf

    from tflab import features

    _require_keras_layers(answer, "keras.layers.Hashing(...)")
    fc = tf.feature_column
    rng = np.random.default_rng(62)
    words = np.concatenate([["Paris", "paris", "Lima", "Absent", "Present"],
                            _random_words(rng, 60)]).reshape(-1, 1)
    with quiet_tensorflow():
        column = fc.indicator_column(fc.categorical_column_with_hash_bucket("city", HASH_BINS))
        want = features.feature_column_output(column, {"city": words})
    _same_encoding(call(answer, words), want, words, "strings",
                   f"one 0/1 slot per hash bucket ({HASH_BINS})")
    return (f"the same hash buckets as the feature column on {len(words)} strings you had not "
            "seen.")


def _regressor(model_dir: str):
    """A seeded LinearRegressor on y = 2x + 1 whose loss falls unevenly, and its input_fn."""
    import tensorflow as tf

    from tflab import estimator

    rng = np.random.default_rng(63)
    x = rng.uniform(-1, 1, 64).astype(np.float32)
    y = (2 * x + 1 + rng.normal(0, 0.1, 64)).astype(np.float32)

    def input_fn():
        return tf.data.Dataset.from_tensor_slices(({"x": x.reshape(-1, 1)}, y)).repeat().batch(16)

    config = estimator.RunConfig(tf_random_seed=0, log_step_count_steps=0,
                                 save_checkpoints_steps=1000)
    regressor = estimator.LinearRegressor(
        [tf.feature_column.numeric_column("x")], model_dir=model_dir, config=config,
        optimizer=lambda: tf.compat.v1.train.FtrlOptimizer(0.5),
        loss_reduction=tf.compat.v1.losses.Reduction.SUM_OVER_BATCH_SIZE)  # loss: the batch mean
    return regressor, input_fn


def _loss_recorder():
    """A hook that records every step's training loss, run after the learner's hook."""
    import tensorflow as tf

    class LossRecorder(tf.compat.v1.train.SessionRunHook):
        def __init__(self):
            self.losses: list[float] = []

        def begin(self):
            self.loss = tf.compat.v1.losses.get_losses()[-1]

        def before_run(self, run_context):
            return tf.compat.v1.train.SessionRunArgs(self.loss)

        def after_run(self, run_context, run_values):
            self.losses.append(float(run_values.results))

    return LossRecorder()


def _stop_below(answer) -> str:
    """The answer is a hook class StopBelow(threshold); judged on real Estimator runs."""
    import tensorflow as tf

    require_callable(answer, "StopBelow(threshold) (a class) making a SessionRunHook")
    max_steps = 60
    for threshold in (0.3, 0.1):
        hook = call(answer, threshold)
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise Failed(f"StopBelow({threshold}) should make a tf.compat.v1.train.SessionRunHook,"
                         f" not {type(hook).__name__}: subclass tf.compat.v1.train.SessionRunHook")
        recorder = _loss_recorder()
        with tempfile.TemporaryDirectory() as model_dir, quiet_tensorflow():
            regressor, input_fn = _regressor(model_dir)
            call(regressor.train, input_fn, steps=max_steps, hooks=[hook, recorder])
        losses = recorder.losses
        stopped = len(losses)
        below = [step for step, loss in enumerate(losses, 1) if loss < threshold]
        if below and below[0] == stopped:
            continue
        if not below or below[0] > stopped:
            raise Failed(f"with threshold {threshold} your hook stopped training after step "
                         f"{stopped}, whose loss {losses[-1]:.3f} is not below {threshold}")
        first = below[0]
        if stopped == max_steps:
            raise Failed(f"with threshold {threshold} step {first} had loss {losses[first - 1]:.3f}"
                         f", but training ran all {max_steps} steps: call "
                         "run_context.request_stop() in after_run")
        late = stopped - first
        raise Failed(f"with threshold {threshold} step {first} had loss {losses[first - 1]:.3f}, "
                     f"but training went on to step {stopped} ({late} step{'s' * (late > 1)} "
                     "late): request the stop in after_run of the step whose loss is below")
    return ("stopped right after the first step whose loss was below the threshold, for "
            "thresholds 0.3 and 0.1.")


EXERCISES = [
    Exercise("06", 1, "Give a Keras layer (Keras's own layers only) that encodes ages (float32, "
             "shape (N, 1)) exactly like "
             f"tf.feature_column.bucketized_column(numeric_column('age'), {BOUNDARIES}).",
             _bucketized,
             ["Section 2's bucketized_pair shows the pattern: which layer replaces "
              "bucketized_column, and which output_mode makes one 0/1 slot per bucket?",
              "keras.layers.Discretization(bin_boundaries=..., output_mode='one_hot'): four "
              "boundaries make five buckets."],
             """import keras

answer = keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0],
                                     output_mode="one_hot")"""),
    Exercise("06", 2, "Give a Keras layer (Keras's own layers only) that encodes non-empty "
             "strings (shape (N, 1)) exactly like tf.feature_column.indicator_column("
             f"categorical_column_with_hash_bucket('city', {HASH_BINS})).", _hash_bucket,
             ["Section 2's hash_bucket_pair shows the pattern: no vocabulary, the bucket is a "
              "hash of the string modulo the number of buckets. Which Keras layer hashes?",
              f"keras.layers.Hashing(num_bins={HASH_BINS}, output_mode='one_hot') uses the same "
              "FarmHash64 as the feature column."],
             """import keras

answer = keras.layers.Hashing(num_bins=20, output_mode="one_hot")"""),
    Exercise("06", 3, "Write a hook class StopBelow(threshold), a subclass of "
             "tf.compat.v1.train.SessionRunHook, that stops Estimator training right after the "
             "first step whose loss is below threshold.", _stop_below,
             ["Section 3's LossRecorder shows the pattern: find the loss in begin() "
              "(tf.compat.v1.losses.get_losses()[-1]), ask for it in before_run with "
              "tf.compat.v1.train.SessionRunArgs, and read run_values.results in after_run.",
              "In after_run: if run_values.results < self.threshold: run_context.request_stop(). "
              "The session stops after the step that asked."],
             """import tensorflow as tf


class StopBelow(tf.compat.v1.train.SessionRunHook):
    def __init__(self, threshold):
        self.threshold = threshold

    def begin(self):
        self.loss = tf.compat.v1.losses.get_losses()[-1]

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self.loss)

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            run_context.request_stop()


answer = StopBelow"""),
]


def _column_rows(rng: np.random.Generator, slots: int, n: int) -> np.ndarray:
    """Indicator-column rows for a vocabulary of ``slots - 1`` words and one OOV slot (last);
    some rows all zeros (a missing value)."""
    rows = np.zeros((n, slots), dtype=np.float32)
    hot = rng.integers(0, slots, n)
    rows[np.arange(n), hot] = 1.0
    rows[rng.random(n) < 0.2] = 0.0
    rows[0] = 0.0  # at least one missing value,
    rows[1] = 0.0
    rows[1, -1] = 1.0  # one out-of-vocabulary word
    rows[2] = 0.0
    rows[2, 0] = 1.0  # and one known word
    return rows


def _to_keras_rows(rows: np.ndarray) -> np.ndarray:
    keras_rows = np.roll(rows, 1, axis=1)
    keras_rows[rows.sum(axis=1) == 0, 0] = 1.0
    return keras_rows


def _keras_row(answer) -> str:
    require_callable(answer, "keras_row(row) returning a row")
    rng = np.random.default_rng()  # fresh rows on every check
    for slots in (3, 5, 8):
        rows = _column_rows(rng, slots, 12)
        for row in rows:
            want = _to_keras_rows(row[None])[0]
            got = np.asarray(call(answer, row.copy()), dtype=np.float64).ravel()
            if got.shape != want.shape:
                raise Failed(f"for a row of {slots} slots keras_row returned {got.size} values; "
                             f"StringLookup's row has {slots} as well (one OOV slot, first)")
            if np.array_equal(got, want):
                continue
            shown = f"for the column's row {row.astype(int).tolist()} "
            if not row.any():
                raise Failed(shown + f"StringLookup gives {want.astype(int).tolist()}: a "
                             "missing value ('') is not in the vocabulary, so Keras counts it as "
                             "OOV, where the column gives all zeros")
            if np.array_equal(got, row):
                raise Failed(shown + "you returned it unchanged; the two put the OOV slot at "
                             "opposite ends")
            if np.array_equal(got, np.roll(row, -1)):
                raise Failed(shown + "you moved the first slot to the end; the column's OOV slot "
                             "is its *last*, and Keras puts it *first*")
            raise Failed(shown + f"StringLookup gives {want.astype(int).tolist()}, yours "
                         f"{got.tolist()}")
    return "right for vocabularies of 2, 4 and 7 words, missing values included."


TRY_ITS = [
    Exercise("06", 1, "Write keras_row(row): given the one-hot row that indicator_column("
             "categorical_column_with_vocabulary_list(key, vocabulary, num_oov_buckets=1)) "
             "gives for a word (a NumPy array), return the row that StringLookup(vocabulary="
             "vocabulary, num_oov_indices=1, output_mode='one_hot') gives for the same word.",
             _keras_row,
             ["Section 2's famhist rows show the two conventions: where does each put the "
              "out-of-vocabulary slot, and what does each do with a missing value ('')?",
              "Move the last slot to the front (np.roll(row, 1)); a row of zeros (missing) "
              "becomes Keras's OOV row, a 1 in slot 0."],
             """import numpy as np

def keras_row(row):
    out = np.roll(row, 1)
    if not row.any():
        out[0] = 1
    return out

answer = keras_row""", try_it=True),
]
