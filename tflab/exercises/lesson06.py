"""Exercises of lesson 06 (to come)."""

from __future__ import annotations

EXERCISES = []
