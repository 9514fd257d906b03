"""Lesson 06's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import keras
import pytest
import tensorflow as tf
from exercise_checks import failed_with

from tflab import exercises, features

fc = tf.feature_column
AGE_COLUMN = fc.bucketized_column(fc.numeric_column("age"), [18.0, 35.0, 50.0, 65.0])
CITY_COLUMN = fc.indicator_column(fc.categorical_column_with_hash_bucket("city", 20))


def runs_the_column(column, key):
    """Gaming: a function that runs the feature column itself."""
    return lambda x: features.feature_column_output(column, {key: x})


class ColumnLayer(keras.layers.Layer):
    """Gaming: a Layer of the learner's that runs the feature column inside."""

    def __init__(self, column, key):
        super().__init__()
        self.column, self.key = column, key

    def call(self, x):
        return tf.compat.v1.feature_column.input_layer({self.key: x}, [self.column])


def with_call(layer, column, key):
    """Gaming: one of Keras's own layers whose call is replaced by the feature column."""
    layer.call = lambda x: tf.compat.v1.feature_column.input_layer({key: x}, [column])
    return layer


def posing_as_keras(column, key):
    """Gaming: a subclass of a Keras layer, its module renamed to look like Keras's."""

    class Discretization(keras.layers.Discretization):
        def call(self, x):
            return tf.compat.v1.feature_column.input_layer({key: x}, [column])

    Discretization.__module__ = "keras.layers"
    return Discretization(bin_boundaries=[1.0])


def test_the_solutions_pass():
    for number in (1, 2):
        exercise = exercises.get("06", number)
        namespace = {}
        exec(exercise.solution_code, namespace)
        status, text = exercise.judge(namespace["answer"])
        assert status == "passed", text


def test_keras_layers_in_a_sequential_pass():
    ids_then_one_hot = keras.Sequential([
        keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
        keras.layers.CategoryEncoding(5, output_mode="one_hot")])
    status, text = exercises.get("06", 1).judge(ids_then_one_hot)
    assert status == "passed", text


@pytest.mark.parametrize("answer, message", [
    (keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
     "output_mode='one_hot'"),  # bucket indices, not one-hot rows
    (keras.layers.Discretization(bin_boundaries=features.AGE_BOUNDARIES, output_mode="one_hot"),
     "for 18.0 the feature column puts a 1 in slot 1, your layer in slot 0"),  # the lesson's
    (keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0], output_mode="one_hot"),
     "4 boundaries make 5 buckets"),
    (keras.layers.CategoryEncoding(5, output_mode="one_hot"), "rows differ"),
    ([18.0, 35.0, 50.0, 65.0], "should be a Keras layer"),
    (runs_the_column(AGE_COLUMN, "age"), "runs the feature column itself"),  # gaming
    (keras.layers.Lambda(runs_the_column(AGE_COLUMN, "age")), "Lambda is not one of Keras's own"),
    (ColumnLayer(AGE_COLUMN, "age"), "ColumnLayer is not one of Keras's own layers"),
    (with_call(keras.layers.Identity(), AGE_COLUMN, "age"), "has its own call function"),
    (keras.Sequential([with_call(keras.layers.Identity(), AGE_COLUMN, "age")]),
     "has its own call function"),  # the same, nested in a Sequential
    (posing_as_keras(AGE_COLUMN, "age"), "Discretization is not one of Keras's own layers"),
    (keras.layers.Lambda(lambda x: tf.one_hot(tf.zeros(tf.shape(x)[0], tf.int32), 5)),
     "Lambda is not one of Keras's own"),  # a constant of the right shape
    (keras.Sequential([keras.layers.Discretization(bin_boundaries=[18.0, 35.0, 50.0, 65.0]),
                       keras.layers.CategoryEncoding(4, output_mode="one_hot")]),
     "gives shape (51, 4)"),  # five bucket ids, four slots
])
def test_bucketized_wrong_answers(answer, message):
    failed_with(exercises.get("06", 1), answer, message)


