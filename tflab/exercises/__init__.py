"""Exercises that check themselves, in the spirit of Kaggle Learn's checkers.

Each :class:`Exercise` has ``check(answer)`` (runs the answer against the reference
behaviour and says plainly whether it passed, or what is wrong and by how much),
``hint(level)`` and ``solution()``. An answer that still holds the placeholder ``___``
(or a function that still returns it) is reported as "not attempted", which is not a
failure. The exercises of lesson NN live in ``tflab.exercises.lessonNN``.

    from tflab.exercises import ___, get
    ex = get("02", 1)
    answer = ___          # the learner replaces ___
    ex.check(answer)
"""

from __future__ import annotations

from tflab.exercises import (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
)
from tflab.exercises.core import Exercise, Failed, ___

__all__ = ["___", "Exercise", "Failed", "EXERCISES", "get", "for_lesson"]

EXERCISES: list[Exercise] = [
    *lesson00.EXERCISES, *lesson01.EXERCISES, *lesson02.EXERCISES, *lesson03.EXERCISES,
    *lesson04.EXERCISES, *lesson05.EXERCISES, *lesson06.EXERCISES, *lesson07.EXERCISES,
    *lesson08.EXERCISES, *lesson09.EXERCISES,
]


def for_lesson(lesson: str) -> list[Exercise]:
    """The exercises of one lesson, in order (e.g. ``for_lesson("02")``)."""
    return [exercise for exercise in EXERCISES if exercise.lesson == lesson]


def get(lesson: str, number: int) -> Exercise:
    """Exercise ``number`` of lesson ``lesson`` (e.g. ``get("02", 1)``)."""
    for exercise in EXERCISES:
        if exercise.lesson == lesson and exercise.number == number:
            return exercise
    raise KeyError(f"no exercise {lesson}.{number}; there are "
                   f"{', '.join(f'{e.lesson}.{e.number}' for e in EXERCISES)}")
