"""Targets for the launcher tests: run in child processes (PYTHONPATH points here).

None of them imports TensorFlow, so the launcher's tests that use them take seconds.
The ones that damage their own result file find it where ``python -m tflab.cluster``
puts it: ``sys.argv[3]`` (``run <target> <result file> <args>``).
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


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


def report_and_sleep(folder):
    """Make a temporary folder, start a child process, write both pids to ``folder``
    (one empty file per pid), then sleep: a task that would serve forever."""
    made = tempfile.mkdtemp(prefix="tflab_task_")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    for pid in (child.pid, os.getpid()):  # the task's own pid last: the test counts these
        (Path(folder) / f"{pid}.pid").write_text(made)
    time.sleep(3600)


def die_while_writing_result():
    """Write half a result, as a task killed in the middle of writing it leaves."""
    print("about to be killed while writing", flush=True)
    Path(sys.argv[3]).write_text('{"weights": [[0.12, 0.3')
    os.kill(os.getpid(), signal.SIGKILL)


def exit_with_garbled_result():
    """Leave a result that is not JSON and exit with status 0."""
    Path(sys.argv[3]).write_bytes(b"\xff\xfe not json")
    os._exit(0)


def exit_without_result():
    """Exit with status 0 before the result is written."""
    os._exit(0)


def kill_parameter_server():
    """The coordinator kills parameter server 0, then waits as if for a training step."""
    from tflab.cluster import task_pids

    os.kill(task_pids()["ps"][0], signal.SIGKILL)
    time.sleep(3600)


def kill_worker_1_and_finish():
    """The coordinator kills worker 1 and finishes once the launcher has seen it exit (it
    is gone, not a zombie; at most 60 s): losing a worker is survivable."""
    from tflab.cluster import task_pids

    pid = task_pids()["worker"][1]
    os.kill(pid, signal.SIGKILL)
    for _ in range(600):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    return pid


def kill_every_worker():
    """The coordinator kills every worker, then waits for a step no one can run."""
    from tflab.cluster import task_pids

    for pid in task_pids()["worker"]:
        os.kill(pid, signal.SIGKILL)
    time.sleep(3600)
