"""Keras callbacks used by the lessons."""

from __future__ import annotations

import time
from collections.abc import Callable

import keras

__all__ = ["TimeBasedStop"]


class TimeBasedStop(keras.callbacks.Callback):
    """Stop training once ``seconds`` have passed (checked after every batch).

    The Keras counterpart of the course notes' ``TimeBasedStopHook``. After training,
    ``stopped_at_seconds`` says when it stopped (None if the budget was not used up).
    ``clock`` returns the time in seconds (tests pass a fake one).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be positive, not {seconds!r}")
        if not callable(clock):
            raise TypeError(f"clock must be a function returning seconds, not {clock!r}")
        self.seconds = seconds
        self.clock = clock
        self.stopped_at_seconds: float | None = None

    def on_train_begin(self, logs=None):
        self._start = self.clock()
        self.stopped_at_seconds = None

    def on_train_batch_end(self, batch, logs=None):
        elapsed = self.clock() - self._start
        if elapsed >= self.seconds:
            self.stopped_at_seconds = elapsed
            self.model.stop_training = True
