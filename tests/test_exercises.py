"""tflab.exercises: every exercise's reference solution passes, and placeholders are
'not attempted'. Typical wrong answers are tested per lesson in test_exercises_lessonNN.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tflab import exercises
from tflab.exercises import ___

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def reference(exercise):
    """The answer defined by the exercise's solution code, run on its own."""
    namespace: dict = {}
    exec(exercise.solution_code, namespace)
    return namespace["answer"]


ALL = exercises.EXERCISES + exercises.TRY_ITS


def label(exercise) -> str:
    return f"{'try' if exercise.try_it else 'ex'}{exercise.lesson}.{exercise.number}"


@pytest.mark.parametrize("exercise", ALL, ids=label)
def test_reference_passes_and_placeholder_is_not_attempted(exercise, capsys):
    status, message = exercise.judge(reference(exercise))
    assert status == "passed", message
    assert exercise.judge(___)[0] == "not attempted"
    exercise.check(reference(exercise))
    exercise.check(___)
    exercise.hint(1)
    exercise.hint(99)  # clamps to the last hint
    exercise.solution()
    out = capsys.readouterr().out
    assert f"{exercise.label}: correct!" in out
    assert f"{exercise.label}: not attempted" in out
    assert "Hint 1 of" in out and exercise.solution_code.strip().splitlines()[0] in out
    assert len(exercise.hints) >= 1 and exercise.question


@pytest.mark.parametrize("lesson", [f"{n:02d}" for n in range(10)] + ["02b", "06b", "08b"])
def test_every_lesson_has_three_to_five_exercises_in_its_notebook(lesson):
    found = exercises.for_lesson(lesson)
    fewest = 2 if lesson.endswith("b") else 3  # a second session or deep dive: two, and a Try it
    assert fewest <= len(found) <= 5, [e.label for e in found]
    assert [e.number for e in found] == list(range(1, len(found) + 1))
    notebook = next(NOTEBOOKS.glob(f"{lesson}_*.ipynb")).read_text()
    for exercise in found:
        assert re.search(rf'exercises\.get\(\\"{lesson}\\", {exercise.number}\)', notebook), \
            f"{exercise.label} has no answer cell in the notebook"


def test_unknown_exercise():
    with pytest.raises(KeyError, match="02.1"):
        exercises.get("99", 1)
    with pytest.raises(KeyError, match="no Try it 99.1"):
        exercises.try_it("99", 1)


def markdown_and_code(notebook: Path) -> list[tuple[str, str]]:
    cells = json.loads(notebook.read_text())["cells"]
    return [(cell["cell_type"], "".join(cell["source"])) for cell in cells]


TRY_IT_LESSONS = ["00", "01", "02", "02b", "03", "04", "05", "06", "06b", "07", "08", "08b", "09"]


@pytest.mark.parametrize("lesson", TRY_IT_LESSONS)
def test_a_try_it_follows_a_core_section_before_the_summary(lesson):
    """TEACHING.md §7: a short self-checking exercise right after a core section, in the main
    path (before the summary and the end-of-lesson exercises), labelled as a Try it."""
    found = [e for e in exercises.TRY_ITS if e.lesson == lesson]
    assert found, f"lesson {lesson} has no Try it"
    assert [e.number for e in found] == list(range(1, len(found) + 1))
    assert all(e.try_it and e.label.startswith("Try it") for e in found)
    cells = markdown_and_code(next(NOTEBOOKS.glob(f"{lesson}_*.ipynb")))
    summary = next(i for i, (kind, text) in enumerate(cells)
                   if kind == "markdown" and text.startswith("## Summary"))
    for exercise in found:
        where = [i for i, (kind, text) in enumerate(cells) if kind == "code"
                 and f'exercises.try_it("{lesson}", {exercise.number})' in text]
        assert len(where) == 1, f"{exercise.label} has no single answer cell in the notebook"
        assert where[0] < summary, f"{exercise.label} comes after the summary"
        before = cells[where[0] - 1]
        assert before[0] == "markdown" and f"**Try it {lesson}.{exercise.number}" in before[1], \
            f"{exercise.label}'s answer cell should follow its question in Markdown"



def plain_function(exercise) -> bool:
    """Whether the answer is a function the notebook starts as `def f(...): return ___`."""
    code = exercise.solution_code
    match = re.search(r"^def (\w+)\(", code, re.M)
    return bool(match and re.search(rf"^answer = {match.group(1)}$", code, re.M)
                and not re.search(rf"^@.*\ndef {match.group(1)}\b", code, re.M))


FUNCTIONS = [e for e in ALL if plain_function(e)]


def test_most_answers_are_functions():
    assert len(FUNCTIONS) >= 20


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=label)
def test_a_function_that_returns_the_placeholder_is_not_attempted(exercise):
    def unfinished(*args, **kwargs):
        return ___

    assert exercise.judge(unfinished) == ("not attempted", "your function still returns ___; "
                                          "finish it and run the cell again.")


JUNK = [None, 42, "x", float("nan"), [1, 2], {"a": 1}, lambda *a, **k: None,
        lambda *a, **k: "x", lambda *a, **k: float("nan"), lambda *a, **k: {"a": 1},
        lambda *a, **k: [None] * 10, lambda *a, **k: np.full((6, 10), np.nan),
        lambda *a, **k: exec("raise SystemExit(3)")]


@pytest.mark.parametrize("exercise", ALL, ids=label)
def test_junk_answers_fail_with_a_message_and_never_crash_the_checker(exercise):
    for answer in JUNK:
        status, message = exercise.judge(answer)
        assert status == "failed" and message, (answer, status, message)


def test_checks_leave_the_learners_random_generators_alone():
    import random

    random.seed(5)
    np.random.seed(5)
    exercises.get("07", 3).judge(reference(exercises.get("07", 3)))
    assert (random.random(), np.random.rand()) == (random.Random(5).random(),
                                                   np.random.RandomState(5).rand())
