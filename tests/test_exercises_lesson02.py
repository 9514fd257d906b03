"""Lesson 02's exercises: typical wrong answers fail with a helpful message."""

from __future__ import annotations

import threading

import numpy as np
from exercise_checks import caller_value, failed_with

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


def test_condition_number_wrong_answers():
    ex = exercises.get("02", 2)

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
    # the small-step form is 20% off where η·λmin ≈ 0.38 (it passed on the old three cases)
    failed_with(ex, lambda x, rate: 1 / (rate * eig(x)[0]), "the small-step approximation")
    failed_with(ex, lambda x, rate: 1 / np.log(1 + rate * eig(x)[0]), "a sign slip")
    # a whole number more than one epoch off is not the small-step form (it was told it was)
    failed_with(ex, lambda x, rate: np.ceil(-1 / np.log(1 - rate * eig(x)[0])) + 1,
                "your whole number of epochs")
    status, text = ex.judge(lambda x, rate: np.ceil(-1 / np.log(1 - rate * eig(x)[0])) + 1)
    assert "small-step" not in text, text
    for whole in (np.ceil, np.floor):  # a whole number of epochs reads the question fine
        status, message = ex.judge(
            lambda x, rate, whole=whole: whole(-1 / np.log(1 - rate * eig(x)[0])))
        assert status == "passed" and "four sets" in message, message


def test_epochs_per_efold_by_the_checkers_own_hessian():
    """Review (issue 32): lesson02._hessian, the checker's copy of the Hessian, was not
    forbidden like solvers._hessian; the checker now uses the course's, forbidden while the
    answer runs."""
    from tflab.exercises import lesson02

    def checkers_hessian(x, rate):
        hessian = getattr(lesson02, "_hessian", solvers._hessian)
        return -1 / np.log(1 - rate * np.linalg.eigvalsh(hessian(x))[0])

    failed_with(exercises.try_it("02", 1), checkers_hessian,
                "your function calls the course's own Hessian")
    failed_with(exercises.get("02", 3),
                lambda x, rate: (1 - rate * np.linalg.eigvalsh(
                    getattr(lesson02, "_hessian", solvers._hessian)(x))[-1]) ** 2,
                "your function calls the course's own Hessian")


def test_growth_factor_wrong_answers():
    ex = exercises.get("02", 3)

    def eig(x):
        return np.linalg.eigvalsh(2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]]))

    fire_growth = (1 - 0.004 * eig(data.fire_theft()[0])[1]) ** 2
    failed_with(ex, lambda x, rate: fire_growth, "the loss grows by")  # gaming: one data set's
    failed_with(ex, lambda x, rate: abs(1 - rate * eig(x)[1]), "the square of the error")
    failed_with(ex, lambda x, rate: (1 - rate * eig(x)[0]) ** 2, "flat direction")
    failed_with(ex, lambda x, rate: (1 - rate * eig(x)[1] / 2) ** 2, "a factor 2 is off")
    failed_with(ex, lambda x, rate: (1 - rate * 2 * np.mean(x * x)) ** 2, "yours says")
    failed_with(ex, lambda x, rate: "fast", "the growth factor")
    status, message = ex.judge(lambda x, rate: (rate * eig(x)[1] - 1) ** 2)
    assert status == "passed", message



_BY_THE_COURSE = "your function calls solvers.hessian_eigenvalues, the course's own eigenvalues"


def test_growth_factor_by_hessian_eigenvalues():
    failed_with(exercises.get("02", 3),
                lambda x, rate: (1 - rate * solvers.hessian_eigenvalues(x)[-1]) ** 2,
                _BY_THE_COURSE)


def test_growth_factor_hessian_eigenvalues_in_a_thread():
    def threaded(x, rate):
        out = []

        def run():
            try:
                out.append(solvers.hessian_eigenvalues(x)[-1])
            except Exception:
                out.append(1.0)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        return (1 - rate * out[0]) ** 2

    failed_with(exercises.get("02", 3), threaded, _BY_THE_COURSE)


def test_growth_factor_reads_want_from_the_checker():
    failed_with(exercises.get("02", 3), lambda x, rate: caller_value("want", 1.0),
                "the loss grows by")


