"""tflab.callbacks, on a fake clock: no test here depends on how fast the machine is."""

from __future__ import annotations

import itertools
import time

import keras
import numpy as np
import pytest

from tflab import callbacks, models


class FakeClock:
    """A clock that moves one second each time it is read."""

    def __init__(self):
        self.ticks = itertools.count()

    def __call__(self) -> float:
        return float(next(self.ticks))


class CountBatches(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.fixture(scope="module")
def model():
    model = models.mlp((4,), hidden=(8,))
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def fit(model, stop, epochs=100):
    """Fit 100 epochs of 5 batches; return how many batches ran."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 4)).astype("float32"), rng.integers(0, 10, 20)
    counter = CountBatches()
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[stop, counter])
    return counter.batches


def test_time_based_stop_stops_after_the_batch_that_uses_up_the_budget(model):
    stop = callbacks.TimeBasedStop(6.5, clock=FakeClock())
    # on_train_begin reads 0; the end of batch k reads k: 6.5 s are used up at batch 7,
    # in the middle of the second epoch (5 batches an epoch), not at an epoch's end
    assert fit(model, stop) == 7 and stop.stopped_at_seconds == 7.0


def test_time_based_stop_stops_when_the_budget_is_exactly_reached(model):
    stop = callbacks.TimeBasedStop(3, clock=FakeClock())
    assert fit(model, stop) == 3 and stop.stopped_at_seconds == 3.0


def test_time_based_stop_restarts_its_clock_for_each_fit(model):
    stop = callbacks.TimeBasedStop(2, clock=FakeClock())
    assert fit(model, stop) == 2
    assert fit(model, stop) == 2  # the clock reads 3 at the start: 2 more batches, not 0
    assert stop.stopped_at_seconds == 2.0


def test_time_based_stop_is_silent_when_training_ends_first(model):
    stop = callbacks.TimeBasedStop(1000, clock=FakeClock())
    assert fit(model, stop, epochs=3) == 15 and stop.stopped_at_seconds is None


def test_time_based_stop_uses_the_real_clock_by_default():
    assert callbacks.TimeBasedStop(5).clock is time.perf_counter


def test_time_based_stop_rejects_a_bad_budget_or_clock():
    with pytest.raises(ValueError, match="seconds must be positive, not 0"):
        callbacks.TimeBasedStop(0)
    with pytest.raises(TypeError, match="clock must be a function"):
        callbacks.TimeBasedStop(5, clock=12.0)
    assert isinstance(callbacks.TimeBasedStop(5), keras.callbacks.Callback)
