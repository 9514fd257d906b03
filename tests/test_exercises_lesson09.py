"""Lesson 09's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from exercise_checks import failed_with
from tflab import exercises


def test_tf_config_wrong_answers():
    ex = exercises.get("09", 1)
    failed_with(ex, lambda ports, i: {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                      "task": {"type": "worker", "index": str(i)}}, "index an int")
    failed_with(ex, lambda ports, i: {"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                                      "task": {"type": "worker", "index": i}}, "the cluster should be")
    failed_with(ex, lambda ports, i: {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "exactly two keys")


def test_replica_loss_wrong_answers():
    ex = exercises.get("09", 2)
    failed_with(ex, lambda losses, n: np.mean(losses), "Divide by the global batch size")
    failed_with(ex, lambda losses, n: np.sum(losses), "the mean loss of the global batch")


def test_checksum_wrong_answers():
    ex = exercises.get("09", 3)

    def graph_only(path):
        return hashlib.sha256((Path(path) / "saved_model.pb").read_bytes()).hexdigest()

    def names_only(path):
        root = Path(path)
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
        return hashlib.sha256("\n".join(names).encode()).hexdigest()

    def with_mtimes(path):
        root = Path(path)
        stamps = sorted(f"{p.relative_to(root)}:{p.stat().st_mtime}" for p in root.rglob("*"))
        return hashlib.sha256("\n".join(stamps).encode()).hexdigest()

    failed_with(ex, graph_only, "a changed byte in the variables")
    failed_with(ex, names_only, "a changed byte in the variables")
    failed_with(ex, with_mtimes, "modification times")
    failed_with(ex, lambda path: 1234, "should return a string")
