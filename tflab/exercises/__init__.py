"""Exercises that check themselves, in the spirit of Kaggle Learn's checkers.

Each :class:`Exercise` has ``check(answer)`` (runs the answer against the reference
behaviour and says plainly whether it passed, or what is wrong and by how much),
``hint(level)`` and ``solution()``. An answer that still holds the placeholder ``___``
(or a function that still returns it) is reported as "not attempted", which is not a
failure. The exercises of lesson NN live in ``tflab.exercises.lessonNN``: ``EXERCISES`` for
the end of the lesson, ``TRY_ITS`` for the short "Try it" checks right after a core section.

    from tflab.exercises import ___, get
    ex = get("02", 1)     # or try_it("02", 1)
    answer = ___          # the learner replaces ___
    ex.check(answer)
"""

from __future__ import annotations

from tflab.exercises import (
    lesson00,
    lesson01,
    lesson02,
    lesson02b,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson06b,
    lesson07,
    lesson08,
    lesson08b,
    lesson09,
)
from tflab.exercises.core import Exercise, Failed, ___

__all__ = ["___", "Exercise", "Failed", "EXERCISES", "TRY_ITS", "get", "try_it", "for_lesson"]

_LESSONS = (lesson00, lesson01, lesson02, lesson02b, lesson03, lesson04, lesson05, lesson06,
            lesson06b, lesson07, lesson08, lesson08b, lesson09)

EXERCISES: list[Exercise] = [item for lesson in _LESSONS for item in lesson.EXERCISES]
TRY_ITS: list[Exercise] = [item for lesson in _LESSONS for item in getattr(lesson, "TRY_ITS", [])]


def for_lesson(lesson: str) -> list[Exercise]:
    """The exercises of one lesson, in order (e.g. ``for_lesson("02")``)."""
    return [exercise for exercise in EXERCISES if exercise.lesson == lesson]


def _find(items: list[Exercise], kind: str, lesson: str, number: int) -> Exercise:
    for exercise in items:
        if exercise.lesson == lesson and exercise.number == number:
            return exercise
    raise KeyError(f"no {kind} {lesson}.{number}; there are "
                   f"{', '.join(f'{e.lesson}.{e.number}' for e in items)}")


def get(lesson: str, number: int) -> Exercise:
    """Exercise ``number`` of lesson ``lesson`` (e.g. ``get("02", 1)``)."""
    return _find(EXERCISES, "exercise", lesson, number)


def try_it(lesson: str, number: int) -> Exercise:
    """"Try it" ``number`` of lesson ``lesson``, placed after the section it practises."""
    return _find(TRY_ITS, "Try it", lesson, number)
