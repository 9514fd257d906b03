"""Lesson 02's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
import pytest

from exercise_checks import failed_with
from tflab import exercises, solvers


@pytest.mark.parametrize("answer, message", [
    (0.005, "too large"), (0.003, "below the largest stable rate"), ("fast", "a number"),
    (-1.0, "positive"),
])
def test_largest_rate_wrong_answers(answer, message):
    failed_with(exercises.get("02", 1), answer, message)


def test_fast_fit_wrong_answers():
    ex = exercises.get("02", 2)

    def seed_gd(x, y):  # the original program: far from exact
        run = solvers.gradient_descent(x, y, learning_rate=0.001, epochs=100)
        return run.fit.coef, run.fit.intercept, run.updates

    def slow_but_exact(x, y):
        slope, intercept = np.polyfit(x, y, 1)
        return slope, intercept, 5000

    def closed_form_claims_no_updates(x, y):  # gaming: the library's exact answer, "0 updates"
        exact = solvers.exact_least_squares(x, y)
        return exact.coef, exact.intercept, 0

    def library_remedy(x, y):  # gaming: the remedy the lesson shows, called instead of written
        run = solvers.centre_and_scale_descent(x, y, grad_tol=1e-9)
        return run.fit.coef, run.fit.intercept, run.updates

    def crashes(x, y):
        return x[1000]

    for answer, message in [(seed_gd, "away from the exact answer"),
                            (slow_but_exact, "updates (needs ≤ 100)"),
                            (closed_form_claims_no_updates,
                             "solvers.exact_least_squares, which does"),
                            (library_remedy, "solvers.centre_and_scale_descent, which does"),
                            (crashes, "raised IndexError"), (42, "should be a function"),
                            (lambda x, y: (1.0, 2.0), "three numbers")]:
        failed_with(ex, answer, message)


def test_condition_number_wrong_answers():
    ex = exercises.get("02", 3)

    def centred(x):  # forgets the intercept: variance only, a 1x1 "Hessian"
        return float(np.var(x) / np.var(x))

    def inverted(x):
        low, high = np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]]))
        return low / high

    for answer in (centred, inverted):
        failed_with(ex, answer, "condition number is")
