"""Lesson 08b's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
from exercise_checks import failed_with

from tflab import exercises, multiscale


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _logit(photo):
    p = np.clip(photo, 1e-3, 1 - 1e-3)
    return np.log(p / (1 - p))


def test_stylise_wrong_answers():
    ex = exercises.get("08b", 1)
    assert ex.judge(lambda photo, change, bound: 0.5)[0] == "failed"
    failed_with(ex, lambda photo, change, bound: _sigmoid(_logit(photo) + change),
                "bound the change")
    failed_with(ex, lambda photo, change, bound: np.clip(photo + bound * np.tanh(change / bound),
                                                         0, 1), "not to its pixels")
    failed_with(ex, lambda photo, change, bound: _sigmoid(bound * np.tanh(change / bound)),
                "add the change to the photo's logit")
    failed_with(ex, lambda photo, change, bound: _sigmoid(_logit(photo) + np.tanh(change) * bound),
                "divide the change by the bound")
    failed_with(ex, lambda photo, change, bound: photo, "apply the change")

    def no_clip(photo, change, bound):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log(photo / (1 - photo)) + bound * np.tanh(change / bound)
            return 1 / (1 + np.exp(-z))

    failed_with(ex, no_clip, "clip the photo")


def test_colour_distance_wrong_answers():
    ex = exercises.get("08b", 2)
    assert ex.judge(lambda a, b: 0.5)[0] == "failed"
    failed_with(ex, multiscale.histogram_distance, "calls multiscale.histogram_distance")

    def shares(image, last=7):
        bins = np.minimum((np.asarray(image) * 8).astype(int), last)
        cells = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
        return np.bincount(cells.ravel(), minlength=729) / cells.size

    failed_with(ex, lambda a, b: np.abs(shares(a) - shares(b)).sum(), "twice the reference")
    # 1.0 in a ninth bin of its own: pure white shares no cell with 0.99
    failed_with(ex, lambda a, b: 0.5 * np.abs(shares(a, 8) - shares(b, 8)).sum(),
                "value 1.0 in the last bin")

    def counts(a, b):  # counts, not shares
        def c(image):
            bins = np.minimum((np.asarray(image) * 8).astype(int), 7)
            cells = bins[..., 0] * 64 + bins[..., 1] * 8 + bins[..., 2]
            return np.bincount(cells.ravel(), minlength=512)
        return 0.5 * np.abs(c(a) - c(b)).sum()

    failed_with(ex, counts, "shares of pixels")
