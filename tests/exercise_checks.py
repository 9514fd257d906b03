"""Shared by the test_exercises_lessonNN.py files."""

from __future__ import annotations


def failed_with(exercise, answer, message: str) -> None:
    """Assert that ``answer`` fails ``exercise`` with ``message`` in the explanation."""
    status, text = exercise.judge(answer)
    assert status == "failed", text
    assert message in text, text
