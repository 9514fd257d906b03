"""Exercises of lesson 05 (to come)."""

from __future__ import annotations

EXERCISES = []
