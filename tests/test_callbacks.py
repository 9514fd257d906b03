"""tflab.callbacks."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest

from tflab import callbacks, models


def test_time_based_stop_stops_close_to_its_budget():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 20)).astype("float32"), rng.integers(0, 10, 2000)
    model = models.mlp((20,), hidden=(64,))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:32], y[:32], epochs=1, verbose=0)  # trace first, so the budget is training
    stop = callbacks.TimeBasedStop(1.0)
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=8, epochs=1000, verbose=0, callbacks=[stop])
    elapsed = time.perf_counter() - start
    assert stop.stopped_at_seconds is not None and 1.0 <= stop.stopped_at_seconds < 1.3
    assert elapsed < 1.5 and len(history.history["loss"]) < 1000


def test_time_based_stop_rejects_a_bad_budget():
    with pytest.raises(ValueError, match="positive"):
        callbacks.TimeBasedStop(0)
    assert isinstance(callbacks.TimeBasedStop(5), keras.callbacks.Callback)