def _growth(x, rate):
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return (1 - rate * np.linalg.eigvalsh(hessian)[-1]) ** 2


def test_growth_factor_runs_are_drawn_at_check_time(monkeypatch):
    """Review (issue 32): the shares of the bound were fixed (1.3, 1.05, 2.5) and sat in the
    checker's frame: (1 − 2·share)² read from there, or a table of the three answers in call
    order, passed. The runs are drawn for each check and only (x, rate) leave the draw."""
    from tflab.exercises import lesson02

    ex = exercises.get("02", 3)
    failed_with(ex, lambda x, rate: (1 - 2 * caller_value("share", 1.3)) ** 2, "the loss grows by")
    table = iter([(1 - 2 * 1.3) ** 2, (1 - 2 * 1.05) ** 2, (1 - 2 * 2.5) ** 2])
    failed_with(ex, lambda x, rate: next(table), "the loss grows by")
    # the answer to the previous check's runs does not fit the next check's
    seen = []
    ex.judge(lambda x, rate: seen.append(_growth(x, rate)) or seen[-1])
    replay = iter(seen)
    failed_with(ex, lambda x, rate: next(replay), "the loss grows by")
    # the seed, found up the frames, draws the inputs again, but not the share of the bound
    def replays_the_draw(x, rate):  # the share as the next draw after x (it was, earlier)
        rng = np.random.default_rng(caller_value("seed"))
        for draw in (lambda n: rng.uniform(0, rng.uniform(5, 40), n),
                     lambda n: rng.normal(rng.uniform(-10, 10), rng.uniform(0.5, 5), n),
                     lambda n: rng.uniform(-1, 1, n)):
            mine = draw(int(rng.integers(10, 60)))
            share = rng.uniform(1.05, 3.0)
            if np.array_equal(mine, x):
                return (1 - 2 * share) ** 2
        return 1.0

    failed_with(ex, replays_the_draw, "the loss grows by")
    assert [len(x) for x in lesson02._growth_inputs(5)] == [
        len(x) for x in lesson02._growth_inputs(5)]
    for seed in range(4):  # the reference and the wrong answers, whatever the draw
        monkeypatch.setattr(lesson02, "_fresh_seed", lambda seed=seed: seed)
        status, text = ex.judge(_growth)
        assert status == "passed" and "drawn for this check" in text, text
        failed_with(ex, lambda x, rate: _growth(x, rate) ** 0.5, "the square of the error")
        failed_with(ex, lambda x, rate: _growth(x, rate / 2), "a factor 2 is off")


def test_condition_number_by_hessian_eigenvalues():
    def by_the_course(x):
        eig = solvers.hessian_eigenvalues(x)
        return eig[-1] / eig[0]

    failed_with(exercises.get("02", 2), by_the_course, _BY_THE_COURSE)
    failed_with(exercises.get("02", 2), lambda x: caller_value("want", 1.0),
                "the condition number is")


def test_stable_rate_and_efold_by_hessian_eigenvalues():
    failed_with(exercises.get("02", 1), lambda x: 2 / solvers.hessian_eigenvalues(x)[-1],
                _BY_THE_COURSE)
    failed_with(exercises.try_it("02", 1),
                lambda x, rate: -1 / np.log(1 - rate * solvers.hessian_eigenvalues(x)[0]),
                _BY_THE_COURSE)


def test_growth_factor_by_the_course_hessian_or_epoch():
    ex = exercises.get("02", 3)
    failed_with(ex, lambda x, rate: (1 - rate * np.linalg.eigvalsh(solvers._hessian(x))[-1]) ** 2,
                "your function calls the course's own Hessian")
    failed_with(ex, lambda x, rate: solvers.epoch_spectral_radius(x, rate) ** 2,
                "your function calls solvers.epoch_map or solvers.epoch_spectral_radius")


def test_stable_rate_by_optimal_rate():  # the course's other rate, through its eigenvalues
    failed_with(exercises.get("02", 1), lambda x: 2 * solvers.optimal_rate(x),
                "your function calls solvers.hessian_eigenvalues")
