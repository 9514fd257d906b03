"""Lesson 02b's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import sys
import threading

import numpy as np
from exercise_checks import caller_value, failed_with

from tflab import data, exercises, solvers


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
    failed_with(ex, lambda x, y, rate: -chained(x, y, rate), "the opposite sign")
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


def test_two_step_rates_names_the_missing_factor_2():
    """Review (issue 32): rates from a Hessian without its factor 2 were told only that
    η = 2/λ flips the error; the message now names the factor 2 too (and the other way round,
    a Hessian with the factor twice)."""
    ex = exercises.get("02b", 2)

    def eig(hessian):
        return np.linalg.eigvalsh(hessian)

    def halved(x):
        return np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])

    failed_with(ex, lambda x: tuple(1 / eig(halved(x))[::-1]), "your Hessian lost its factor 2")
    failed_with(ex, lambda x: tuple(1 / eig(4 * halved(x))[::-1]), "half the rates that land")


def descent(x, gradient, rate, steps):
    """Plain gradient descent on x itself, from w = b = 0."""
    w = b = 0.0
    for _ in range(steps):
        dw, db = gradient(w, b, x)
        w, b = w - rate * dw, b - rate * db
    return w, b


def test_fast_fit_wrong_answers():
    ex = exercises.get("02b", 3)
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
                            (slow_but_exact, "made more than 100 calls of gradient"),
                            (polyfit_no_updates, "on data set 1 fit never called gradient"),
                            (polyfit_one_update, "on data set 2 your line is"),
                            (reads_y, "takes x or a rescaled copy a·x + c"),
                            (old_interface, "raised"),
                            (crashes, "raised IndexError"), (42, "should be a function"),
                            (lambda x, g: (1.0, 2.0, 3.0), "two numbers")]:
        failed_with(ex, answer, message)


def test_fast_fit_takes_a_newton_step():
    """Review (issue 32): one gradient at (0, 0) and a Newton step with the Hessian of x (the
    normal equations) land on the line in one update; the question says any step built from the
    gradients counts, and a fit that never calls gradient is not told to "descend"."""
    ex = exercises.get("02b", 3)

    def newton(x, gradient):
        hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
        step = np.linalg.solve(hessian, gradient(0.0, 0.0, x))
        return -step[0], -step[1]

    def normal_equations(x, gradient):  # the same from mean(x·y) and mean(y) read off it
        mean_xy, mean_y = (-g / 2 for g in gradient(0.0, 0.0, x))
        slope = (mean_xy - x.mean() * mean_y) / x.var()
        return slope, mean_y - slope * x.mean()

    for answer in (newton, normal_equations):
        status, text = ex.judge(answer)
        assert status == "passed", text
    assert "Newton step" in ex.question
    status, text = ex.judge(lambda x, gradient: (0.0, 0.0))
    assert status == "failed" and "never called gradient" in text and "descent" not in text, text


def test_fast_fit_cannot_judge_early_and_start_over():
    """Review (issue 32): the oracle, found up the frames, judged early (the exact line), then
    given a new data set whose y is that line, and one gradient call: the checker's verdict
    was the same line after one call. The oracle counts data sets and verdicts now."""
    def judges_early(x, gradient):
        oracle = caller_value("oracle")
        slope, intercept = oracle.ask({"judge": True})["exact"]
        oracle.ask({"x": x.tolist(), "y": (slope * x + intercept).tolist()})
        gradient(slope, intercept, x)
        return slope, intercept

    failed_with(exercises.get("02b", 3), judges_early,
                "your fit talked to the checker's gradient process directly")


def test_fast_fit_counts_the_calls_itself():
    ex = exercises.get("02b", 3)

    def twice_as_many(x, gradient):
        m, s = x.mean(), x.std()
        w, b = descent((x - m) / s, gradient, 0.25, 100)
        return w / s, b - w * m / s

    status, text = ex.judge(twice_as_many)
    assert status == "passed", text
    failed_with(ex, lambda x, g: twice_as_many(x, g) if g(0.0, 0.0, x) else None,
                "made more than 100 calls of gradient")



def test_fast_fit_reads_y_off_gradient():
    def attributes(x, gradient):  # the old gradient object carried x and y
        gradient(0.0, 0.0, x)
        return tuple(np.polyfit(gradient.x, gradient.y, 1))

    def closure(x, gradient):  # whatever the gradient function holds in its closure
        gradient(0.0, 0.0, x)
        held = [cell.cell_contents for cell in gradient.__closure__ or ()]
        ys = [v for v in held if isinstance(v, np.ndarray) and v.shape == x.shape]
        return tuple(np.polyfit(x, ys[0], 1))

    failed_with(exercises.get("02b", 3), attributes, "raised AttributeError")
    failed_with(exercises.get("02b", 3), closure, "raised IndexError")


def test_fast_fit_reads_y_from_the_checker():
    def frame_reader(x, gradient):
        gradient(0.0, 0.0, x)
        y = caller_value("y", None)
        if y is None:
            y = np.zeros_like(x)
        return tuple(np.polyfit(x, y, 1))

    failed_with(exercises.get("02b", 3), frame_reader, "on data set 2 your line is")


def test_fast_fit_talks_to_the_oracle_directly():
    def direct(x, gradient):
        gradient(0.0, 0.0, x)
        ask = [cell.cell_contents for cell in gradient.__closure__ if callable(
            cell.cell_contents)][0]
        return tuple(ask({"judge": True})["exact"])

    def own_targets(x, gradient):  # hands the oracle targets of its own, then fits those
        ask = [cell.cell_contents for cell in gradient.__closure__ if callable(
            cell.cell_contents)][0]
        ask({"x": x.tolist(), "y": (2 * x + 1).tolist()})
        gradient(0.0, 0.0, x)
        return 2.0, 1.0

    failed_with(exercises.get("02b", 3), direct, "talked to the checker's gradient process")
    failed_with(exercises.get("02b", 3), own_targets, "talked to the checker's gradient process")


def test_limit_point_library_in_a_thread_and_without_the_profiler():
    def threaded(x, y, rate):
        out = []

        def run():
            sys.setprofile(None)
            try:
                out.append(solvers.limit_point(x, y, rate))
            except Exception:
                out.append(solvers.exact_least_squares(x, y))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return out[0].coef, out[0].intercept

    failed_with(exercises.try_it("02b", 1), threaded, "do the exercise for you")


def test_limit_point_and_radius_read_want_from_the_checker():
    def frame_reader(x, y, rate):
        want = caller_value("want", None)
        return (want.coef, want.intercept) if want is not None else (0.0, 0.0)

    failed_with(exercises.try_it("02b", 1), frame_reader, "training ends at")
    failed_with(exercises.get("02b", 1), lambda x, rate: caller_value("want", 0.5), "ρ =")


def test_two_step_rates_by_the_course_eigenvalues():
    failed_with(exercises.get("02b", 2), lambda x: tuple(1 / solvers.hessian_eigenvalues(x)[::-1]),
                "your function calls the course's own Hessian or its eigenvalues")
    failed_with(exercises.get("02b", 2),
                lambda x: tuple(1 / np.linalg.eigvalsh(solvers._hessian(x))[::-1]),
                "your function calls the course's own Hessian or its eigenvalues")


def epoch_matrix(x, rate, dtype=np.float64):
    M = np.eye(2, dtype=dtype)
    for xi in x.astype(dtype):
        a = np.array([xi, 1.0], dtype=dtype)
        M = (np.eye(2, dtype=dtype) - dtype(2 * rate) * np.outer(a, a)) @ M
    return M


def test_spectral_radius_needs_the_absolute_value():
    """Review (issue 32): the largest eigenvalue without abs passed, as no case had a negative
    dominant eigenvalue; a fourth case has one (about −1.54)."""
    ex = exercises.get("02b", 1)
    failed_with(ex, lambda x, rate: np.max(np.linalg.eigvals(epoch_matrix(x, rate)).real),
                "is the largest *absolute* value")
    # other honest mistakes: M's largest singular value; eigvalsh, which assumes M symmetric
    failed_with(ex, lambda x, rate: np.linalg.norm(epoch_matrix(x, rate), 2), "ρ =")
    failed_with(ex, lambda x, rate: np.max(np.abs(np.linalg.eigvalsh(epoch_matrix(x, rate)))),
                "ρ =")
    status, text = ex.judge(lambda x, rate: np.max(np.abs(np.linalg.eigvals(
        epoch_matrix(x, rate, np.float32)))))  # float32: within 1e-5
    assert status == "passed" and "four sets" in text, text


def test_limit_point_one_epoch_is_not_the_limit():
    def one_epoch(x, y, rate):  # where one epoch from (0, 0) lands: c, not the fixed point
        p = np.zeros(2)
        for xi, yi in zip(x, y):
            a = np.array([xi, 1.0])
            p = p - rate * 2 * (a @ p - yi) * a
        return tuple(p)

    failed_with(exercises.try_it("02b", 1), one_epoch, "where one epoch from (0, 0) lands")
