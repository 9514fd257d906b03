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
    assert re.search(MATMUL, out)
    assert re.search(rf"seed GD: rate 1e-3, 100 epochs .* {SHARE}\n", out)


SHARE = r"\S+ GFLOP/s = +\S+ % of matmul"  # machine.share
MATMUL = r"float32 matmul on this machine \(1024×1024, best of runs\): \d+\.\d GFLOP/s"


def test_scoring_benchmark_prints_footprint_throughput_and_shares():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scoring.py"), "--quick"],
                         capture_output=True, text=True, check=True, env=os.environ.copy(),
                         timeout=600).stdout
    assert re.search(MATMUL, out)
    # counted from the layers: 2·(5·5·1·32·28² + 5·5·32·64·14² + 3136·1024 + 1024·10)
    assert "FLOPs per image (Dense/Conv2D layers of the seed CNN): 27,767,808" in out
    assert re.search(rf"training: 20 steps of 50 in \S+ s \(goal ≤ 75 s\); +{SHARE} "
                     r"\(forward\+backward = 3× forward\)", out)
    assert "peak memory after training" in out
    # variables/ MB, × weights, then three memory columns: each export stores 1× or 2× weights
    number = r" +\d+(\.\d)?"
    assert re.search(rf"before: ExportArchive with track\(model\) +26\.20 +2\.000{number * 3}\n",
                     out)
    assert re.search(rf"now: saving.export_saved_model +13\.10 +1\.000{number * 3}\n", out)
    assert re.search(r"scoring 300 images +seconds +images/s +ms/image +share of matmul", out)
    for name in ["one image per call: handle.predict (NumPy in/out)",
                 "one image: signature, prepared tensor",
                 "one image: concrete function [1, 784], prepared",
                 "one image: same, XLA (jit_compile=True)", "batches of 1000: handle.predict",
                 "batches of 1000: signature, prepared tensors", "8 threads, one image per call",
                 "8 threads, batches of 125"]:
        assert re.search(rf"{re.escape(name)} +\d+\.\d\d +[\d,]+ +\d+\.\d{{3}} +{SHARE}", out), name
    assert re.search(r"batched scoring: \S+ % of matmul \(goal ≥ 80 %: (met|NOT met)\); one "
                     r"image per call, fastest way: \S+ ms \(goal ≤ 1 ms: (met|NOT met)\)", out)
    assert "20×" not in out  # the retired goal, batched ≥ 20× per-image


def test_style_benchmark_prints_steps_and_inference():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "style.py"), "--sizes", "64",
                          "--steps", "1"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    assert re.search(MATMUL, out)
    assert re.search(rf"optimisation step at 64 px \(random VGG19\) +\d+\.\d+ +{SHARE}\n", out)
    assert re.search(rf"fast network, one 64 px photo +\d+\.\d+ +{SHARE} \(goal ≤ 1 s\)", out)


def test_distributed_benchmark_prints_all_four_set_ups():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "distributed.py"), "--steps",
                          "20"], capture_output=True, text=True, check=True,
                         env=os.environ.copy(), timeout=600).stdout
    assert re.search(MATMUL, out)
    assert "work (320 FLOPs forward per example)" in out  # 2·(8·16 + 16·2), toy MLP
    for name in ["1 process", "MirroredStrategy", "MultiWorkerMirrored", "ParameterServer"]:
        assert re.search(rf"{name}.* {SHARE}\n", out), name


def test_estimator_benchmark_prints_every_runner_and_the_ratios():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "estimator.py"),
                          "--steps", "20", "--repeats", "1"], capture_output=True, text=True,
                         check=True, env=os.environ.copy(), timeout=600).stdout
    assert re.search(MATMUL, out)
    assert "440 FLOPs per patient forward, dense [10, 10, 10, 2]" in out  # 2·(100+100+20)
    assert len(re.findall(SHARE, out)) == 4
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
