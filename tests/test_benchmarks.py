"""The benchmark scripts run and print their whole table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_solvers_benchmark_prints_every_method_and_the_ratio():
    script = ROOT / "benchmarks" / "solvers.py"
    out = subprocess.run([sys.executable, str(script), "--repeats", "1"], capture_output=True,
                         text=True, check=True, env=os.environ.copy(), timeout=600).stdout
    for name in ["exact solve", "seed GD", "seed remedy", "centre and scale x", "Adam",
                 "schedule", "steepest descent", "conjugate gradients"]:
        assert name in out, name
    assert "420,000" in out and "faster than the seed's remedy" in out


def test_scoring_benchmark_prints_training_memory_and_throughput():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scoring.py"), "--steps", "20",
                          "--images", "300"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    for text in ["training: 20 steps", "peak memory after training", "one image per call",
                 "batches of 1000", "8 threads, one image per call", "batched : per-image"]:
        assert text in out, text


def test_style_benchmark_prints_steps_and_inference():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "style.py"), "--sizes", "64",
                          "--steps", "1"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    assert "optimisation step at 64 px" in out and "fast network, one 64 px photo" in out


def test_distributed_benchmark_prints_all_four_set_ups():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "distributed.py"), "--steps",
                          "20"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    for name in ["1 process", "MirroredStrategy", "MultiWorkerMirrored", "ParameterServer"]:
        assert name in out, name


def test_estimator_benchmark_prints_every_runner_and_the_ratios():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "estimator.py"),
                          "--steps", "20", "--repeats", "1"], capture_output=True, text=True,
                         check=True, env=os.environ.copy(), timeout=600).stdout
    for text in ["heart model_fn, 20 steps of 32", "hand-written MonitoredTrainingSession loop",
                 "x the hand-written loop (target <= 2x)",
                 "old eager shim (benchmarks/old_estimator_shim.py)", "faster (target >= 10x)",
                 "LinearRegressor on fire/theft, 2000 steps of 128"]:
        assert text in out, text
    slope, intercept = map(float, re.search(r"slope (\S+), intercept (\S+)", out).groups())
    assert abs(slope - 1.6675) < 1e-2 and abs(intercept - 10.0791) < 1e-2  # FTRL, 2000 steps


def test_style_extractors_benchmark_prints_the_cross_extractor_table():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "style_extractors.py"),
                          "--quick"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    for name in ["starry_night", "wave", "the_scream"]:
        assert re.search(rf"{name} +random VGG19 +\d+\+\d+ ", out), name
        assert re.search(rf"{name} +random-multiscale +\d+\+\d+ ", out), name
        assert re.search(rf"{name} +Gram all, random VGG19 / multiscale: \S+x \(goal >= 2x", out)
    assert "Gram multiscale" in out and "Gram VGG19" in out and "histogram" in out
    assert re.search(r"met on \d of 3 paintings", out)
