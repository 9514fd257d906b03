"""Lesson 02's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import numpy as np
from exercise_checks import failed_with

from tflab import data, exercises, solvers


def test_stable_rate_wrong_answers():
    ex = exercises.get("02", 1)

    def hessian(x):
        return 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])

    fire_bound = solvers.stability_bound(data.fire_theft()[0])
    failed_with(ex, lambda x: fire_bound, "whatever x it gets")  # gaming: the printed constant
    failed_with(ex, lambda x: solvers.stability_bound(x), "calls solvers.stability_bound")
    failed_with(ex, lambda x: 2 / np.linalg.eigvalsh(hessian(x))[0], "*smallest* eigenvalue")
    failed_with(ex, lambda x: 1 / np.linalg.eigvalsh(hessian(x))[-1], "half the bound")
    failed_with(ex, lambda x: 2 / np.linalg.eigvalsh(len(x) * hessian(x))[-1], "*summed*")
    failed_with(ex, lambda x: 1 / np.mean(x * x), "ignores the intercept")
    failed_with(ex, lambda x: 1.2 * 2 / np.linalg.eigvalsh(hessian(x))[-1], "diverges there")
    failed_with(ex, lambda x: "fast", "the learning rate stable_rate returns")
    failed_with(ex, 0.0016, "stable_rate(x) returning a learning rate")
    status, message = ex.judge(lambda x: 2 / np.linalg.eigvalsh(hessian(x))[-1])
    assert status == "passed" and "0.0039528" in message, message


def descent(x, gradient, rate, steps):
    """Plain gradient descent on x itself, from w = b = 0."""
    w = b = 0.0
    for _ in range(steps):
        dw, db = gradient(w, b, x)
        w, b = w - rate * dw, b - rate * db
    return w, b


def test_fast_fit_wrong_answers():
    ex = exercises.get("02", 2)
    fire, theft = data.fire_theft()

    def seed_gd(x, gradient):  # the original program: far from exact in 100 steps
        return descent(x, gradient, 0.001, 100)

    def slow_but_exact(x, gradient):  # enough steps at a stable rate, far too many of them
        return descent(x, gradient, 0.9 * solvers.stability_bound(x), 20000)

    def polyfit_no_updates(x, gradient):  # gaming: lesson 01's exact answer, no descent at all
        return tuple(np.polyfit(x, theft, 1)) if len(x) == len(fire) else (0.0, 0.0)

    def polyfit_one_update(x, gradient):  # gaming: one call of gradient for show
        gradient(0.0, 0.0, x)
        return tuple(np.polyfit(fire, theft, 1))

    def reads_y(x, gradient):  # gaming: recover y one example at a time, then solve exactly
        n = len(x)
        y = np.array([-gradient(0.0, 0.0, n / 2 * np.eye(n)[i])[0] for i in range(n)])
        return tuple(np.polyfit(x, y, 1))

    def old_interface(x, y):  # fit(x, y) -> (slope, intercept, updates), as the exercise was
        slope, intercept = np.polyfit(x, y, 1)
        return slope, intercept, 0

    def crashes(x, gradient):
        return x[1000]

    for answer, message in [(seed_gd, "away from the exact answer (needs ≤ 1e-4) after 100 calls"),
                            (slow_but_exact, "it took 20000 calls of gradient"),
                            (polyfit_no_updates, "on data set 1 fit never called gradient"),
                            (polyfit_one_update, "on data set 2 your line is"),
                            (reads_y, "takes x or a rescaled copy a·x + c"),
                            (old_interface, "raised"),
                            (crashes, "raised IndexError"), (42, "should be a function"),
                            (lambda x, g: (1.0, 2.0, 3.0), "two numbers")]:
        failed_with(ex, answer, message)


def test_fast_fit_counts_the_calls_itself():
    ex = exercises.get("02", 2)

    def twice_as_many(x, gradient):
        m, s = x.mean(), x.std()
        w, b = descent((x - m) / s, gradient, 0.25, 100)
        return w / s, b - w * m / s

    status, text = ex.judge(twice_as_many)
    assert status == "passed", text
    failed_with(ex, lambda x, g: twice_as_many(x, g) if g(0.0, 0.0, x) else None,
                "it took 101 calls")


def test_condition_number_wrong_answers():
    ex = exercises.get("02", 3)

    def centred(x):  # forgets the intercept: variance only, a 1x1 "Hessian"
        return float(np.var(x) / np.var(x))

    def inverted(x):
        hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1]])
        low, high = np.linalg.eigvalsh(hessian)
        return low / high

    def data_matrix(x):  # the condition number of [x, 1], the square root of the Hessian's
        return float(np.linalg.cond(np.stack([x, np.ones_like(x)], axis=1)))

    fire_theft = condition_number_of(data.fire_theft()[0])

    def constant(x):  # gaming: the fire/theft answer for every data set
        return fire_theft

    for answer in (centred, inverted, data_matrix, constant):
        failed_with(ex, answer, "condition number is")


def condition_number_of(x):
    low, high = solvers.hessian_eigenvalues(x)[[0, -1]]
    return float(high / low)


def test_epochs_per_efold_wrong_answers():
    ex = exercises.try_it("02", 1)

    def eig(x):
        return np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]))

    failed_with(ex, lambda x, rate: 1e4, "the flat direction shrinks e-fold in")  # a constant
    failed_with(ex, lambda x, rate: -1 / np.log(abs(1 - rate * eig(x)[1])), "steep direction")
    failed_with(ex, lambda x, rate: 1 / (len(x) * rate * eig(x)[0]), "updates per epoch")
    failed_with(ex, lambda x, rate: 1 / (rate * eig(x)[0] / 2), "twice the answer")
    failed_with(ex, lambda x, rate: 1 / (rate * 2 * np.mean(x * x)), "epochs; yours says")
    failed_with(ex, lambda x, rate: "slow", "the number of epochs")
    status, message = ex.judge(lambda x, rate: 1 / (rate * eig(x)[0]))  # the small-step form
    assert status == "passed", message
