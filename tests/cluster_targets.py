"""Targets for the launcher tests: run in child processes (PYTHONPATH points here)."""

import os
import tempfile
import time


def answer(x):
    return {"x": x, "pid": os.getpid()}


def crash_on_worker_1():
    from tflab.cluster import tf_config

    if tf_config()["task"]["index"] == 1:
        raise RuntimeError("worker 1 fails on purpose")
    time.sleep(60)
    return "never"


def make_worker_folder():
    """Make a folder as lesson 09's non-chief workers do, and leave it there."""
    return tempfile.mkdtemp(prefix="tflab_worker_")


def sleep_forever():
    time.sleep(3600)
