"""Exercises of lesson 02, the hazards of learning rates."""

from __future__ import annotations

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    calls_of,
    number,
    numbers,
    require_callable,
)


def _largest_stable_rate(answer) -> str:
    from tflab import data, solvers

    require_callable(answer, "stable_rate(x) returning a learning rate")
    fire_bound = solvers.stability_bound(data.fire_theft()[0])
    rng = np.random.default_rng(21)
    for x in (rng.uniform(0, 40, 30), rng.normal(5, 2, 17), rng.uniform(-1, 1, 50)):
        hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
        flat, steep = np.linalg.eigvalsh(hessian)
        bound = 2 / steep
        with calls_of(solvers.stability_bound) as library:
            rate = number(call(answer, x.copy()), "the learning rate stable_rate returns")
        if library:
            raise Failed("stable_rate calls solvers.stability_bound, which does the exercise for "
                         "you: compute the Hessian's largest eigenvalue yourself")
        if abs(rate / bound - 1) <= 0.01:
            continue
        if np.isclose(rate, fire_bound, rtol=0.01):
            raise Failed("stable_rate gives the fire/theft data's bound whatever x it gets: "
                         "compute it from x")
        if np.isclose(rate, 2 / flat, rtol=0.01):
            raise Failed("that is 2 / the *smallest* eigenvalue; the steepest direction, the "
                         "largest eigenvalue, sets the bound")
        if np.isclose(rate, 1 / steep, rtol=0.01):
            raise Failed("half the bound: a step overshoots past 2/λmax, not 1/λmax")
        if np.isclose(rate, bound / len(x), rtol=0.01):
            raise Failed("that is the bound for the *summed* squared error; the loss is the mean")
        if np.isclose(rate, 1 / np.mean(x * x), rtol=0.01):
            raise Failed("that ignores the intercept: the Hessian of (w, b) is "
                         "2·mean([[x², x], [x, 1]]), and its largest eigenvalue is not 2·mean(x²)")
        how = "too large: descent diverges there" if rate > bound else "stable but too small"
        raise Failed(f"for {len(x)} inputs you had not seen, the largest stable rate is "
                     f"{bound:.5g}; yours, {rate:.5g}, is {how}")
    return ("within 1% of 2/λmax on three sets of inputs you had not seen; for the fire/theft "
            f"data it is {fire_bound:.7f}.")


class _CountedGradient:
    """gradient(w, b, inputs): (dL/dw, dL/db) of L = mean((w·inputs + b − y)²) for targets ``y``
    the learner does not see; ``calls`` counts the evaluations, each one parameter update."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y, self.calls = x, y, 0

    def __call__(self, w, b, inputs) -> tuple[float, float]:
        self.calls += 1
        w, b = number(w, "w given to gradient"), number(b, "b given to gradient")
        u = numbers(inputs, "inputs given to gradient").ravel()
        if u.shape != self.x.shape:
            raise Failed(f"gradient(w, b, inputs) needs one input per example ({len(self.x)}); "
                         f"it got {u.size}")
        design = np.stack([self.x, np.ones_like(self.x)], axis=1)
        scale, shift = np.linalg.lstsq(design, u, rcond=None)[0]
        if np.max(np.abs(scale * self.x + shift - u)) > 1e-9 * (1 + np.max(np.abs(u))):
            raise Failed("gradient(w, b, inputs) takes x or a rescaled copy a·x + c as inputs, "
                         "nothing else")
        residual = w * u + b - self.y
        return float(2 * np.mean(residual * u)), float(2 * np.mean(residual))


def _fast_fit(answer) -> str:
    """The answer is fit(x, gradient) -> (slope, intercept); the checker counts the gradient
    evaluations itself, on the fire/theft data and on two data sets the learner has not seen."""
    from tflab import data, solvers

    require_callable(answer, "fit(x, gradient) returning (slope, intercept)")
    rng = np.random.default_rng(2026)
    cases = [data.fire_theft(), (rng.uniform(0, 100, 60), None), (rng.normal(50, 5, 30), None)]
    for i, (x, y) in enumerate(cases):
        x = np.asarray(x, dtype=np.float64)
        if y is None:
            y = 3.0 * x - 7.0 + rng.normal(0, 2, len(x))
        exact = solvers.exact_least_squares(x, y)
        gradient = _CountedGradient(x, np.asarray(y, dtype=np.float64))
        result = call(answer, x.copy(), gradient)
        try:
            coef, intercept = result
        except (TypeError, ValueError):
            raise Failed("fit should return two numbers: (slope, intercept), "
                         f"not {result!r}"[:300]) from None
        coef, intercept = number(coef, "the slope"), number(intercept, "the intercept")
        if gradient.calls == 0:
            raise Failed(f"on data set {i + 1} fit never called gradient: find the line by "
                         "gradient descent, with the gradient you are given")
        if gradient.calls > 100:
            raise Failed(f"on data set {i + 1} it took {gradient.calls} calls of gradient, "
                         "that is updates (needs ≤ 100)")
        error = max(abs(coef - exact.coef), abs(intercept - exact.intercept))
        if error > 1e-4:
            raise Failed(f"on data set {i + 1} your line is {error:.2g} away from the exact "
                         f"answer (needs ≤ 1e-4) after {gradient.calls} calls of gradient")
    return "within 1e-4 of the exact answer in ≤ 100 gradient updates on all three data sets."


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
                         f"is {got:.4g} ({got / want:.3g} × too "
                         f"{'large' if got > want else 'small'}). Use the Hessian of the mean "
                         "squared error in (w, b), intercept included.")
    return "right on the fire/theft data and on two data sets you have not seen."


EXERCISES = [
    Exercise("02", 1, "Write stable_rate(x): the largest learning rate for which full-batch "
             "gradient descent on the mean squared error of a line w·x + b does not diverge, "
             "for any inputs x (within 1%).", _largest_stable_rate,
             ["Divergence starts where one step overshoots along the steepest direction of the "
              "loss: the Hessian's eigenvector of largest eigenvalue.",
              "The Hessian is 2·[[mean(x²), mean(x)], [mean(x), 1]]; the bound is 2 divided by "
              "its largest eigenvalue (np.linalg.eigvalsh sorts them)."],
             """import numpy as np