@pytest.mark.parametrize("answer, message", [
    (keras.layers.Hashing(num_bins=8, output_mode="one_hot"), "one 0/1 slot per hash bucket (20)"),
    (keras.layers.Hashing(num_bins=20), "output_mode='one_hot'"),
    (keras.layers.Hashing(num_bins=20, output_mode="one_hot", salt=7),
     "for 'Paris' the feature column puts a 1 in slot"),  # another hash
    (keras.layers.StringLookup(vocabulary=["Paris", "Lima"], output_mode="one_hot"),
     "gives shape (65, 3)"),
    (keras.layers.StringLookup(max_tokens=20, output_mode="one_hot"), "raised RuntimeError"),
    (runs_the_column(CITY_COLUMN, "city"), "runs the feature column itself"),  # gaming
    (ColumnLayer(CITY_COLUMN, "city"), "ColumnLayer is not one of Keras's own layers"),
    (with_call(keras.layers.Identity(), CITY_COLUMN, "city"), "has its own call function"),
    (keras.layers.CategoryEncoding(20, output_mode="one_hot"), "raised"),  # strings are no ids
])
def test_hash_bucket_wrong_answers(answer, message):
    failed_with(exercises.get("06", 2), answer, message)


class LossHook(tf.compat.v1.train.SessionRunHook):
    """Asks for the training loss every step, as the reference does."""

    def __init__(self, threshold):
        self.threshold = threshold

    def begin(self):
        self.loss = tf.compat.v1.losses.get_losses()[-1]

    def before_run(self, run_context):
        return tf.compat.v1.train.SessionRunArgs(self.loss)


class StopsAbove(LossHook):
    """Compares the wrong way round: stops after the first step."""

    def after_run(self, run_context, run_values):
        if run_values.results > self.threshold:
            run_context.request_stop()


class SetsAFlag(LossHook):
    """Notices the loss but never asks the Estimator to stop."""

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            self.stop = True


class StopsInBeforeRun(LossHook):
    """Asks before the next step, which then still runs: one step late."""

    below = False

    def before_run(self, run_context):
        if self.below:
            run_context.request_stop()
        return super().before_run(run_context)

    def after_run(self, run_context, run_values):
        self.below = run_values.results < self.threshold


class AsksForNothing(tf.compat.v1.train.SessionRunHook):
    """Reads run_values.results without asking for the loss in before_run."""

    def __init__(self, threshold):
        self.threshold = threshold

    def after_run(self, run_context, run_values):
        if run_values.results < self.threshold:
            run_context.request_stop()


class FixedThreshold(LossHook):
    """Ignores its argument: the notes' 0.4."""

    def after_run(self, run_context, run_values):
        if run_values.results < 0.4:
            run_context.request_stop()


class NotAHook:
    def __init__(self, threshold):
        self.threshold = threshold


@pytest.mark.parametrize("answer, message", [
    (StopsAbove, "stopped training after step 1, whose loss"),
    (SetsAFlag, "training ran all 60 steps: call run_context.request_stop()"),
    (StopsInBeforeRun, "(1 step late)"),
    (AsksForNothing, "raised TypeError"),
    (FixedThreshold, "with threshold 0.3 your hook stopped training after step 4, whose loss"),
    (NotAHook, "subclass tf.compat.v1.train.SessionRunHook"),
    (StopsAbove(0.4), "should be a function"),  # an instance, not the class
])
def test_stop_below_wrong_answers(answer, message):
    failed_with(exercises.get("06", 3), answer, message)


def test_keras_row_wrong_answers():
    import numpy as np

    ex = exercises.try_it("06", 1)

    def no_missing(row):  # forgets that a missing value is OOV for Keras
        return np.roll(row, 1)

    def wrong_way(row):
        out = np.roll(row, -1)
        if not row.any():
            out[0] = 1
        return out

    failed_with(ex, no_missing, "a missing value")
    failed_with(ex, lambda row: row, "a missing value")
    failed_with(ex, lambda row: row if row.any() else np.eye(len(row))[0], "unchanged")
    failed_with(ex, wrong_way, "moved the first slot to the end")
    failed_with(ex, lambda row: np.array([1.0, 0.0, 0.0]), "for the column's row")  # constant
    failed_with(ex, lambda row: row[:-1], "returned")
    status, message = ex.judge(lambda row: np.eye(len(row))[
        0 if not row.any() else (int(np.argmax(row)) + 1) % len(row)])
    assert status == "passed", message
