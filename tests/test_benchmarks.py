"""The benchmark scripts run and print their whole table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_solvers_benchmark_prints_every_method_and_the_ratio():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "solvers.py"), "--repeats", "1"],
                         capture_output=True, text=True, check=True, env=os.environ.copy(),
                         timeout=600).stdout
    for name in ["exact solve", "seed GD", "seed remedy", "centre and scale x", "Adam",
                 "schedule", "steepest descent", "conjugate gradients"]:
        assert name in out, name
    assert "420,000" in out and "faster than the seed's remedy" in out
