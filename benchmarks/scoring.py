"""Training and scoring the seed CNN (lessons 04–05) against this machine's matmul rate.

Measures TensorFlow's float32 matmul rate first (``tflab.machine``), then trains
lesson 04's ``seed_cnn`` with its ``train_steps`` loop (``models.lesson_04``) for 1000 steps of
50 (goal: at most 75 s on 2 cores) and reports the process's peak memory (goal: at most
1.0 GB). Exports the model the old way (``ExportArchive.track`` too: every variable twice)
and the course's way, and prints each one's variables/ size against the weights (goal:
at most 1.05×) and the memory of a fresh process that loads it and scores 1000 images.
Scores the test images one per call, several ways, in batches and from 8 threads; FLOPs
per image come from the model's Dense and Conv2D layers. Goals on 2 cores: batched
scoring at least 80 % of matmul, one image per call at most 1 ms.

    .venv/bin/python benchmarks/scoring.py [--steps 1000] [--images 10000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras
import tensorflow as tf

from tflab import data, doctor, machine, models, registry, saving, scoring


def export_tracked(model, path: Path) -> Path:
    """Lesson 04's ``serving_archive`` plus ``track(model)``, as Keras's examples export: it
    stores a second copy of every variable."""
    archive = saving.serving_archive(model)
    archive.track(model)
    archive.write_out(str(path), verbose=False)
    return path


def per_call(call, count: int) -> float:
    """Seconds for ``call(i)`` for i in range(count), after one untimed call."""
    call(0)
    start = time.perf_counter()
    for i in range(count):
        call(i)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("--images", type=int, default=10_000,
                        help="test images to score (default 10000)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: 20 steps, 300 images, no other change")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.images = 20, 300
    tf.get_logger().setLevel("ERROR")

    matmul = machine.matmul_gflops()
    keras.utils.set_random_seed(0)
    mnist = data.mnist(flatten=True, dtype="uint8")
    lesson = models.lesson_04()
    model = lesson.seed_cnn()
    flops = machine.forward_flops(model)
    start = time.perf_counter()
    lesson.train_steps(model, *mnist.train, steps=args.steps)
    train_seconds = time.perf_counter() - start
    peak_after_training = doctor.peak_memory_mb()
    accuracy = models.accuracy(model, *mnist.test)
    weight_bytes = sum(weight.numpy().nbytes for weight in model.weights)

    images = data.scale_images(mnist.test.images[:args.images])
    n = len(images)
    with tempfile.TemporaryDirectory() as tmp:
        exports = {"before: ExportArchive with track(model)": export_tracked(
                       model, Path(tmp) / "tracked"),
                   "now: saving.export_saved_model": saving.export_saved_model(
                       model, Path(tmp) / "model")}
        footprint = {name: (saving.variables_bytes(path), *saving.serving_memory_mb(path))
                     for name, path in exports.items()}
        with registry.load(exports["now: saving.export_saved_model"], scope="block") as handle:
            signature = handle.saved_model.signatures[saving.SIGNATURE]
            one = tf.TensorSpec([1, saving.PIXELS], tf.float32)
            concrete = tf.function(lambda x: signature(images=x)[saving.OUTPUT]) \
                .get_concrete_function(one)
            xla = tf.function(lambda x: signature(images=x)[saving.OUTPUT], jit_compile=True) \
                .get_concrete_function(one)
            singles = [tf.constant(images[i:i + 1]) for i in range(n)]  # prepared tensors
            batches = [tf.constant(images[i:i + 1000]) for i in range(0, n, 1000)]
            scoring.score_batched(handle, images[:1000])  # warm up: first calls trace
            rows = {
                "one image per call: handle.predict (NumPy in/out)":
                    per_call(lambda i: handle.predict(images[i:i + 1]), n),
                "one image: signature, prepared tensor":
                    per_call(lambda i: signature(images=singles[i]), n),
                "one image: concrete function [1, 784], prepared":
                    per_call(lambda i: concrete(singles[i]), n),
                "one image: same, XLA (jit_compile=True)":
                    per_call(lambda i: xla(singles[i]), n),
                "batches of 1000: handle.predict":
                    per_call(lambda i: scoring.score_batched(handle, images, 1000), 1),
                "batches of 1000: signature, prepared tensors":
                    per_call(lambda i: [signature(images=b) for b in batches], 1),
                "8 threads, one image per call":
                    per_call(lambda i: scoring.score_threads(handle, images, threads=8,
                                                             batch_size=1), 1),
                "8 threads, batches of 125":
                    per_call(lambda i: scoring.score_threads(handle, images, threads=8,
                                                             batch_size=125), 1),
            }

    matmul = max(matmul, machine.matmul_gflops())  # the best seen, before or after
    print(machine.matmul_line(matmul) + " (best of before and after)")
    print(f"FLOPs per image (Dense/Conv2D layers of the seed CNN): {flops:,}\n")
    train_flops = machine.TRAINING_FACTOR * flops * 50 * args.steps
    print(f"training: {args.steps} steps of 50 in {train_seconds:.1f} s (goal ≤ 75 s); "
          f"{machine.share(train_flops, train_seconds, matmul)} (forward+backward = "
          f"{machine.TRAINING_FACTOR}× forward); test accuracy {accuracy:.4f}")
    print(f"peak memory after training: {peak_after_training:.0f} MB (goal ≤ 1000 MB)\n")

    print(f"{'SavedModel export':42s} {'variables/ MB':>13s} {'× weights':>9s} "
          f"{'RSS MB':>7s} {'+ load MB':>9s} {'+ scoring MB':>12s}")
    for name, (size, rss, load, scored) in footprint.items():
        print(f"{name:42s} {size / 1e6:13.2f} {size / weight_bytes:9.3f} {rss:7.0f} "
              f"{load:9.1f} {scored:12.1f}")
    print(f"weights: {weight_bytes / 1e6:.2f} MB; goal: variables/ ≤ 1.05× the weights. RSS: a "
          f"serving process with TensorFlow started; + load: what loading the model added; "
          f"+ scoring: and then scoring 1000 images\n")

    print(f"{'scoring ' + format(n, ',') + ' images':50s} {'seconds':>8s} {'images/s':>10s} "
          f"{'ms/image':>9s}   share of matmul")
    for name, seconds in rows.items():
        print(f"{name:50s} {seconds:8.2f} {n / seconds:10,.0f} {1e3 * seconds / n:9.3f}   "
              f"{machine.share(flops * n, seconds, matmul)}")
    batched = min(rows["batches of 1000: handle.predict"],
                  rows["batches of 1000: signature, prepared tensors"])
    percent = 100 * flops * n / batched / 1e9 / matmul
    single = min(seconds for name, seconds in rows.items() if name.startswith("one image"))
    single_ms = 1e3 * single / n
    print(f"\nbatched scoring: {percent:.1f} % of matmul (goal ≥ 80 %: "
          f"{'met' if percent >= 80 else 'NOT met'}); one image per call, fastest way: "
          f"{single_ms:.3f} ms (goal ≤ 1 ms: {'met' if single_ms <= 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
