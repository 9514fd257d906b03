"""Shared by the test_exercises_lessonNN.py files."""

from __future__ import annotations

import sys


def failed_with(exercise, answer, message: str) -> None:
    """Assert that ``answer`` fails ``exercise`` with ``message`` in the explanation."""
    status, text = exercise.judge(answer)
    assert status == "failed", text
    assert message in text, text


def caller_value(name: str, default=None):
    """A cheat's helper: ``name`` from the first frame up the stack that holds it."""
    frame = sys._getframe(1)
    while frame is not None:
        if name in frame.f_locals:
            return frame.f_locals[name]
        frame = frame.f_back
    return default
