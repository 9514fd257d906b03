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
                                      "task": {"type": "worker", "index": i}},
                "the cluster should be")
    failed_with(ex, lambda ports, i: {"worker": [f"127.0.0.1:{p}" for p in ports]},
                "exactly two keys")
    # gaming: ignores its input, the lesson's three ports and worker 0
    failed_with(ex, lambda ports, i: {"cluster": {"worker": ["127.0.0.1:23456", "127.0.0.1:23457",
                                                             "127.0.0.1:23458"]},
                                      "task": {"type": "worker", "index": 0}},
                "for worker 2 the task should be")


def test_replica_loss_wrong_answers():
    ex = exercises.get("09", 2)
    failed_with(ex, lambda losses, n: np.mean(losses), "Divide by the global batch size")
    failed_with(ex, lambda losses, n: np.sum(losses), "the mean loss of the global batch")
    # gaming: the number of replicas hard-coded to 2 (right for the first check only)
    failed_with(ex, lambda losses, n: np.mean(losses) / 2, "summed over 4 replicas")
    failed_with(ex, lambda losses, n: 0.75, "the mean loss of the global batch")  # a constant


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
    failed_with(ex, lambda path: "0" * 64, "did not change the checksum")  # gaming: a constant

    def absolute_names(path):  # hashes the absolute paths: two copies never agree
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.resolve()).encode() + p.read_bytes())
        return digest.hexdigest()

    failed_with(ex, absolute_names, "two folders with identical files gave different checksums")
