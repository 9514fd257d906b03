"""Exercises that check themselves, in the spirit of Kaggle Learn's checkers.

Each :class:`Exercise` has ``check(answer)`` (runs the answer against the reference
behaviour and says plainly whether it passed, or what is wrong and by how much),
``hint(level)`` and ``solution()``. Answers are judged by behaviour — values within a
tolerance, a function's results on inputs the learner has not seen — never by their
text. An answer cell that still holds the placeholder ``___`` is reported as
"not attempted", which is not a failure.

    from tflab.exercises import ___, get
    ex = get("02", 1)
    answer = ___          # the learner replaces ___
    ex.check(answer)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["___", "Failed", "Exercise", "EXERCISES", "get"]


class _Placeholder:
    def __repr__(self) -> str:
        return "___"


___ = _Placeholder()


class Failed(Exception):
    """An answer did not behave like the reference; the message says how."""


@dataclass
class Exercise:
    """One exercise: its question, a checker, hints and the reference solution."""

    lesson: str
    number: int
    question: str
    checker: Callable[[Any], str]  # returns a success message or raises Failed
    hints: list[str] = field(default_factory=list)
    solution_code: str = ""

    def check(self, answer: Any = ___) -> str:
        """Judge ``answer``; print the verdict and return "passed", "failed" or "not attempted"."""
        label = f"Exercise {self.lesson}.{self.number}"
        if answer is ___:
            print(f"{label}: not attempted — replace ___ with your answer and run the cell again.")
            return "not attempted"
        try:
            message = self.checker(answer)
        except Failed as err:
            print(f"{label}: not yet. {err}")
            return "failed"
        print(f"{label}: correct! {message}")
        return "passed"

    def hint(self, level: int = 1) -> None:
        """Print hint number ``level`` (1 is the gentlest)."""
        if not self.hints:
            print("No hint for this one.")
            return
        level = min(max(1, level), len(self.hints))
        print(f"Hint {level} of {len(self.hints)}: {self.hints[level - 1]}")

    def solution(self) -> None:
        """Print the reference solution."""
        print(self.solution_code.strip())


# --------------------------------------------------------------------------- lesson 02

def _fire():
    from tflab import data

    return data.fire_theft()


def _largest_stable_rate(answer) -> str:
    from tflab import solvers

    try:
        rate = float(answer)
    except (TypeError, ValueError):
        raise Failed(f"the answer should be a learning rate (a number), not {answer!r}") from None
    bound = solvers.stability_bound(_fire()[0])
    if not rate > 0:
        raise Failed(f"a learning rate must be positive; you gave {rate:g}")
    if rate > bound * 1.01:
        raise Failed(f"{rate:g} is too large, by {rate / bound - 1:.1%}: full-batch descent "
                     "diverges at this rate. Try a smaller one.")
    if rate < bound * 0.99:
        raise Failed(f"{rate:g} is stable, but {1 - rate / bound:.1%} below the largest "
                     "stable rate. Push it higher.")
    return f"{rate:g} is within 1% of the bound 2/λmax = {bound:.7f}."


def _fast_fit(answer) -> str:
    """The answer is fit(x, y) -> (coef, intercept, updates); judged on unseen data."""
    from tflab import solvers

    if not callable(answer):
        raise Failed("the answer should be a function fit(x, y) returning "
                     "(slope, intercept, number_of_updates)")
    rng = np.random.default_rng(2026)
    cases = [_fire(), (rng.uniform(0, 100, 60), None), (rng.normal(50, 5, 30), None)]
    for i, (x, y) in enumerate(cases):
        if y is None:
            y = 3.0 * x - 7.0 + rng.normal(0, 2, len(x))
        exact = solvers.exact_least_squares(x, y)
        try:
            coef, intercept, updates = answer(np.array(x), np.array(y))
        except Exception as err:
            raise Failed(f"your function raised {type(err).__name__}: {err}") from None
        error = max(abs(float(coef) - exact.coef), abs(float(intercept) - exact.intercept))
        if error > 1e-4:
            raise Failed(f"on data set {i + 1} your line is {error:.2g} away from the exact "
                         "answer (needs ≤ 1e-4)")
        if int(updates) > 100:
            raise Failed(f"on data set {i + 1} it took {int(updates)} updates (needs ≤ 100)")
    return "within 1e-4 of the exact answer in ≤ 100 updates on all three data sets."


# --------------------------------------------------------------------------- lesson 08

def _gram(answer) -> str:
    from tflab import style

    if not callable(answer):
        raise Failed("the answer should be a function gram(features) for (B, H, W, C) arrays")
    rng = np.random.default_rng(8)
    for shape in [(1, 4, 5, 3), (2, 7, 3, 6)]:
        f = rng.normal(size=shape).astype(np.float32)
        try:
            got = np.asarray(answer(f), dtype=np.float64)
        except Exception as err:
            raise Failed(f"your function raised {type(err).__name__}: {err}") from None
        want = np.asarray(style.gram_matrix(f), dtype=np.float64)
        if got.shape != want.shape:
            raise Failed(f"for features of shape {shape} the Gram matrix should have shape "
                         f"{want.shape}, yours has {got.shape}")
        if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
            ratio = float(np.median(got / np.where(want == 0, 1, want)))
            raise Failed(f"the values differ (yours are about {ratio:.3g} × the reference): "
                         "did you divide by the number of positions H·W?")
    return "matches the reference on inputs you have not seen."


EXERCISES = [
    Exercise("02", 1, "Find the largest learning rate for which full-batch gradient descent on "
             "the fire/theft data does not diverge (within 1%).", _largest_stable_rate,
             ["Divergence starts where one step overshoots the steepest direction by too much.",
              "It is 2 divided by the largest eigenvalue of the Hessian of the mean squared "
              "error; solvers.stability_bound(x) computes it."],
             "rate = solvers.stability_bound(x)"),
    Exercise("02", 2, "Write fit(x, y) -> (slope, intercept, updates) that reaches within 1e-4 "
             "of the exact answer in at most 100 parameter updates.", _fast_fit,
             ["Scale the input: with z = (x - mean) / std the bowl is round.",
              "solvers.gradient_descent(z, y, learning_rate=0.5, epochs=50, batch_size=None, "
              "dtype='float64'), then map the slope and intercept back to x."],
             '''def fit(x, y):
    m, s = x.mean(), x.std()
    run = solvers.gradient_descent((x - m) / s, y, learning_rate=0.5, epochs=5,
                                   batch_size=None, dtype="float64")
    w, b = run.fit.coef, run.fit.intercept
    return w / s, b - w * m / s, run.updates'''),
    Exercise("08", 1, "Write gram(features) for feature maps of shape (B, H, W, C), returning "
             "(B, C, C) channel correlations divided by H·W.", _gram,
             ["Flatten the H and W axes into one axis of positions.",
              "np.einsum('bijc,bijd->bcd', f, f) / (H * W)."],
             '''def gram(f):
    b, h, w, c = f.shape
    return np.einsum("bijc,bijd->bcd", f, f) / (h * w)'''),
]


def get(lesson: str, number: int) -> Exercise:
    """Exercise ``number`` of lesson ``lesson`` (e.g. ``get("02", 1)``)."""
    for exercise in EXERCISES:
        if exercise.lesson == lesson and exercise.number == number:
            return exercise
    raise KeyError(f"no exercise {lesson}.{number}; there are "
                   f"{', '.join(f'{e.lesson}.{e.number}' for e in EXERCISES)}")
