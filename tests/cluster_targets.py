"""Targets for the launcher tests: run in child processes (PYTHONPATH points here)."""

import os
import time


def answer(x):
    return {"x": x, "pid": os.getpid()}


def crash_on_worker_1():
    from tflab.distributed import tf_config

    if tf_config()["task"]["index"] == 1:
        raise RuntimeError("worker 1 fails on purpose")
    time.sleep(60)
    return "never"


def sleep_forever():
    time.sleep(3600)
