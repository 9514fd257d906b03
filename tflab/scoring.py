"""Scoring many images with a loaded model: one per call, in batches, or from threads;
and turning scores into answers (``postprocess``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tflab.registry import ModelHandle

__all__ = ["score_per_image", "score_batched", "score_threads", "postprocess"]


def _check_positive(**counts) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")


def score_per_image(model: ModelHandle, images: np.ndarray) -> np.ndarray:
    """One call per image, as the original scoring program did. Returns the scores (N, 10)."""
    return np.concatenate([model.predict(images[i:i + 1]) for i in range(len(images))])


def score_batched(model: ModelHandle, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Calls of ``batch_size`` images each, the last maybe fewer. Returns the scores (N, 10).

    The default, 256, trades speed for memory: lesson 05's section 3 times sizes from 1 to 512
    (the fastest varies by machine and run), and a batch's tensors grow with it, while
    TensorFlow's CPU allocator keeps the most that one call needed for the rest of the process.
    """
    _check_positive(batch_size=batch_size)
    return np.concatenate([model.predict(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)])


def score_threads(model: ModelHandle, images: np.ndarray, threads: int = 8,
                  batch_size: int = 1) -> np.ndarray:
    """``threads`` workers share one model, each scoring chunks of ``batch_size`` images.

    With ``batch_size=1`` this is the original's PARALLEL(8): many single-image
    requests at once. Returns the scores (N, 10) in input order.
    """
    _check_positive(threads=threads, batch_size=batch_size)
    chunks = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return np.concatenate(list(pool.map(model.predict, chunks)))


def postprocess(scores) -> list[dict]:
    """Scores (N, 10) → one ``{"class": k, "probability": p, "probabilities": [...]}`` each."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    return [{"class": int(np.argmax(row)), "probability": float(np.max(row)),
             "probabilities": [round(float(p), 6) for p in row]} for row in scores]
