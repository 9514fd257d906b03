"""Input pipelines with ``tf.data``: a slow producer, and what prefetch and cache buy."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

__all__ = ["slow_source", "time_epochs"]


def slow_source(n: int, seconds_per_item: float, counter: list | None = None) -> tf.data.Dataset:
    """A dataset of ``n`` items (0 … n−1) that takes ``seconds_per_item`` to make each one.

    It stands for a producer that reads and decodes files. ``counter``, a list, gets
    one entry per item produced, so you can see when a cache stops the work.

    Recent TensorFlow quietly adds a ``prefetch`` at the end of a pipeline
    (``tf.data.Options().experimental_optimization.inject_prefetch``); it is switched
    off here so that the effect of an explicit ``prefetch`` can be seen.
    """
    if n < 1 or seconds_per_item < 0:
        raise ValueError(f"need n >= 1 and seconds_per_item >= 0, got {n}, {seconds_per_item}")

    def produce(i):
        time.sleep(seconds_per_item)
        if counter is not None:
            counter.append(int(i))
        return i

    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    dataset = tf.data.Dataset.range(n).map(lambda i: tf.py_function(produce, [i], tf.int64))
    return dataset.with_options(options)


def time_epochs(dataset: tf.data.Dataset, epochs: int, seconds_per_step: float) -> np.ndarray:
    """Iterate ``dataset`` for ``epochs`` epochs, spending ``seconds_per_step`` on each item.

    The sleep stands for a training step. Returns the seconds each epoch took.
    """
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in dataset:
            time.sleep(seconds_per_step)
        times.append(time.perf_counter() - start)
    return np.array(times)