def stable_rate(x):
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    return 2 / np.linalg.eigvalsh(hessian)[-1]

answer = stable_rate"""),
    Exercise("02", 2, "Write fit(x, gradient) -> (slope, intercept) that reaches within 1e-4 "
             "of the exact least-squares line in at most 100 parameter updates. You do not get "
             "y: gradient(w, b, inputs) returns (dL/dw, dL/db) of the mean squared error of "
             "w·inputs + b against it, where inputs is x or a rescaled copy a·x + c, and "
             "each call counts as one update.", _fast_fit,
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


def _hessian(x: np.ndarray) -> np.ndarray:
    return 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])


def _epochs_per_efold(answer) -> str:
    require_callable(answer, "epochs_per_efold(x, learning_rate) returning a number of epochs")
    rng = np.random.default_rng(7)
    for x, share in ((rng.uniform(0, 40, 30), 0.4), (rng.normal(5, 2, 17), 0.9),
                     (rng.uniform(-1, 1, 50), 0.05)):
        flat, steep = np.linalg.eigvalsh(_hessian(x))
        rate = share * 2 / steep
        want = -1 / np.log(1 - rate * flat)
        got = number(call(answer, x.copy(), rate), "the number of epochs")
        if abs(got / want - 1) <= 0.05:
            continue
        if np.isclose(got, -1 / np.log(abs(1 - rate * steep)), rtol=0.05):
            raise Failed("that is the steep direction's e-fold time; the flat direction, the "
                         "smallest eigenvalue, is the slow one")
        if np.isclose(got, want / len(x), rtol=0.05):
            raise Failed(f"that counts {len(x)} updates per epoch, as per-sample descent makes; "
                         "a full-batch epoch is one update")
        if np.isclose(got, want * 2, rtol=0.1):
            raise Failed("that is twice the answer: the Hessian of the *mean squared* error is "
                         "2·[[mean(x²), mean(x)], [mean(x), 1]], with the factor 2")
        raise Failed(f"for {len(x)} inputs you had not seen, at rate {rate:.3g}, the flat "
                     f"direction shrinks e-fold in {want:.4g} epochs; yours says {got:.4g}")
    return "within 5% on three sets of inputs you had not seen."


TRY_ITS = [
    Exercise("02", 1, "Write epochs_per_efold(x, learning_rate): how many epochs of full-batch "
             "gradient descent on the mean squared error of w·x + b shrink the error along the "
             "flat direction by a factor e, for any inputs x.", _epochs_per_efold,
             ["One full-batch epoch multiplies the error along an eigenvector of the Hessian by "
              "1 − η·λ; the flat direction has the smallest λ.",
              "After k epochs the factor is (1 − η·λmin)^k; set it equal to 1/e and solve for "
              "k: k = −1 / ln(1 − η·λmin) (about 1 / (η·λmin) when η·λmin is small)."],
             """import numpy as np

def epochs_per_efold(x, learning_rate):
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    flat = np.linalg.eigvalsh(hessian)[0]
    return -1 / np.log(1 - learning_rate * flat)

answer = epochs_per_efold""", try_it=True),
]
