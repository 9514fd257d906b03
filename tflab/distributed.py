"""Real multi-process TensorFlow clusters on one machine, for lesson 09.

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
           "task_pids", "toy_data", "write_notebook_scripts", "parameter_server_train",
           "score_shared_model"]

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    """A task failed or the cluster ran out of time; ``results`` holds what each task did."""

    def __init__(self, message: str, results: list["TaskResult"]):
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
                        f"{type(pythonpath).__name__} {str(pythonpath)!r}: write [{str(pythonpath)!r}]")
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
                [sys.executable, "-m", "tflab.distributed", mode, target, str(result_file),
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


def _main(argv: list[str]) -> int:
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
    sys.exit(_main(sys.argv[1:]))


# --------------------------------------------------------------------------- lesson 09's training

def write_notebook_scripts(notebook: str | os.PathLike, folder: str | os.PathLike) -> list[Path]:
    """Write the ``%%writefile`` cells of ``notebook`` into ``folder``; return the files.

    Lesson 09 writes its training script in a notebook cell (``%%writefile``), as
    TensorFlow's multi-worker tutorials do; tests and benchmarks run that one copy
    by writing it again to a folder of their own and passing it as ``pythonpath``.
    """
    cells = json.loads(Path(notebook).read_text())["cells"]
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder must be an existing folder, not {str(folder)!r}")
    written = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or not source.startswith("%%writefile "):
            continue
        line, _, body = source.partition("\n")
        name = Path(line.split()[-1].replace("}", "/")).name  # e.g. {SCRIPTS}/train.py
        written.append(folder / name)
        written[-1].write_text(body if body.endswith("\n") else body + "\n")
    if not written:
        raise ValueError(f"{notebook} has no %%writefile cell")
    return written


GLOBAL_BATCH = 32


def toy_data(n: int = 512, seed: int = 0):
    """A small deterministic classification problem: ``n`` points with 8 standard-normal
    features; the class is 1 where the weighted sum ``1*x1 + 2*x2 + ... + 8*x8`` is positive."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x @ np.arange(1, 9) > 0).astype("int32")
    return x, y


def score_shared_model(path: str, sha256: str) -> dict:
    """A cluster task: verify an MNIST SavedModel's checksum, then load it and score.

    Every node needs the model file; here it reads it from a shared path and refuses
    a copy whose checksum differs from the one the chief published.
    """
    from tflab import serving

    found = serving.folder_sha256(path)
    if found != sha256:
        raise serving.ModelError(f"{path}: checksum {found[:12]}… is not the expected "
                                 f"{sha256[:12]}…; refusing to use this copy")
    import numpy as np

    from tflab import data

    validation = data.mnist(flatten=True).validation
    with serving.load(path, scope="block") as model:  # lesson 05's loader
        scores = serving.score_batched(model, validation.images)
    return {"task": tf_config()["task"],
            "accuracy": float(np.mean(scores.argmax(1) == validation.labels))}


def parameter_server_train(steps: int, kill_worker_at: int | None = None) -> dict:
    """The coordinator of a ParameterServerStrategy cluster (run it as the chief task).

    Schedules ``steps`` asynchronous training steps on the workers with
    ``ClusterCoordinator``. With ``kill_worker_at``, it waits until that many steps have
    run, kills worker 1 (SIGKILL), and only then schedules the remaining steps: worker 1's
    closures fail, the coordinator puts them back in its queue and worker 0 runs them.
    Returns the steps run (all, and before the kill), the final accuracy on the training
    data, the seconds taken and the killed worker's process id.
    """
    if kill_worker_at is not None and not 0 < kill_worker_at < steps:
        raise ValueError(f"kill_worker_at must be between 1 and steps - 1 ({steps - 1}), "
                         f"not {kill_worker_at!r}")
    import signal as signals
    import time as timing

    import keras
    import numpy as np
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    strategy = tf.distribute.ParameterServerStrategy(resolver)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    x, y = toy_data()
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        optimizer = keras.optimizers.SGD(0.1)
        counter = tf.Variable(0, dtype=tf.int64)

    def dataset_fn():
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(512, seed=0).repeat() \
            .batch(GLOBAL_BATCH)

    iterator = iter(coordinator.create_per_worker_dataset(dataset_fn))

    @tf.function
    def step(iterator):
        def replica_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yb, model(xb)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            counter.assign_add(1)
            return loss

        return strategy.run(replica_step, args=next(iterator))

    start = timing.perf_counter()
    killed, before_kill = None, None
    for i in range(steps):
        if i == kill_worker_at:
            coordinator.join()  # the first `kill_worker_at` steps have run: a barrier
            before_kill = int(counter.numpy())
            killed = task_pids()["worker"][1]
            os.kill(killed, signals.SIGKILL)  # every later step meets a dead worker 1
        coordinator.schedule(step, args=(iterator,))
    coordinator.join()
    seconds = timing.perf_counter() - start
    logits = model(x)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y))
    return {"steps": int(counter.numpy()), "steps_before_kill": before_kill,
            "accuracy": accuracy, "seconds": seconds, "killed_worker_pid": killed}
