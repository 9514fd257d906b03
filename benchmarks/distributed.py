"""Distributed training on this machine (lesson 09): steps per second, four set-ups.

Trains lesson 09's toy model for the same number of steps with a global batch of 32,
with the training step the notebook writes (its ``%%writefile`` cells, written again to
a temporary folder): in one process, with MirroredStrategy over 2 logical CPU devices,
with MultiWorkerMirroredStrategy on 2 worker processes, and with ParameterServerStrategy
(coordinator, 2 workers, 1 parameter server). Prints one table. On a 2-core machine
expect no speed-up: the processes share the same cores, and the model is tiny.

    .venv/bin/python benchmarks/distributed.py [--steps 200] [--json]

``--json`` adds one last line: the rows as JSON (lesson 09 runs it and reads that line).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tflab import cluster, machine
from tflab.source import write_notebook_scripts

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "notebooks" / "09_distributed_training.ipynb"
TARGET = 0.95  # training accuracy for the time-to-accuracy column


def timed_train(setup: str, steps: int, target: float = TARGET) -> dict:
    """A cluster task: run the notebook's ``train`` under ``setup`` ("one", "mirrored" or
    "multi_worker") and time it. The training accuracy is checked every 10 steps until it
    reaches ``target``; the time spent checking is left out of both times, so that they compare
    with the parameter-server run, which does not check."""
    import tensorflow as tf

    from tflab import machine, models

    if setup == "mirrored":  # before TensorFlow starts: split the CPU in two
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(2)])
    import lesson09_train as lesson

    strategy = {"one": tf.distribute.get_strategy,
                "mirrored": tf.distribute.MirroredStrategy,
                "multi_worker": tf.distribute.MultiWorkerMirroredStrategy}[setup]()
    x, y, _ = lesson.load("toy")
    reached, checking = None, 0.0  # seconds to the target; seconds spent checking
    start = time.perf_counter()

    def on_step(i: int, model) -> None:
        nonlocal reached, checking
        if reached is None and i % 10 == 9:
            began = time.perf_counter()
            if models.accuracy(model, x, y) >= target:
                reached = began - start - checking
            checking += time.perf_counter() - began

    model = lesson.train(strategy, steps, on_step=on_step)
    seconds = time.perf_counter() - start - checking
    return {"seconds": seconds, "seconds_to_target": reached,
            "accuracy": models.accuracy(model, x, y), "flops": machine.forward_flops(model)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="end with the rows as JSON")
    args = parser.parse_args()
    n = args.steps
    matmul = machine.matmul_gflops()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tflab_09_") as scripts:
        write_notebook_scripts(NOTEBOOK, scripts)
        path = [HERE, scripts]  # this file's timed_train, and the notebook's training step
        target = "distributed:timed_train"
        for name, setup, workers in [("1 process", "one", 1),
                                     ("MirroredStrategy, 2 logical CPUs", "mirrored", 1),
                                     ("MultiWorkerMirrored, 2 worker processes",
                                      "multi_worker", 2)]:
            results = [r.value for r in cluster.launch_local_cluster(
                target, workers=workers, args=(setup, n), timeout=600, pythonpath=path)]
            rows.append((name, max(r["seconds"] for r in results), results[0]["accuracy"],
                         None if setup == "mirrored" else
                         max(r["seconds_to_target"] or float("inf") for r in results)))
            flops = results[0]["flops"]  # one example's forward pass; the same model each time
    (chief, *_) = cluster.launch_local_cluster("tflab.distributed:parameter_server_train",
                                               workers=2, ps=1, args=(n,), timeout=600)
    rows.append(("ParameterServer: 2 workers, 1 ps", chief.value["seconds"],
                 chief.value["accuracy"], None))
    work = machine.TRAINING_FACTOR * flops * 32 * n  # forward + backward, global batch 32
    print(machine.matmul_line(matmul))
    print(f"{'set-up (' + str(n) + ' steps, global batch 32)':44s} {'steps/s':>8s} "
          f"{'accuracy':>9s} {'s to ' + format(TARGET, '.0%'):>9s}   work ({flops} FLOPs "
          f"forward per example)")
    for name, seconds, accuracy, to_target in rows:
        shown = "-" if to_target is None else f"{to_target:.2f}"
        print(f"{name:44s} {n / seconds:8.0f} {accuracy:9.3f} {shown:>9s}   "
              f"{machine.share(work, seconds, matmul)}")
    print("(time to accuracy is measured for 1 process and 2 workers; tracing included, the "
          "accuracy checks left out)")
    if args.json:
        print(json.dumps([{"setup": name, "steps_per_second": n / seconds, "accuracy": accuracy,
                           "seconds_to_target": to_target}
                          for name, seconds, accuracy, to_target in rows]))


if __name__ == "__main__":
    main()
