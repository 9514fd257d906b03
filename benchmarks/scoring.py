"""Training and scoring the seed CNN (lessons 04–05): time, throughput, memory.

Trains ``tflab.models.seed_cnn`` with ``models.train_steps`` (lesson 04's loop) for 1000
steps of 50 (goal: at most 75 s on 2 cores), reports the process's peak memory after
training (goal: at most 1.0 GB), exports the
model and scores 10,000 test images one per call, in batches, and from 8 threads
sharing the model (goals: batched at least 20× per-image, and 10,000 images in at
most 4 s). Prints one table.

    .venv/bin/python benchmarks/scoring.py [--steps 1000] [--images 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras

from tflab import data, doctor, models, registry, saving, scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("--images", type=int, default=10_000,
                        help="test images to score (default 10000)")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    mnist = data.mnist(flatten=True, dtype="uint8")
    model = models.seed_cnn()
    log = models.train_steps(model, *mnist.train, steps=args.steps)
    peak_after_training = doctor.peak_memory_mb()
    accuracy = models.accuracy(model, *mnist.test)

    images = models.scale_images(mnist.test.images[:args.images])
    with tempfile.TemporaryDirectory() as tmp:
        path = saving.export_saved_model(model, Path(tmp) / "model")
        with registry.load(path, scope="block") as handle:
            scoring.score_batched(handle, images[:1000])  # warm up: first calls trace
            rates = {}
            for name, score in [
                ("one image per call", lambda: scoring.score_per_image(handle, images)),
                ("batches of 1000", lambda: scoring.score_batched(handle, images, 1000)),
                ("8 threads, one image per call",
                 lambda: scoring.score_threads(handle, images, threads=8, batch_size=1)),
                ("8 threads, batches of 125",
                 lambda: scoring.score_threads(handle, images, threads=8, batch_size=125)),
            ]:
                start = time.perf_counter()
                score()
                rates[name] = time.perf_counter() - start

    n = len(images)
    print(f"training: {args.steps} steps of 50 in {log.seconds:.1f} s (goal ≤ 75 s); "
          f"test accuracy {accuracy:.4f}")
    print(f"peak memory after training: {peak_after_training:.0f} MB (goal ≤ 1000 MB)\n")
    print(f"{'scoring ' + format(n, ',') + ' images':34s} {'seconds':>8s} {'images/s':>10s}")
    for name, seconds in rates.items():
        print(f"{name:34s} {seconds:8.2f} {n / seconds:10,.0f}")
    ratio = rates["one image per call"] / rates["batches of 1000"]
    print(f"\nbatched : per-image = {ratio:.1f}× (goal ≥ 20×); batched {n:,} images in "
          f"{rates['batches of 1000']:.2f} s (goal ≤ 4 s)")


if __name__ == "__main__":
    main()
