"""Exercises of lesson 07 (to come)."""

from __future__ import annotations

EXERCISES = []
