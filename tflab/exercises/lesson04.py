"""Exercises of lesson 04 (to come)."""

from __future__ import annotations

EXERCISES = []
