"""Lesson 02b's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
from exercise_checks import failed_with

from tflab import exercises, solvers


def test_limit_point_wrong_answers():
    ex = exercises.try_it("02b", 1)

    def chained(x, y, rate):
        M, c = np.eye(2), np.zeros(2)
        for xi, yi in zip(x, y):
            a = np.array([xi, 1.0])
            step = np.eye(2) - 2 * rate * np.outer(a, a)
            M, c = step @ M, step @ c + 2 * rate * yi * a
        return np.linalg.solve(np.eye(2) - M, c)

    def library(x, y, rate):
        fit = solvers.limit_point(x, y, rate)
        return fit.coef, fit.intercept

    def exact(x, y, rate):
        fit = solvers.exact_least_squares(x, y)
        return fit.coef, fit.intercept

    failed_with(ex, library, "do the exercise for you")
    failed_with(ex, exact, "full-batch")
    failed_with(ex, lambda x, y, rate: chained(x[::-1], y[::-1], rate), "*reverse* order")
    failed_with(ex, lambda x, y, rate: chained(x, y, rate)[::-1], "swapped")
    failed_with(ex, lambda x, y, rate: chained(x, y, rate / 2), "training ends at slope")
    failed_with(ex, lambda x, y, rate: (1.62026, 16.9214), "training ends at")  # fire data
    failed_with(ex, lambda x, y, rate: 1.5, "a pair (slope, intercept)")
    assert ex.judge(lambda x, y, rate: tuple(chained(x, y, rate)))[0] == "passed"


def test_spectral_radius_wrong_answers():
    ex = exercises.get("02b", 1)

    def radius(x, rate, order=1):
        M = np.eye(2)
        for xi in x[::order]:
            a = np.array([xi, 1.0])
            M = (np.eye(2) - 2 * rate * np.outer(a, a)) @ M
        return np.max(np.abs(np.linalg.eigvals(M)))

    failed_with(ex, lambda x, rate: solvers.epoch_spectral_radius(x, rate, batch_size=1),
                "do the exercise for you")
    def full_batch(x, rate):
        hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
        return np.max(np.abs(np.linalg.eigvals(np.eye(2) - rate * hessian)))

    failed_with(ex, full_batch, "*full-batch*")
    failed_with(ex, lambda x, rate: 0.9734, "ρ =")  # the fire data's at 1e-3
    failed_with(ex, lambda x, rate: radius(x, rate / 2), "ρ =")
    failed_with(ex, lambda x, rate: min(radius(x, rate), 0.999), "ρ =")  # never above the bound
    assert ex.judge(lambda x, rate: radius(x, rate, order=-1))[0] == "passed"  # Mᵀ: same ρ


def test_two_step_rates_wrong_answers():
    ex = exercises.get("02b", 2)

    def eig(x):
        return np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]))

    failed_with(ex, lambda x: (1 / eig(x)[1], 1 / eig(x)[1]), "same rate")
    failed_with(ex, lambda x: (2 / eig(x)[1], 2 / eig(x)[0]), "flips it")
    failed_with(ex, lambda x: (1 / eig(x)[1], 0.5 / eig(x)[0]), "of the starting error")
    failed_with(ex, lambda x: (0.00198, 1.386), "of the starting error")  # the fire data's rates
    failed_with(ex, lambda x: 0.001, "a pair (first rate, second rate)")
    assert ex.judge(lambda x: (1 / eig(x)[0], 1 / eig(x)[1]))[0] == "passed"  # either order
