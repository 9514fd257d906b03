"""Distributed training on this machine (lesson 09): steps per second, four set-ups.

Trains the toy model of ``tflab.distributed`` for the same number of steps with a
global batch of 32: in one process, with MirroredStrategy over 2 logical CPU devices,
with MultiWorkerMirroredStrategy on 2 worker processes, and with ParameterServerStrategy
(coordinator, 2 workers, 1 parameter server). Prints one table. On a 2-core machine
expect no speed-up: the processes share the same cores, and the model is tiny.

    .venv/bin/python benchmarks/distributed.py [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from tflab import distributed

TARGET = 0.95  # training accuracy for the time-to-accuracy column


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    n = args.steps
    rows = []
    code = ("import json; from tflab import distributed as d; "
            f"print(json.dumps(d.single_process_train({n}, {TARGET})))")
    single = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True).stdout.strip().splitlines()[-1])
    rows.append(("1 process", single["seconds"], single["accuracy"],
                 single["seconds_to_target"]))
    code = ("import json; from tflab import distributed as d; "
            f"print(json.dumps(d.mirrored_vs_single({n})))")
    mirrored = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                         text=True, check=True).stdout.strip().splitlines()[-1])
    rows.append(("MirroredStrategy, 2 logical CPUs", mirrored["seconds"], mirrored["accuracy"],
                 None))
    workers = distributed.launch_local_cluster("tflab.distributed:multi_worker_train",
                                               workers=2, args=(n, None, "toy", TARGET),
                                               timeout=600)
    rows.append(("MultiWorkerMirrored, 2 worker processes",
                 max(r.value["seconds"] for r in workers), workers[0].value["accuracy"],
                 max(r.value["seconds_to_target"] or float("inf") for r in workers)))
    (chief, *_) = distributed.launch_local_cluster("tflab.distributed:parameter_server_train",
                                                   workers=2, ps=1, args=(n,), timeout=600)
    rows.append(("ParameterServer: 2 workers, 1 ps", chief.value["seconds"],
                 chief.value["accuracy"], None))
    print(f"{'set-up (' + str(n) + ' steps, global batch 32)':44s} {'steps/s':>8s} "
          f"{'accuracy':>9s} {'s to ' + format(TARGET, '.0%'):>9s}")
    for name, seconds, accuracy, to_target in rows:
        shown = "-" if to_target is None else f"{to_target:.2f}"
        print(f"{name:44s} {n / seconds:8.0f} {accuracy:9.3f} {shown:>9s}")
    print("(time to accuracy is measured for 1 process and 2 workers; tracing included)")


if __name__ == "__main__":
    main()
