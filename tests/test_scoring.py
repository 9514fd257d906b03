"""tflab.scoring's batching, with a stand-in model (no TensorFlow): how the calls are cut."""

from __future__ import annotations

import numpy as np
import pytest

from tflab import scoring


class CountingModel:
    """Stands in for a ModelHandle: records each call's batch size; row i scores i in class 0."""

    def __init__(self):
        self.calls: list[int] = []

    def predict(self, images) -> np.ndarray:
        self.calls.append(len(images))
        scores = np.zeros((len(images), 10), np.float32)
        scores[:, 0] = images[:, 0]
        return scores


def test_default_batches_are_256_images_the_last_smaller():
    # 256 keeps TensorFlow's CPU memory pool small (lesson 05, section 3): batches of 1,000
    # left about 170 MB more resident memory than batches of 256 (measured for issue 19).
    model = CountingModel()
    images = np.arange(600, dtype=np.float32)[:, None] * np.ones((1, 784), np.float32)
    scores = scoring.score_batched(model, images)
    assert model.calls == [256, 256, 88]
    np.testing.assert_array_equal(scores[:, 0], np.arange(600))  # every row, in order


@pytest.mark.parametrize("size, calls", [(1, [1] * 5), (2, [2, 2, 1]), (5, [5]), (64, [5])])
def test_explicit_batch_sizes_cut_the_calls(size, calls):
    model = CountingModel()
    images = np.arange(5, dtype=np.float32)[:, None] * np.ones((1, 784), np.float32)
    scores = scoring.score_batched(model, images, batch_size=size)
    assert model.calls == calls
    np.testing.assert_array_equal(scores[:, 0], np.arange(5))
