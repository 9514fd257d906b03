"""Exact least squares vs gradient descent on the fire/theft data (lesson 02).

Prints one table: the exact solve, the seed's gradient-descent runs, and every remedy of
``tflab.solvers.remedies`` — time, parameter updates, error against the exact answer —
and the ratio of the seed's remedy to the exact solve (goal: at least 1000×).

    .venv/bin/python benchmarks/solvers.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

from tflab import data, machine, solvers


def fastest(runs):
    """The run (a history or remedy, with ``.seconds``) that took the least time."""
    return min(runs, key=lambda run: run.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each method; the fastest is reported (default 3)")
    args = parser.parse_args()
    repeats = max(1, args.repeats)

    matmul = machine.matmul_gflops()
    x, y = data.fire_theft()
    # one example of y = w·x + b: 2 FLOPs forward, TRAINING_FACTOR× that with its gradient
    update_flops = machine.TRAINING_FACTOR * machine.dense_flops([1, 1])
    exact = solvers.exact_least_squares(x, y)
    calls = 10_000
    batches = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            solvers.exact_least_squares(x, y)
        batches.append(time.perf_counter() - start)
    exact_seconds = min(batches) / calls

    rows = [("exact solve (closed form, NumPy)", 0, exact_seconds, 0.0)]
    for name, rate, epochs in [("seed GD: rate 1e-3, 100 epochs", 1e-3, 100),
                               ("seed remedy: rate 1e-5, 10,000 epochs", 1e-5, 10_000)]:
        run = fastest([solvers.gradient_descent(x, y, learning_rate=rate, epochs=epochs)
                       for _ in range(repeats)])
        rows.append((name, run.updates, run.seconds, run.fit.error(exact)))
    seed_seconds = rows[-1][2]
    trials = [solvers.remedies(x, y) for _ in range(repeats)]
    for same in zip(*trials):
        r = fastest(same)
        if r.name != "closed form":
            rows.append((r.name, r.updates, r.seconds, r.error))

    print(machine.matmul_line(matmul))
    print(f"{'method':46s} {'updates':>9s} {'seconds':>11s} {'error':>9s} {'× exact':>11s}   "
          f"work (seed GD: one example per update)")
    for i, (name, updates, seconds, error) in enumerate(rows):
        work = machine.share(updates * update_flops, seconds, matmul) if i in (1, 2) else "-"
        print(f"{name:46s} {updates:9,d} {seconds:11.6f} {error:9.1e} "
              f"{seconds / exact_seconds:11.1e}   {work}")
    ratio = seed_seconds / exact_seconds
    print(f"\nthe exact solve is {ratio:.1e}× faster than the seed's remedy "
          f"(goal ≥ 1000×: {'met' if ratio >= 1000 else 'NOT met'})")


if __name__ == "__main__":
    main()
