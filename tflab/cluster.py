"""Real multi-process TensorFlow clusters on one machine (lesson 09's launcher).

:func:`launch_local_cluster` starts one process per task (workers, and optionally
parameter servers and a chief/coordinator) on 127.0.0.1 with free ports, gives each
its ``TF_CONFIG`` — exactly what each host of a real cluster would get — runs a
target function in the tasks that train, collects their results and logs, and always
tears the whole cluster down: on success, when a task fails, and on a timeout.

The target is named ``"module:function"`` so that each fresh process can import it;
``pythonpath`` adds folders where such a module lives (lesson 09 writes its training
script to a temporary folder, as TensorFlow's multi-worker tutorials do). It is called
with the ``args`` given and returns something JSON can store. Parameter
servers (and, with ``ps > 0``, the workers) only run a ``tf.distribute.Server`` and
wait: in TF2's parameter-server training the coordinator drives them.

Nothing outlives the launcher, however it ends (an exception, Ctrl-C, SIGTERM, SIGKILL,
a notebook kernel restarted):

- the launcher's ``finally`` stops every task and removes its temporary folder, which
  holds the logs, the results and the ``TMPDIR`` the tasks are given;
- a *janitor* process, told each task's pid, does the same if the launcher dies first
  (it reads a pipe from the launcher; end of file without a "done" means the launcher
  died): it kills each task's process group (the task and what it started) and removes
  the folder;
- each task ends itself when its launcher dies: Linux's parent-death signal
  (``prctl(PR_SET_PDEATHSIG)``), and, anywhere, a thread that watches the pipe the
  launcher holds open as the task's stdin and kills the task's group at end of file.

Each task runs ``python -m tflab.cluster run|serve <target> <result file> <args>``, and
the janitor ``python -m tflab.cluster janitor <folder>`` (:func:`main`); nothing else
runs this module as a program.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["free_ports", "TaskResult", "ClusterError", "launch_local_cluster", "tf_config",
           "task_pids", "main"]

HOST = "127.0.0.1"
LOG_TAIL = 2000  # characters of a task's log an error message quotes

Role = tuple[str, int]


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
    """Stop a task and anything it started (its process group); close our end of its pipe."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()
    if process.stdin:
        process.stdin.close()


