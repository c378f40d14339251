"""Strict checks shared by every instrument: integers are integers, never bools or strings."""

from __future__ import annotations

import math
from decimal import Decimal

from psotrack.errors import Problem

Number = int | float | Decimal


def integer_problem(field: str, value: object, low: int, high: int, what: str) -> Problem | None:
    """Return the problem with an integer score, or None when ``low <= value <= high``.

    ``True`` and ``"3"`` are refused, not coerced: a form that sends them has a bug worth seeing.
    """
    if type(value) is int and low <= value <= high:  # the usual case, without building text
        return None
    allowed = f"{low}–{high} ({what})"
    if isinstance(value, bool) or not isinstance(value, int):
        return Problem(field, value, f"an integer {allowed}", kind="type")
    if not low <= value <= high:
        return Problem(field, value, allowed)
    return None


def number_problem(
    field: str, value: object, low: Number, high: Number, what: str
) -> Problem | None:
    """Return the problem with a real number (int, float or Decimal), or None when in range."""
    allowed = f"{_fmt(low)}–{_fmt(high)} ({what})"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return Problem(field, value, f"a number {allowed}", kind="type")
    if isinstance(value, float) and not math.isfinite(value):
        return Problem(field, value, f"a finite number {allowed}", kind="type")
    if isinstance(value, Decimal) and not value.is_finite():
        return Problem(field, value, f"a finite number {allowed}", kind="type")
    if not low <= value <= high:
        return Problem(field, value, allowed)
    return None


def exact(value: Number) -> Decimal:
    """The decimal a person typed: ``exact(1.9) == Decimal('1.9')``, not 1.899999…

    Floats are read through their shortest repr, which is what was entered for any value with
    up to 15 significant digits.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(value))


def _fmt(x: Number) -> str:
    return str(x)
