"""Exercises of lesson 02b, the deep dive: the epoch map, its fixed point and its radius."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    calls_of,
    number,
    numbers,
    pair,
    require_callable,
)

#: The gradient oracle of 02b.3, run in a child process: it holds the targets y (drawn there for
#: the unseen data sets, so that they never exist in the checker's process), counts the
#: gradient evaluations and gives the exact line only once, to the checker's verdict request.
_ORACLE = r"""
import json, sys
import numpy as np

x = y = None
calls, judged = 0, False
sets = judges = 0  # the checker knows how many of each it asked for: extra ones show
for line in sys.stdin:
    msg = json.loads(line)
    if "x" in msg and (x is None or judged):  # a new data set only once the last was judged
        sets += 1
        x = np.array(msg["x"], dtype=np.float64)
        y = (np.array(msg["y"], dtype=np.float64) if msg["y"] is not None else
             3.0 * x - 7.0 + np.random.default_rng().normal(0, 2, len(x)))
        calls, judged = 0, False
        reply = {}
    elif "grad" in msg and not judged:
        calls += 1
        w, b, u = msg["grad"]
        u = np.array(u, dtype=np.float64)
        design = np.stack([x, np.ones_like(x)], axis=1)
        if u.shape != x.shape:
            reply = {"error": f"gradient(w, b, inputs) needs one input per example ({len(x)}); "
                              f"it got {u.size}"}
        else:
            scale, shift = np.linalg.lstsq(design, u, rcond=None)[0]
            if np.max(np.abs(scale * x + shift - u)) > 1e-9 * (1 + np.max(np.abs(u))):
                reply = {"error": "gradient(w, b, inputs) takes x or a rescaled copy a·x + c as "
                                  "inputs, nothing else"}
            else:
                residual = w * u + b - y
                reply = {"g": [float(2 * np.mean(residual * u)), float(2 * np.mean(residual))]}
    elif "judge" in msg and not judged:
        judged, judges = True, judges + 1
        coef, intercept = np.polyfit(x, y, 1)
        reply = {"calls": calls, "exact": [float(coef), float(intercept)], "sets": sets,
                 "judges": judges}
    else:
        reply = {"tampered": True}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"""


_TALKED = ("your fit talked to the checker's gradient process directly: only call "
           "gradient(w, b, inputs)")


class _Oracle:
    """The child process that holds y; ``gradient`` is the only thing the answer is handed."""

    def __init__(self) -> None:
        import subprocess
        import sys

        self._process = subprocess.Popen([sys.executable, "-c", _ORACLE], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)

    def ask(self, message: dict) -> dict:
        import json

        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()
        reply = json.loads(self._process.stdout.readline() or '{"tampered": true}')
        if reply.get("tampered"):
            raise Failed(_TALKED)
        return reply

    def close(self) -> None:
        self._process.kill()
        self._process.wait()

    def gradient_function(self, case: int):
        ask, calls = self.ask, []

        def gradient(w, b, inputs):
            """(dL/dw, dL/db) of L = mean((w·inputs + b − y)²) for targets you do not see; each
            call counts as one parameter update."""
            calls.append(1)
            if len(calls) > 100:  # no need to wait for the end of a slow descent
                raise Failed(f"on data set {case} fit made more than 100 calls of gradient, "
                             "that is updates (needs ≤ 100)")
            w, b = number(w, "w given to gradient"), number(b, "b given to gradient")
            u = numbers(inputs, "inputs given to gradient").ravel()
            reply = ask({"grad": [w, b, u.tolist()]})
            if "error" in reply:
                raise Failed(reply["error"])
            return tuple(reply["g"])

        return gradient


def _fast_fit(answer) -> str:
    """The answer is fit(x, gradient) -> (slope, intercept); the checker counts the gradient
    evaluations itself, on the fire/theft data and on two data sets the learner has not seen,
    whose targets exist only in another process."""
    from tflab import data

    require_callable(answer, "fit(x, gradient) returning (slope, intercept)")
    rng = np.random.default_rng(2026)
    fire, theft = data.fire_theft()
    cases = [(fire, theft), (rng.uniform(0, 100, 60), None), (rng.normal(50, 5, 30), None)]
    oracle = _Oracle()
    try:
        for i, (x, y) in enumerate(cases):
            x = np.asarray(x, dtype=np.float64)
            oracle.ask({"x": x.tolist(), "y": None if y is None else np.asarray(y).tolist()})
            result = call(answer, x.copy(), oracle.gradient_function(i + 1))
            try:
                coef, intercept = result
            except (TypeError, ValueError):
                raise Failed("fit should return two numbers: (slope, intercept), "
                             f"not {result!r}"[:300]) from None
            coef, intercept = number(coef, "the slope"), number(intercept, "the intercept")
            verdict = oracle.ask({"judge": True})  # only now, once the answer has returned
            if verdict["sets"] != i + 1 or verdict["judges"] != i + 1:  # it asked for more
                raise Failed(_TALKED)
            calls, exact = verdict["calls"], verdict["exact"]
            if calls == 0:
                raise Failed(f"on data set {i + 1} fit never called gradient: you do not get "
                             "y, so the line can only come from the gradients you are given; "
                             "call gradient(w, b, inputs) and step with what it returns")
            if calls > 100:
                raise Failed(f"on data set {i + 1} it took {calls} calls of gradient, "
                             "that is updates (needs ≤ 100)")
            error = max(abs(coef - exact[0]), abs(intercept - exact[1]))
            if error > 1e-4:
                raise Failed(f"on data set {i + 1} your line is {error:.2g} away from the exact "
                             f"answer (needs ≤ 1e-4) after {calls} calls of gradient")
    finally:
        oracle.close()
    return "within 1e-4 of the exact answer in ≤ 100 gradient updates on all three data sets."


def _data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy line the learner has not seen."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    return x, 1.5 * x + 3.0 + rng.normal(0, 2.0, n)


def _limit_point(answer) -> str:
    from tflab import solvers

    require_callable(answer, "limit_point(x, y, learning_rate) returning (slope, intercept)")
    for seed, n, share in ((3, 20, 0.3), (4, 35, 0.7), (5, 12, 0.05)):
        x, y = _data(seed, n)
        rate = share * solvers.stability_bound(x, batch_size=1)
        rule = ("your function calls solvers.limit_point or solvers.epoch_map, which do the "
                "exercise for you: build M and c yourself")
        with calls_of(solvers.limit_point, rule=rule), calls_of(solvers.epoch_map, rule=rule):
            got = pair(call(answer, x.copy(), y.copy(), rate), "slope", "intercept")
        want = solvers.limit_point(x, y, rate)  # only now, once the answer has returned
        if np.allclose(got, (want.coef, want.intercept), rtol=1e-6, atol=1e-8):
            continue
        exact = solvers.exact_least_squares(x, y)
        backwards = solvers.limit_point(x[::-1], y[::-1], rate)
        if np.allclose(got, (exact.coef, exact.intercept), rtol=1e-6, atol=1e-8):
            raise Failed("that is the exact least-squares line, where *full-batch* descent ends; "
                         "per-sample updates in file order end off it")
        if np.allclose(got, (backwards.coef, backwards.intercept), rtol=1e-6, atol=1e-8):
            raise Failed("that is the limit point for the samples in *reverse* order: chain the "
                         "updates so that the first sample acts first")
        if np.allclose(got[::-1], (want.coef, want.intercept), rtol=1e-6, atol=1e-8):
            raise Failed("slope and intercept are swapped: return (slope, intercept)")
        if np.allclose(got, (-want.coef, -want.intercept), rtol=1e-6, atol=1e-8):
            raise Failed(f"for {n} samples you had not seen, training ends at slope "
                         f"{want.coef:.6g}, intercept {want.intercept:.6g}; yours has the "
                         "opposite sign: the fixed point of p ← M·p + c solves (I − M)·p = c")
        M, c = solvers.epoch_map(x, y, rate)
        if np.allclose(got, c, rtol=1e-6, atol=1e-8):
            raise Failed(f"that is where one epoch from (0, 0) lands, c; training runs epoch "
                         f"after epoch and ends at the fixed point p = M·p + c (slope "
                         f"{want.coef:.6g}, intercept {want.intercept:.6g}): solve (I − M)·p = c")
        raise Failed(f"for {n} samples you had not seen, at rate {rate:.3g}, training ends at "
                     f"slope {want.coef:.6g}, intercept {want.intercept:.6g}; yours gives "
                     f"{got[0]:.6g}, {got[1]:.6g}")
    return "right on three data sets and rates you had not seen."


def _spectral_radius(answer) -> str:
    from tflab import solvers

    require_callable(answer, "spectral_radius(x, learning_rate) returning a number")
    # the last case's largest eigenvalue in absolute value is negative (about −1.54)
    for seed, n, share in ((6, 25, 0.5), (7, 40, 1.3), (8, 9, 0.1), (12, 9, 1.3)):
        x = _data(seed, n)[0]
        rate = share * solvers.stability_bound(x, batch_size=1)
        rule = ("your function calls solvers.epoch_spectral_radius or solvers.epoch_map, which "
                "do the exercise for you: build M yourself")
        with calls_of(solvers.epoch_spectral_radius, rule=rule), \
                calls_of(solvers.epoch_map, rule=rule):
            got = number(call(answer, x.copy(), rate), "the spectral radius")
        want = solvers.epoch_spectral_radius(x, rate, batch_size=1)  # only now
        if np.isclose(got, want, rtol=1e-5):  # float32 is fine
            continue
        if np.isclose(got, solvers.epoch_spectral_radius(x, rate), rtol=1e-6):
            raise Failed("that is the radius of one *full-batch* epoch, I − η·H; per-sample "
                         "descent chains one update per sample")
        eigenvalues = np.linalg.eigvals(solvers.epoch_map(x, np.zeros(n), rate)[0])
        if np.isclose(got, np.max(eigenvalues.real), rtol=1e-6):
            raise Failed(f"for {n} inputs you had not seen, at rate {rate:.3g}, M's eigenvalues "
                         f"are {', '.join(f'{e:.4g}' for e in eigenvalues.real)} and yours, "
                         f"{got:.6g}, is the largest of them, but ρ = {want:.6g} is the largest "
                         "*absolute* value: a negative eigenvalue below −1 diverges too, "
                         "flipping sign every epoch")
        raise Failed(f"for {n} inputs you had not seen, at rate {rate:.3g}, ρ = {want:.6g}; "
                     f"yours is {got:.6g}")
    return ("right on four sets of inputs and rates you had not seen, two of them above the "
            "bound.")


def _two_step_rates(answer) -> str:
    from tflab import solvers

    require_callable(answer, "two_step_rates(x) returning (first rate, second rate)")
    rng = np.random.default_rng(9)
    for n, scale in ((30, 40.0), (12, 3.0), (50, 0.5)):
        x = rng.uniform(0, scale, n)
        y = rng.normal(0, 5, n) + 2 * x
        rule = ("your function calls the course's own Hessian or its eigenvalues "
                "(solvers.hessian_eigenvalues or solvers._hessian), which do the exercise's work "
                "for you: build the Hessian from x and take np.linalg.eigvalsh of it yourself")
        with calls_of(solvers.hessian_eigenvalues, rule=rule), calls_of(solvers._hessian,
                                                                         rule=rule):
            first, second = pair(call(answer, x.copy()), "first rate", "second rate")
        design = np.column_stack([x, np.ones(n)])  # the reference only now
        best = np.linalg.lstsq(design, y, rcond=None)[0]
        hessian = 2 * design.T @ design / n
        start = rng.normal(0, 10, 2)
        p = start.copy()
        for rate in (first, second):
            p = p - rate * 2 * design.T @ (design @ p - y) / n
        left = np.linalg.norm(p - best) / np.linalg.norm(start - best)
        if left <= 1e-6:
            continue
        flat, steep = np.linalg.eigvalsh(hessian)
        if np.isclose(first, second, rtol=1e-3):
            raise Failed("two steps at the same rate remove at most one direction of the error; "
                         "each step must remove a different one")
        if np.allclose(sorted((first, second)), sorted((2 / steep, 2 / flat)), rtol=1e-3):
            raise Failed("your rates are 2/λ for the Hessian's eigenvalues λ, twice the rates "
                         "that land: if you took 1/λ, your Hessian lost its factor 2 (the "
                         "Hessian of the *mean squared* error is 2·[[mean(x²), mean(x)], "
                         "[mean(x), 1]]); if you took 2/λ, a step at rate η multiplies the "
                         "error along λ's eigenvector by 1 − η·λ: η = 2/λ flips it, η = 1/λ "
                         "removes it")
        if np.allclose(sorted((first, second)), sorted((0.5 / steep, 0.5 / flat)), rtol=1e-3):
            raise Failed("your rates are 1/(2λ) for the Hessian's eigenvalues λ, half the rates "
                         "that land (a step then only halves the error along each direction): "
                         "the Hessian of the mean squared error is 2·[[mean(x²), mean(x)], "
                         "[mean(x), 1]], with one factor 2, and η = 1/λ removes the error")
        raise Failed(f"on {n} inputs you had not seen, two steps at your rates leave "
                     f"{left:.2g} of the starting error")
    return "two steps land on the exact line from random starts, on three data sets."


TRY_ITS = [
    Exercise("02b", 1, "Write limit_point(x, y, learning_rate): where per-sample gradient "
             "descent in file order at a constant rate ends, as (slope, intercept), for any "
             "data, without solvers.limit_point or solvers.epoch_map.", _limit_point,
             ["One update on sample (xᵢ, yᵢ), with a = (xᵢ, 1), is p ← (I − 2η·a·aᵀ)·p + "
              "2η·yᵢ·a. Start from M = I, c = 0 and apply the samples in order: "
              "M ← Aᵢ·M, c ← Aᵢ·c + bᵢ.",
              "The fixed point solves (I − M)·p = c: np.linalg.solve(np.eye(2) - M, c)."],
             """import numpy as np

