"""Numeric command-line options read by the one number grammar (:mod:`psotrack.number_text`).

Typer would read ``--seed 1_0`` as 10; these parsers (``typer.Option(parser=...)``) refuse it,
so an option takes exactly the numbers a CSV cell takes. A refusal is a
:class:`~psotrack.errors.ValidationError`, reported by :func:`psotrack.cli.main` as one line
with exit code 2. Ranges are checked by the function the option feeds, except the seed's,
which is the command line's own: seeds are 0 to 2³² − 1, the range numpy takes as one word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from psotrack.errors import ValidationError
from psotrack.number_text import parse_decimal, parse_integer

SEED_MAX: Final = 2**32 - 1


def whole_number(
    option: str, bounds: tuple[int, int] | None = None, what: str = ""
) -> Callable[[object], int]:
    """A parser for an integer option named ``option``, optionally within ``bounds``.

    Typer ignores ``min``/``max`` on an option with a parser, so a range the command line owns
    is given here. The option's default passes through unchecked.
    """

    def parse(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # the option's default
        number = parse_integer(str(value))
        if number is None:
            raise ValidationError(option, str(value), "a whole number", kind="type")
        if bounds is not None and not bounds[0] <= number <= bounds[1]:
            raise ValidationError(option, number, f"{bounds[0]}–{bounds[1]} ({what})")
        return number

    return parse


def decimal_number(option: str) -> Callable[[object], float]:
    """A parser for a real-number option named ``option`` (its default passes through)."""

    def parse(value: object) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)  # the option's default
        number = parse_decimal(str(value))
        if number is None:
            raise ValidationError(option, str(value), "a number", kind="type")
        return float(number)

    return parse


#: ``--seed``: a whole number 0 to 2³² − 1 (same seed, same output).
seed = whole_number("--seed", (0, SEED_MAX), "a seed")