def _start_janitor(folder: Path) -> subprocess.Popen:
    """The process that cleans up after this one if it dies (see :func:`_janitor`)."""
    return subprocess.Popen([sys.executable, "-m", "tflab.cluster", "janitor", str(folder)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            start_new_session=True)


def _tell_janitor(janitor: subprocess.Popen, message: str) -> None:
    try:
        janitor.stdin.write(f"{message}\n".encode())
        janitor.stdin.flush()
    except OSError:  # the janitor is gone; the tasks still die with this process
        pass


def _dismiss_janitor(janitor: subprocess.Popen) -> None:
    """Everything is cleaned up: tell the janitor so, and let it exit."""
    _tell_janitor(janitor, "done")
    try:
        janitor.stdin.close()
    except OSError:
        pass
    try:
        janitor.wait(timeout=60)
    except subprocess.TimeoutExpired:
        janitor.kill()
        janitor.wait()


def _watch(processes: dict[Role, subprocess.Popen], trainers: list[Role],
           timeout: float) -> tuple[str, Role | None] | None:
    """Wait until every task that runs the target has finished (``None``), or return why
    the run must end now: ``("failed", role)`` a trainer exited non-zero, ``("ps", role)``
    a parameter server exited at all, ``("workers", None)`` every serving worker exited
    (the coordinator has nowhere to run steps), ``("timeout", None)``."""
    deadline = time.monotonic() + timeout
    while True:
        codes = {role: process.poll() for role, process in processes.items()}
        for role, code in codes.items():
            if role in trainers and code not in (None, 0):
                return "failed", role
            if role[0] == "ps" and code is not None:
                return "ps", role
        if all(codes[role] == 0 for role in trainers):
            return None
        servers = [code for role, code in codes.items()
                   if role[0] == "worker" and role not in trainers]
        if servers and None not in servers:
            return "workers", None
        if time.monotonic() >= deadline:
            return "timeout", None
        time.sleep(0.1)


def _read_result(path: Path) -> tuple[object, str | None]:
    """A task's returned value, or ``None`` and what is wrong with its result file."""
    if not path.exists():
        return None, "exited without writing a result"
    try:
        return json.loads(path.read_text()), None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        return None, (f"wrote an unreadable result ({type(err).__name__}: {err}); "
                      "was it stopped while writing it?")


def _name(result: TaskResult) -> str:
    return f"{result.task_type}:{result.index}"


def _tail(result: TaskResult) -> str:
    return f"its log ends:\n{result.log[-LOG_TAIL:]}"


def launch_local_cluster(target: str, *, workers: int = 2, ps: int = 0, chief: bool = False,
                         args: tuple = (), timeout: float = 300.0,
                         env: dict | None = None,
                         pythonpath: Sequence[str | os.PathLike] = ()) -> list[TaskResult]:
    """Run ``target`` on a cluster of processes on 127.0.0.1; return one result per task.

    - ``ps == 0`` (MultiWorkerMirroredStrategy and friends): every worker (and the
      chief, if ``chief``) runs ``target(*args)``; the call returns when all have.
    - ``ps > 0`` (ParameterServerStrategy): ``workers`` workers and ``ps`` parameter
      servers run a TensorFlow server; a chief (the coordinator) runs ``target``; the
      call returns when the chief does, and the servers are then stopped. A worker may
      die (the coordinator runs its steps on the others); a parameter server may not.

    ``pythonpath`` lists folders put first on every task's import path, so that
    ``target`` may live in a module written there (such as a notebook's
    ``%%writefile`` script); ``env`` adds environment variables. Tasks get a ``TMPDIR``
    of their own, removed with the cluster, unless ``env`` names one.

    Raises :class:`ClusterError`, naming the task and quoting its log, as soon as a task
    that runs ``target`` exits non-zero, a parameter server exits, or every worker of a
    parameter-server cluster has exited; when a task exits 0 without a readable result;
    and after ``timeout`` seconds. In every case, and if this process is killed, no
    process of the cluster is left running and its temporary folder is removed.
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
    servers = [r for r in roles if r not in runs_target]
    trainers = [r for r in roles if r in runs_target]

    folder = Path(tempfile.mkdtemp(prefix="tflab_cluster_"))
    janitor = _start_janitor(folder)
    processes: dict[Role, subprocess.Popen] = {}
    logs = {}
    try:
        (folder / "tmp").mkdir()
        pids: dict[str, list[int]] = {}
        for role in servers + trainers:  # servers first: the coordinator needs them up
            task_type, index = role
            config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
            task_env = {**os.environ, "TMPDIR": str(folder / "tmp"), **(env or {}),
                        "TF_CONFIG": json.dumps(config),
                        "TFLAB_CLUSTER_PIDS": json.dumps(pids), "PYTHONUNBUFFERED": "1"}
            if folders:
                task_env["PYTHONPATH"] = os.pathsep.join(
                    [str(f) for f in folders] + [p for p in [task_env.get("PYTHONPATH")] if p])
            mode = "run" if role in runs_target else "serve"
            logs[role] = open(folder / f"{task_type}{index}.log", "w+")
            processes[role] = subprocess.Popen(
                [sys.executable, "-m", "tflab.cluster", mode, target,
                 str(folder / f"{task_type}{index}.json"), json.dumps(list(args))],
                stdin=subprocess.PIPE, stdout=logs[role], stderr=subprocess.STDOUT,
                env=task_env, start_new_session=True)
            _tell_janitor(janitor, str(processes[role].pid))
            pids.setdefault(task_type, []).append(processes[role].pid)

        ended = _watch(processes, trainers, timeout)
        for process in processes.values():
            _kill(process)
        results, problems = [], {}
        for role in roles:
            logs[role].seek(0)
            value, problem = _read_result(folder / f"{role[0]}{role[1]}.json")
            results.append(TaskResult(*role, processes[role].returncode, value,
                                      logs[role].read(), processes[role].pid))
            if role in trainers and problem:
                problems[role] = problem
    finally:
        for process in processes.values():
            _kill(process)
        for log in logs.values():
            log.close()
        shutil.rmtree(folder, ignore_errors=True)
        _dismiss_janitor(janitor)

    by_role = {(r.task_type, r.index): r for r in results}
    kind, role = ended or (None, None)
    if kind == "failed":
        task = by_role[role]
        raise ClusterError(f"task {_name(task)} failed (exit {task.returncode}); "
                           f"{_tail(task)}", results)
    if kind == "ps":
        task = by_role[role]
        raise ClusterError(f"parameter server {_name(task)} exited (exit {task.returncode}) "
                           "while the cluster ran; its variables are gone, so training "
                           f"cannot go on; {_tail(task)}", results)
    if kind == "workers":
        lost = [r for r in results if r.task_type == "worker"]
        codes = ", ".join(f"{_name(r)} exit {r.returncode}" for r in lost)
        raise ClusterError(f"every worker has exited ({codes}): no task is left to run the "
                           f"coordinator's steps; {_name(lost[-1])}'s {_tail(lost[-1])}",
                           results)
    if kind == "timeout":
        raise ClusterError(f"the cluster did not finish within {timeout:g} s; every task "
                           "was stopped", results)
    if problems:
        role, problem = next(iter(problems.items()))
        task = by_role[role]
        raise ClusterError(f"task {_name(task)} {problem} (exit {task.returncode}); "
                           f"{_tail(task)}", results)
    return results


def _end_own_group() -> None:
    """SIGKILL this task and what it started (its process group, when it leads one)."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _die_with_launcher() -> None:
    """Make this task end when the process that started it ends, however it ends."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1  # <linux/prctl.h>
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if not stat.S_ISFIFO(os.fstat(0).st_mode):
        return  # started by hand, not by the launcher: nothing to watch
    watched = os.dup(0)  # the launcher's pipe; the target gets an empty stdin instead
    empty = os.open(os.devnull, os.O_RDONLY)
    os.dup2(empty, 0)
    os.close(empty)

    def watch() -> None:
        while os.read(watched, 4096):
            pass
        _end_own_group()  # end of file: the launcher has closed its end, or died

    threading.Thread(target=watch, name="tflab-launcher-watch", daemon=True).start()


def _janitor(folder: Path) -> int:
    """Read task pids from stdin, one a line; at end of file without a ``done`` line (the
    launcher died), SIGKILL each task's process group and remove ``folder``."""
    pids = []
    for line in sys.stdin.buffer:
        if not line.endswith(b"\n"):
            break  # the launcher died in the middle of a line
        word = line.strip()
        if word == b"done":
            return 0
        if word.isdigit():
            pids.append(int(word))
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for _ in range(100):  # a task being killed may still finish a write into it
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            break
        time.sleep(0.1)
    return 0


def main(argv: list[str]) -> int:
    """One task of a cluster, ``serve`` (a TensorFlow server) or ``run`` the target; or
    the cluster's ``janitor``."""
    if argv[:1] == ["janitor"]:
        return _janitor(Path(argv[1]))
    mode, target, result_file, args = argv
    _die_with_launcher()
    if mode == "serve":
        import tensorflow as tf

        config = tf_config()
        server = tf.distribute.Server(
            tf.train.ClusterSpec(config["cluster"]), job_name=config["task"]["type"],
            task_index=config["task"]["index"], protocol="grpc", start=True)
        server.join()
        return 0
    from tflab.files import replace_atomically

    module, function = target.split(":")
    value = json.dumps(getattr(importlib.import_module(module), function)(*json.loads(args)))
    with replace_atomically(result_file) as path:  # a task killed now leaves no half result
        path.write_text(value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
