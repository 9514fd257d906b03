"""Checked numbers that hold on every student's machine.

Seeding fixes a notebook's numbers on one machine only: oneDNN picks AVX2, AVX-512 or AMX
kernels at run time and the thread count changes how sums are split, so the last digits of a
long computation differ from laptop to laptop. A checked cell (``# NBVAL_CHECK_OUTPUT``)
prints a number to the digits that survive those differences; a small difference as the power
of ten above it with :func:`below`; or, where no rounding is safe (a value can sit on a
rounding boundary), against a stated tolerance with :func:`about`::

    print(f"test accuracy: {about(test_accuracy, '0.974 ± 0.005')}")

prints ``test accuracy: 0.974 ± 0.005`` for any value from 0.969 to 0.979, so the line reads
the same on every machine whose result lies in the band, and the measured value with the band
it left when it does not (nbval then reports the difference). The exact value of this run is
printed by an unchecked cell beside it.
"""

from __future__ import annotations

import math
import re

__all__ = ["about", "below"]

_SPEC = re.compile(r"^\s*([-+]?\d+(?:\.(\d*))?)\s*±\s*(\d+(?:\.\d*)?)\s*(%?)\s*$")


def about(value: float, expected: str) -> str:
    """``expected`` (``"0.974 ± 0.005"``, or ``"15.3 ± 5%"``, relative) when ``value`` lies
    within it, else ``value`` to the same digits followed by ``(expected 0.974 ± 0.005)``.

    The digits printed are those written after the point of the expected value.
    """
    match = _SPEC.match(expected) if isinstance(expected, str) else None
    if match is None:
        raise ValueError(f"about(): expected must read like '0.974 ± 0.005' or '15.3 ± 5%', "
                         f"got {expected!r}")
    centre_text, decimals, tol_text, percent = match.groups()
    centre, tol = float(centre_text), float(tol_text)
    if percent:
        tol = abs(centre) * tol / 100
    band = f"{centre_text} ± {tol_text}{percent}"
    value = float(value)
    # A tolerance written in decimals (0.005) is itself rounded: allow for float error.
    if math.isfinite(value) and abs(value - centre) <= tol * (1 + 1e-9) + 1e-12:
        return band
    return f"{value:.{len(decimals or '')}f} (expected {band})"


def below(x: float) -> str:
    """A small non-negative difference as the power of ten above it: 3.2e-07 -> ``below 1e-06``.

    Differences of float32 rounding change from machine to machine; their order of magnitude
    does not. Zero and anything under 1e-12 read ``below 1e-11``.
    """
    x = float(x)
    if not x >= 0 or not math.isfinite(x):
        raise ValueError(f"below(): expected a finite difference >= 0, got {x!r}")
    return f"below 1e{int(math.floor(math.log10(max(x, 1e-12)))) + 1:+03d}"
