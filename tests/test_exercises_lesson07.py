"""Lesson 07's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from exercise_checks import failed_with
from sklearn.preprocessing import MinMaxScaler

from tflab import exercises, models


def deep(activation, initializer, hidden=100):
    def build(depth):
        return models.mlp((32,), hidden=[hidden] * depth, activation=activation,
                          kernel_initializer=initializer)

    return build


@pytest.mark.parametrize("answer, message", [
    (deep("sigmoid", "glorot_uniform"), "the gradient vanishes"),
    (deep("tanh", keras.initializers.RandomNormal(stddev=0.05)), "the signal fades"),
    (deep("relu", "glorot_uniform"), "the signal fades"),  # Glorot halves ReLU's variance
    (deep("relu", keras.initializers.RandomNormal(stddev=0.5)), "the signal grows"),
    # gaming: ignores depth, always the 16 layers of the first check
    (lambda depth: models.mlp((32,), hidden=[100] * 16, kernel_initializer="he_normal"),
     "build(32) has 17 Dense layers; it should have 33"),
    (lambda depth: models.mlp((32,), hidden=[100] * (depth - 1), kernel_initializer="he_normal"),
     "it should have 17: 16 hidden ones"),
    (lambda depth: models.mlp((32,), hidden=[100] * depth, kernel_initializer="he_normal",
                              output_activation=None), "10 probabilities per row"),
])
def test_deep_net_wrong_answers(answer, message):
    failed_with(exercises.get("07", 1), answer, message)


def min_max(x_train):
    return MinMaxScaler().fit(x_train).transform


def one_mean_for_all(x_train):
    mean, std = x_train.mean(), x_train.std()
    return lambda x: (x - mean) / std


def refits(x_train):
    return lambda x: (x - x.mean(axis=0)) / x.std(axis=0)


def divides_by_variance(x_train):
    mean, var = x_train.mean(axis=0), x_train.var(axis=0)
    return lambda x: (x - mean) / var


def remembers_the_answer(x_train):  # gaming: ignores x, returns scaled x_train every time
    z = (x_train - x_train.mean(axis=0)) / x_train.std(axis=0)
    return lambda x: z


def returns_the_scaled_data(x_train):
    return (x_train - x_train.mean(axis=0)) / x_train.std(axis=0)


@pytest.mark.parametrize("answer, message", [
    (min_max, "that is min-max scaling"),
    (one_mean_for_all, "one mean and std per feature"),
    (refits, "re-learnt the statistics from the new data"),
    (divides_by_variance, "every feature needs mean 0 and std 1"),
    (returns_the_scaled_data, "should return a function or a layer"),
    (remembers_the_answer, "scaler(x_new) has shape (300, 4)"),
    (lambda x_train: keras.layers.Normalization(), "returned the data unchanged"),  # no adapt
])
def test_scaler_wrong_answers(answer, message):
    failed_with(exercises.get("07", 2), answer, message)


class WatchesTrainingAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] >= self.target:
            self.model.stop_training = True


class StopsItself(keras.callbacks.Callback):
    """Sets stop_training on the callback, not on the model: never stops."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= self.target:
            self.stop_training = True


class StopsAtTheNextEpoch(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target
        self.reached = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.reached:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.reached = logs["val_accuracy"] >= self.target


class FixedTarget(keras.callbacks.Callback):
    """Gaming: ignores its target, stops at 0.85 (the first target the checker uses)."""

    def __init__(self, target):
        super().__init__()

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_accuracy"] >= 0.85:
            self.model.stop_training = True


class OldMetricName(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_acc"] >= self.target:
            self.model.stop_training = True


@pytest.mark.parametrize("answer, message", [
    (WatchesTrainingAccuracy, "watch logs['val_accuracy'], not logs['accuracy']"),
    (StopsItself, "but training ran all 12 epochs: in on_epoch_end, set self.model.stop_training"),
    (StopsAtTheNextEpoch, "(1 epoch late)"),
    (OldMetricName, "raised KeyError: 'val_acc'"),
    (FixedTarget, "stopped training after epoch 7, when val_accuracy was only 0.875 (< 0.9)"),
    (lambda target: keras.callbacks.EarlyStopping(monitor="val_accuracy", baseline=target),
     "epochs late"),
    (lambda target: np.float64(target), "subclass keras.callbacks.Callback"),
])
def test_stop_at_accuracy_wrong_answers(answer, message):
    failed_with(exercises.get("07", 3), answer, message)
