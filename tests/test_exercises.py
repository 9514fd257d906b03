"""tflab.exercises: references pass, typical wrong answers fail helpfully, placeholders are
'not attempted'."""

from __future__ import annotations

import numpy as np
import pytest

from tflab import exercises, solvers, style
from tflab.exercises import ___


def reference(exercise):
    namespace = {"np": np, "solvers": solvers, "style": style,
                 "x": exercises._fire()[0], "y": exercises._fire()[1]}
    exec(exercise.solution_code, namespace)
    return namespace.get("rate") or namespace.get("fit") or namespace.get("gram")


@pytest.mark.parametrize("exercise", exercises.EXERCISES, ids=lambda e: f"{e.lesson}.{e.number}")
def test_reference_passes_and_placeholder_is_not_attempted(exercise, capsys):
    assert exercise.check(reference(exercise)) == "passed"
    assert "correct!" in capsys.readouterr().out
    assert exercise.check(___) == "not attempted"
    assert "not attempted" in capsys.readouterr().out
    exercise.hint(1)
    exercise.hint(99)  # clamps to the last hint
    exercise.solution()
    out = capsys.readouterr().out
    assert "Hint 1 of" in out and exercise.solution_code.strip().splitlines()[0] in out


@pytest.mark.parametrize("answer, message", [
    (0.005, "too large"), (0.003, "below the largest stable rate"), ("fast", "a number"),
    (-1.0, "positive"),
])
def test_largest_rate_wrong_answers(answer, message, capsys):
    assert exercises.get("02", 1).check(answer) == "failed"
    assert message in capsys.readouterr().out


def test_fast_fit_wrong_answers(capsys):
    ex = exercises.get("02", 2)

    def seed_gd(x, y):  # the original program: far from exact
        run = solvers.gradient_descent(x, y, learning_rate=0.001, epochs=100)
        return run.fit.coef, run.fit.intercept, run.updates

    def slow_but_exact(x, y):
        exact = solvers.exact_least_squares(x, y)
        return exact.coef, exact.intercept, 5000

    assert ex.check(seed_gd) == "failed"
    assert "away from the exact answer" in capsys.readouterr().out
    assert ex.check(slow_but_exact) == "failed"
    assert "updates (needs ≤ 100)" in capsys.readouterr().out
    assert ex.check(42) == "failed"


def test_gram_wrong_answers(capsys):
    ex = exercises.get("08", 1)
    assert ex.check(lambda f: np.einsum("bijc,bijd->bcd", f, f)) == "failed"  # not divided
    assert "divide by the number of positions" in capsys.readouterr().out
    assert ex.check(lambda f: np.einsum("bijc,bijd->bcd", f, f)[0]) == "failed"  # batch dropped
    assert "should have shape" in capsys.readouterr().out


def test_unknown_exercise():
    with pytest.raises(KeyError, match="02.1"):
        exercises.get("99", 1)
