"""Exercises of lesson 02, the hazards of learning rates."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from tflab.exercises.core import Exercise, Failed, call, number, require_callable


def _largest_stable_rate(answer) -> str:
    from tflab import data, solvers

    rate = number(answer, "a learning rate")
    bound = solvers.stability_bound(data.fire_theft()[0])
    if not rate > 0:
        raise Failed(f"a learning rate must be positive; you gave {rate:g}")
    if rate > bound * 1.01:
        raise Failed(f"{rate:g} is too large, by {rate / bound - 1:.1%}: full-batch descent "
                     "diverges at this rate. Try a smaller one.")
    if rate < bound * 0.99:
        raise Failed(f"{rate:g} is stable, but {1 - rate / bound:.1%} below the largest "
                     "stable rate. Push it higher.")
    return f"{rate:g} is within 1% of the bound 2/λmax = {bound:.7f}."


_SHORTCUTS = ("exact_least_squares", "remedies", "centre_and_scale_descent",
              "eigenvalue_schedule_descent", "line_search_descent")


@contextmanager
def _without_shortcuts():
    """While the learner's fit runs, the solvers that would do exercise 02.2 for it refuse."""
    from tflab import solvers

    saved = {name: getattr(solvers, name) for name in _SHORTCUTS}

    def refusing(name):
        def refused(*args, **kwargs):
            raise Failed(f"fit calls solvers.{name}, which does the exercise for you: write the "
                         "descent yourself, with solvers.gradient_descent or your own loop")
        return refused

    try:
        for name in _SHORTCUTS:
            setattr(solvers, name, refusing(name))
        yield
    finally:
        for name, function in saved.items():
            setattr(solvers, name, function)


def _fast_fit(answer) -> str:
    """The answer is fit(x, y) -> (slope, intercept, updates); judged on unseen data too."""
    from tflab import data, solvers

    require_callable(answer, "fit(x, y) returning (slope, intercept, number_of_updates)")
    rng = np.random.default_rng(2026)
    cases = [data.fire_theft(), (rng.uniform(0, 100, 60), None), (rng.normal(50, 5, 30), None)]
    for i, (x, y) in enumerate(cases):
        if y is None:
            y = 3.0 * x - 7.0 + rng.normal(0, 2, len(x))
        exact = solvers.exact_least_squares(x, y)
        with _without_shortcuts():
            result = call(answer, np.array(x), np.array(y))
        try:
            coef, intercept, updates = result
        except (TypeError, ValueError):
            raise Failed("fit should return three numbers: (slope, intercept, updates), "
                         f"not {result!r}"[:300]) from None
        coef, intercept = number(coef, "the slope"), number(intercept, "the intercept")
        updates = int(number(updates, "the number of updates"))
        error = max(abs(coef - exact.coef), abs(intercept - exact.intercept))
        if error > 1e-4:
            raise Failed(f"on data set {i + 1} your line is {error:.2g} away from the exact "
                         "answer (needs ≤ 1e-4)")
        if updates > 100:
            raise Failed(f"on data set {i + 1} it took {updates} updates (needs ≤ 100)")
    return "within 1e-4 of the exact answer in ≤ 100 updates on all three data sets."


def _condition_number(answer) -> str:
    from tflab import data, solvers

    require_callable(answer, "condition_number(x) returning a number")
    rng = np.random.default_rng(22)
    for x in [data.fire_theft()[0], rng.uniform(0, 10, 40), rng.normal(100, 3, 25)]:
        eig = solvers.hessian_eigenvalues(x)
        want = eig[-1] / eig[0]
        got = number(call(answer, np.array(x)), "the condition number")
        if not np.isclose(got, want, rtol=1e-3):
            raise Failed(f"for one of the data sets the condition number is {want:.4g}; yours "
                         f"is {got:.4g} ({got / want:.3g} × too {'large' if got > want else 'small'})."
                         " Use the Hessian of the mean squared error in (w, b), intercept included.")
    return "right on the fire/theft data and on two data sets you have not seen."


EXERCISES = [
    Exercise("02", 1, "Find the largest learning rate for which full-batch gradient descent on "
             "the fire/theft data does not diverge (within 1%).", _largest_stable_rate,
             ["Divergence starts where one step overshoots along the steepest direction.",
              "It is 2 divided by the largest eigenvalue of the Hessian of the mean squared "
              "error; solvers.stability_bound(x) computes it."],
             """from tflab import data, solvers

x, y = data.fire_theft()
answer = solvers.stability_bound(x)"""),
    Exercise("02", 2, "Write fit(x, y) -> (slope, intercept, updates) that reaches within 1e-4 "
             "of the exact answer in at most 100 parameter updates.", _fast_fit,
             ["Scale the input: with z = (x - mean) / std the bowl is round.",
              "solvers.gradient_descent(z, y, learning_rate=0.5, epochs=50, batch_size=None, "
              "dtype='float64'), then map the slope and intercept back to x."],
             """from tflab import solvers

def fit(x, y):
    m, s = x.mean(), x.std()
    run = solvers.gradient_descent((x - m) / s, y, learning_rate=0.5, epochs=5,
                                   batch_size=None, dtype="float64")
    w, b = run.fit.coef, run.fit.intercept
    return w / s, b - w * m / s, run.updates

answer = fit"""),
    Exercise("02", 3, "Write condition_number(x): the ratio of the largest to the smallest "
             "eigenvalue of the Hessian of the mean squared error of y ≈ w·x + b.",
             _condition_number,
             ["The loss is mean((w·x + b - y)²); differentiate twice in w and b.",
              "H = 2 · [[mean(x²), mean(x)], [mean(x), 1]]; np.linalg.eigvalsh(H) gives its "
              "eigenvalues in increasing order."],
             """import numpy as np

def condition_number(x):
    h = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    low, high = np.linalg.eigvalsh(h)
    return high / low

answer = condition_number"""),
]
