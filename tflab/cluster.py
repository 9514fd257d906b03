"""Real multi-process TensorFlow clusters on one machine (lesson 09's launcher).

:func:`launch_local_cluster` starts one process per task (workers, and optionally
parameter servers and a chief/coordinator) on 127.0.0.1 with free ports, gives each
its ``TF_CONFIG`` — exactly what each host of a real cluster would get — runs a
target function in the tasks that train, collects their results and logs, and always
tears the whole cluster down: on success, when a process fails, and on a timeout.

The target is named ``"module:function"`` so that each fresh process can import it;
``pythonpath`` adds folders where such a module lives (lesson 09 writes its training
script to a temporary folder, as TensorFlow's multi-worker tutorials do). It is called
with the ``args`` given and returns something JSON can store. Parameter
servers (and, with ``ps > 0``, the workers) only run a ``tf.distribute.Server`` and
wait: in TF2's parameter-server training the coordinator drives them.

Each task runs ``python -m tflab.cluster run|serve <target> <result file> <args>``
(:func:`main`); nothing else runs this module as a program.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["free_ports", "TaskResult", "ClusterError", "launch_local_cluster", "tf_config",
           "task_pids", "main"]

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    """A task failed or the cluster ran out of time; ``results`` holds what each task did."""

    def __init__(self, message: str, results: list[TaskResult]):
        super().__init__(message)
        self.results = results


@dataclass
class TaskResult:
    """What one task of the cluster did."""

    task_type: str
    index: int
    returncode: int | None
    value: object
    log: str
    pid: int


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config() -> dict:
    """This process's ``TF_CONFIG`` as a dict (empty outside a cluster)."""
    return json.loads(os.environ.get("TF_CONFIG", "{}"))


def task_pids() -> dict[str, list[int]]:
    """Process ids of the cluster's tasks, by task type (for fault-tolerance demos)."""
    return json.loads(os.environ.get("TFLAB_CLUSTER_PIDS", "{}"))


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the task and anything it started
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def launch_local_cluster(target: str, *, workers: int = 2, ps: int = 0, chief: bool = False,
                         args: tuple = (), timeout: float = 300.0,
                         env: dict | None = None,
                         pythonpath: Sequence[str | os.PathLike] = ()) -> list[TaskResult]:
    """Run ``target`` on a cluster of processes on 127.0.0.1; return one result per task.

    - ``ps == 0`` (MultiWorkerMirroredStrategy and friends): every worker (and the
      chief, if ``chief``) runs ``target(*args)``; the call returns when all have.
    - ``ps > 0`` (ParameterServerStrategy): ``workers`` workers and ``ps`` parameter
      servers run a TensorFlow server; a chief (the coordinator) runs ``target``; the
      call returns when the chief does, and the servers are then stopped.

    ``pythonpath`` lists folders put first on every task's import path, so that
    ``target`` may live in a module written there (such as a notebook's
    ``%%writefile`` script); ``env`` adds environment variables.

    Raises :class:`ClusterError` when a task that runs ``target`` fails, or after
    ``timeout`` seconds; in every case no process of the cluster is left running.
    """
    if ":" not in target:
        raise ValueError(f"target must be 'module:function', not {target!r}")
    if workers < 1 or ps < 0:
        raise ValueError(f"need at least one worker and no negative counts, got "
                         f"workers={workers}, ps={ps}")
    if isinstance(pythonpath, (str, os.PathLike)):
        raise TypeError(f"pythonpath must be a list of folders, not the single "
                        f"{type(pythonpath).__name__} {str(pythonpath)!r}: "
                        f"write [{str(pythonpath)!r}]")
    folders = [Path(f).resolve() for f in pythonpath]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise ValueError(f"pythonpath must list existing folders; not a folder: {missing}")
    chief = chief or ps > 0
    roles = [("chief", 0)] if chief else []
    roles += [("worker", i) for i in range(workers)] + [("ps", i) for i in range(ps)]
    ports = iter(free_ports(len(roles)))
    cluster: dict[str, list[str]] = {}
    for task_type, _ in roles:
        cluster.setdefault(task_type, []).append(f"{HOST}:{next(ports)}")
    runs_target = {("chief", 0)} if ps > 0 else set(roles)

    folder = Path(tempfile.mkdtemp(prefix="tflab_cluster_"))
    processes: dict[tuple[str, int], subprocess.Popen] = {}
    logs = {}
    try:
        servers = [r for r in roles if r not in runs_target]
        trainers = [r for r in roles if r in runs_target]
        pids: dict[str, list[int]] = {}
        for role in servers + trainers:  # servers first: the coordinator needs them up
            task_type, index = role
            config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
            task_env = dict(os.environ, **(env or {}), TF_CONFIG=json.dumps(config),
                            TFLAB_CLUSTER_PIDS=json.dumps(pids), PYTHONUNBUFFERED="1")
            if folders:
                task_env["PYTHONPATH"] = os.pathsep.join(
                    [str(f) for f in folders] + [p for p in [task_env.get("PYTHONPATH")] if p])
            mode = "run" if role in runs_target else "serve"
            result_file = folder / f"{task_type}{index}.json"
            logs[role] = open(folder / f"{task_type}{index}.log", "w+")
            processes[role] = subprocess.Popen(
                [sys.executable, "-m", "tflab.cluster", mode, target, str(result_file),
                 json.dumps(list(args))],
                stdout=logs[role], stderr=subprocess.STDOUT, env=task_env,
                start_new_session=True)
            pids.setdefault(task_type, []).append(processes[role].pid)

        deadline = time.monotonic() + timeout
        failed = None
        while time.monotonic() < deadline:
            codes = {r: processes[r].poll() for r in trainers}
            failed = next((r for r, c in codes.items() if c not in (None, 0)), None)
            if failed or all(c == 0 for c in codes.values()):
                break
            time.sleep(0.1)
        timed_out = time.monotonic() >= deadline and failed is None and \
            any(processes[r].poll() is None for r in trainers)
    finally:
        for process in processes.values():
            _kill(process)

    results = []
    for role in roles:
        task_type, index = role
        log = logs[role]
        log.seek(0)
        text = log.read()
        log.close()
        result_file = folder / f"{task_type}{index}.json"
        value = json.loads(result_file.read_text()) if result_file.exists() else None
        results.append(TaskResult(task_type, index, processes[role].returncode, value, text,
                                  processes[role].pid))
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    if failed:
        task = next(r for r in results if (r.task_type, r.index) == failed)
        raise ClusterError(f"task {failed[0]}:{failed[1]} failed (exit {task.returncode}); "
                           f"its log ends:\n{task.log[-2000:]}", results)
    if timed_out:
        raise ClusterError(f"the cluster did not finish within {timeout:g} s; every task "
                           "was stopped", results)
    return results


def main(argv: list[str]) -> int:
    """One task of a cluster: ``serve`` (a TensorFlow server) or ``run`` the target."""
    mode, target, result_file, args = argv
    if mode == "serve":
        import tensorflow as tf

        config = tf_config()
        server = tf.distribute.Server(
            tf.train.ClusterSpec(config["cluster"]), job_name=config["task"]["type"],
            task_index=config["task"]["index"], protocol="grpc", start=True)
        server.join()
        return 0
    module, function = target.split(":")
    value = getattr(importlib.import_module(module), function)(*json.loads(args))
    Path(result_file).write_text(json.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
