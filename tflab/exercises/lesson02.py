"""Exercises of lesson 02, the hazards of learning rates."""

from __future__ import annotations

import contextlib
import random

import numpy as np

from tflab.exercises.core import (
    Exercise,
    Failed,
    call,
    calls_of,
    number,
    require_callable,
)
from tflab.exercises.lesson08 import _fresh_seed, _generator

_EIGENVALUES_RULE = ("your function calls solvers.hessian_eigenvalues, the course's own "
                     "eigenvalues of this Hessian, which do the exercise's work for you: build "
                     "the Hessian from x and take np.linalg.eigvalsh of it yourself")
_HESSIAN_RULE = ("your function calls the course's own Hessian (solvers._hessian, directly or "
                 "through another solvers function), which does the exercise's work for you: "
                 "build the Hessian from x and take np.linalg.eigvalsh of it yourself")
_BOUND_RULE = ("stable_rate calls solvers.stability_bound, which does the exercise for you: "
               "compute the Hessian's largest eigenvalue yourself")
_EPOCH_RULE = ("your function calls solvers.epoch_map or solvers.epoch_spectral_radius, the "
               "course's own epoch of descent, which does the exercise's work for you: use the "
               "Hessian's eigenvalues yourself")


def _answer_number(answer, what: str, *args) -> float:
    """The answer's number for ``args``, read while the course's Hessian, eigenvalue and epoch
    functions are forbidden; the checker computes what it compares with only after this
    returns."""
    from tflab import solvers

    with contextlib.ExitStack() as forbidden:
        for function, rule in [(solvers.hessian_eigenvalues, _EIGENVALUES_RULE),
                               (solvers.stability_bound, _BOUND_RULE),
                               (solvers.epoch_spectral_radius, _EPOCH_RULE),
                               (solvers.epoch_map, _EPOCH_RULE),
                               (solvers._hessian, _HESSIAN_RULE)]:
            forbidden.enter_context(calls_of(function, rule=rule))
        return number(call(answer, *args), what)


def _largest_stable_rate(answer) -> str:
    from tflab import data, solvers

    require_callable(answer, "stable_rate(x) returning a learning rate")
    rng = np.random.default_rng(21)
    for x in (rng.uniform(0, 40, 30), rng.normal(5, 2, 17), rng.uniform(-1, 1, 50)):
        rate = _answer_number(answer, "the learning rate stable_rate returns", x.copy())
        # the reference only now, once the answer has returned: it cannot be read while it runs
        hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
        flat, steep = np.linalg.eigvalsh(hessian)
        bound = 2 / steep
        fire_bound = solvers.stability_bound(data.fire_theft()[0])
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
    fire_bound = solvers.stability_bound(data.fire_theft()[0])
    return ("within 1% of 2/λmax on three sets of inputs you had not seen; for the fire/theft "
            f"data it is {fire_bound:.7f}.")


def _condition_number(answer) -> str:
    from tflab import data, solvers

    require_callable(answer, "condition_number(x) returning a number")
    rng = np.random.default_rng(22)
    for x in [data.fire_theft()[0], rng.uniform(0, 10, 40), rng.normal(100, 3, 25)]:
        got = _answer_number(answer, "the condition number", np.array(x))
        eig = solvers.hessian_eigenvalues(x)  # only now, once the answer has returned
        want = eig[-1] / eig[0]
        if not np.isclose(got, want, rtol=1e-3):
            raise Failed(f"for one of the data sets the condition number is {want:.4g}; yours "
                         f"is {got:.4g} ({got / want:.3g} × too "
                         f"{'large' if got > want else 'small'}). Use the Hessian of the mean "
                         "squared error in (w, b), intercept included.")
    return "right on the fire/theft data and on two data sets you have not seen."


def _epochs_per_efold(answer) -> str:
    from tflab import solvers

    require_callable(answer, "epochs_per_efold(x, learning_rate) returning a number of epochs")
    rng = np.random.default_rng(7)
    # the last case has a large step along the flat direction too (η·λmin ≈ 0.3): there the
    # small-step form 1/(η·λmin) is 20% off, and so is a sign slip, 1/ln(1 + η·λmin)
    for x, share in ((rng.uniform(0, 40, 30), 0.4), (rng.normal(5, 2, 17), 0.9),
                     (rng.uniform(-1, 1, 50), 0.05), (rng.uniform(-1, 1, 20), 0.5)):
        # the course's Hessian (solvers._hessian) is forbidden while the answer runs
        rate = share * 2 / np.linalg.eigvalsh(solvers._hessian(x))[-1]
        got = _answer_number(answer, "the number of epochs", x.copy(), rate)
        # only now, once the answer has returned
        flat, steep = np.linalg.eigvalsh(solvers._hessian(x))
        want = -1 / np.log(1 - rate * flat)
        if abs(got / want - 1) <= 0.05 or (got == round(got) and abs(got - want) < 1):
            continue  # within 5%, or the whole number of epochs just below or above it
        if np.isclose(got, 1 / (rate * flat), rtol=1e-4):  # that formula, not just near it
            raise Failed(f"that is the small-step approximation 1/(η·λmin); for {len(x)} inputs "
                         f"you had not seen, at rate {rate:.3g}, η·λmin = {rate * flat:.2f} is "
                         f"not small, and the flat direction shrinks e-fold in {want:.4g} "
                         "epochs: solve (1 − η·λmin)^k = 1/e for k exactly")
        if got == round(got) and abs(got - want) < 3:
            raise Failed(f"for {len(x)} inputs you had not seen, at rate {rate:.3g}, the flat "
                         f"direction shrinks e-fold in {want:.4g} epochs; your whole number of "
                         f"epochs, {got:.0f}, is more than one epoch away from it: round "
                         "k = −1 / ln(1 − η·λmin) to the whole epoch just below or above")
        if np.isclose(got, 1 / np.log(1 + rate * flat), rtol=0.05):
            raise Failed(f"for {len(x)} inputs you had not seen, at rate {rate:.3g}, the flat "
                         f"direction shrinks e-fold in {want:.4g} epochs; yours says {got:.4g}, "
                         "a sign slip: one epoch multiplies the error by 1 − η·λmin (not "
                         "1 + η·λmin), so k = −1 / ln(1 − η·λmin)")
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
    return "within 5% on four sets of inputs you had not seen."