def limit_point(x, y, learning_rate):
    M, c = np.eye(2), np.zeros(2)
    for xi, yi in zip(x, y):
        a = np.array([xi, 1.0])
        step = np.eye(2) - 2 * learning_rate * np.outer(a, a)
        M, c = step @ M, step @ c + 2 * learning_rate * yi * a
    slope, intercept = np.linalg.solve(np.eye(2) - M, c)
    return slope, intercept

answer = limit_point""", try_it=True),
]

EXERCISES = [
    Exercise("02b", 1, "Write spectral_radius(x, learning_rate): the spectral radius of the "
             "epoch map M of per-sample gradient descent in file order on a line w·x + b, for any "
             "inputs x (without solvers.epoch_map or solvers.epoch_spectral_radius).",
             _spectral_radius,
             ["M is the product of the one-sample matrices I − 2η·a·aᵀ, a = (xᵢ, 1), the first "
              "sample's on the right. It does not depend on y.",
              "The spectral radius is the largest absolute eigenvalue: "
              "np.max(np.abs(np.linalg.eigvals(M)))."],
             """import numpy as np

def spectral_radius(x, learning_rate):
    M = np.eye(2)
    for xi in x:
        a = np.array([xi, 1.0])
        M = (np.eye(2) - 2 * learning_rate * np.outer(a, a)) @ M
    return np.max(np.abs(np.linalg.eigvals(M)))