def _growth_inputs(seed: int) -> list[np.ndarray]:
    """02.3's inputs from ``seed``: three sets of drawn sizes and spreads."""
    rng = _generator(seed)
    draws = [lambda n: rng.uniform(0, rng.uniform(5, 40), n),
             lambda n: rng.normal(rng.uniform(-10, 10), rng.uniform(0.5, 5), n),
             lambda n: rng.uniform(-1, 1, n)]
    return [draw(int(rng.integers(10, 60))) for draw in draws]


def _rate_above_bound(x: np.ndarray) -> float:
    """A learning rate above the stability bound for ``x`` by a share (1.05 to 3 times the
    bound) drawn from the operating system: the share is not kept, nor drawn from the seed, so
    only the Hessian of x, what the answer computes, gives it back."""
    from tflab import solvers

    flat, steep = (float(e) for e in np.linalg.eigvalsh(solvers._hessian(x)))
    while True:  # a share whose right answer and named mistakes are 1% apart or more, so
        # each wrong answer gets its own message (not, by chance, another mistake's)
        rate = random.SystemRandom().uniform(1.05, 3.0) * 2 / steep
        factors = sorted([(1 - rate * steep) ** 2, abs(1 - rate * steep), (1 - rate * flat) ** 2,
                          (rate * steep - 1) ** 2 / 4, (1 - rate * steep / 2) ** 2])
        if all(b > a * 1.01 for a, b in zip(factors, factors[1:])):
            return rate


def _growth_factor(answer) -> str:
    from tflab import solvers

    require_callable(answer, "growth_factor(x, learning_rate) returning a number")
    seed = _fresh_seed()  # new runs on every check; the answer gets only x and the rate
    for index, x in enumerate(_growth_inputs(seed)):
        rate = _rate_above_bound(x)  # a float: the answer cannot change it
        got = _answer_number(answer, "the growth factor", x.copy(), rate)
        # only now, once the answer has returned, from the inputs drawn again
        x = _growth_inputs(seed)[index]
        flat, steep = np.linalg.eigvalsh(solvers._hessian(x))
        want = (1 - rate * steep) ** 2
        if np.isclose(got, want, rtol=1e-3):
            continue
        if np.isclose(got, abs(1 - rate * steep), rtol=1e-3):
            raise Failed("that is the factor of the *error* per epoch; the loss grows with the "
                         "square of the error")
        if np.isclose(got, (1 - rate * flat) ** 2, rtol=1e-3):
            raise Failed("that is the flat direction's factor; divergence runs along the steep "
                         "direction, the largest eigenvalue")
        if np.isclose(got, (rate * steep - 1) ** 2 / 4, rtol=1e-2) or np.isclose(
                got, (1 - rate * steep / 2) ** 2, rtol=1e-3):
            raise Failed("a factor 2 is off: the Hessian of the *mean squared* error is "
                         "2·[[mean(x²), mean(x)], [mean(x), 1]]")
        raise Failed(f"for {len(x)} inputs you had not seen, at rate {rate:.3g}, the loss grows "
                     f"by {want:.4g} per epoch once the steep direction dominates; yours says "
                     f"{got:.4g}")
    return "right on three diverging runs you had not seen, drawn for this check."


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
    Exercise("02", 2, "Write condition_number(x): the ratio of the largest to the smallest "
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
    Exercise("02", 3, "Write growth_factor(x, learning_rate): the factor by which the loss of "
             "full-batch gradient descent on the mean squared error of w·x + b grows per epoch "
             "once a run above the stability bound diverges, for any inputs x.", _growth_factor,
             ["Section 4.3: along the steep eigenvector a step multiplies the error by "
              "1 − η·λmax, and the loss grows with the square of the error.",
              "(1 − η·λmax)², with H = 2·[[mean(x²), mean(x)], [mean(x), 1]] and λmax its "
              "largest eigenvalue (np.linalg.eigvalsh(H)[-1])."],
             """import numpy as np

def growth_factor(x, learning_rate):
    hessian = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    steep = np.linalg.eigvalsh(hessian)[-1]
    return (1 - learning_rate * steep) ** 2

answer = growth_factor"""),
]


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