answer = spectral_radius"""),
    Exercise("02b", 2, "Write two_step_rates(x): two learning rates (first, second) such that "
             "two full-batch gradient-descent steps on the mean squared error of w·x + b, from "
             "any start, land on the exact least-squares line, for any inputs x.",
             _two_step_rates,
             ["Along an eigenvector of the Hessian with eigenvalue λ a step at rate η multiplies "
              "the error by 1 − η·λ. Which η makes that factor 0?",
              "Take η = 1/λmax, then η = 1/λmin, with H = 2·[[mean(x²), mean(x)], "
              "[mean(x), 1]] (the steep direction first, as section 6 explains)."],
             """import numpy as np

def two_step_rates(x):
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    flat, steep = np.linalg.eigvalsh(hessian)
    return 1 / steep, 1 / flat

answer = two_step_rates"""),
    Exercise("02b", 3, "Write fit(x, gradient) -> (slope, intercept) that reaches within 1e-4 "
             "of the exact least-squares line in at most 100 parameter updates. You do not get "
             "y: gradient(w, b, inputs) returns (dL/dw, dL/db) of the MSE of w·inputs + b, "
             "for inputs x or a rescaled a·x + c; each call counts as one update. Any step "
             "built from these gradients counts (rescaled descent, a Newton step).", _fast_fit,
             ["Scale the input: with z = (x - mean) / std the bowl is round; ask for "
              "gradient(w, b, z).",
              "On standardised z the Hessian is 2·I, so steps w -= 0.5·dw, b -= 0.5·db land on "
              "the minimum; then map back: slope = w / std, intercept = b - w·mean / std."],
             """def fit(x, gradient):
    m, s = x.mean(), x.std()
    z = (x - m) / s
    w = b = 0.0
    for _ in range(5):
        dw, db = gradient(w, b, z)
        w, b = w - 0.5 * dw, b - 0.5 * db
    return w / s, b - w * m / s

answer = fit"""),
]
