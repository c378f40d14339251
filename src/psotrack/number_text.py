"""The one grammar for numbers written as text, used wherever a number enters psotrack.

A whole number is an optional sign (``+`` or ``-``) and one or more ASCII digits; a decimal may
add one point followed by one or more ASCII digits. Whitespace around the number is ignored.
Everything else is refused: other scripts' digits (``٣``), underscores (``0_1``), exponents
(``1e1``), ``NaN`` and ``inf``, thousands separators, a bare point (``.5``, ``5.``), a
decimal where a whole number is wanted (a day of ``0.0``). Command-line options, CSV cells and
``--days`` all read numbers through this module, so a value the command line takes is one the
files take too. Ranges (which sign, how large) are checked afterwards by each field's own rule,
so that ``-3`` is reported as outside its range rather than as unreadable.

>>> parse_integer(" -12 "), parse_integer("٣"), parse_integer("0_1"), parse_integer("3.0")
(-12, None, None, None)
>>> parse_decimal("7.6"), parse_decimal("1e1"), parse_decimal("NaN")
(Decimal('7.6'), None, None)
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import polars as pl

#: A whole number: optional sign, ASCII digits (unanchored, for composing patterns).
INTEGER: Final = r"[+-]?[0-9]+"
#: A decimal number: a whole number, optionally a point and more ASCII digits.
DECIMAL: Final = r"[+-]?[0-9]+(?:\.[0-9]+)?"
#: The same, anchored, for matching a whole (already stripped) cell.
INTEGER_TEXT: Final = f"^{INTEGER}$"
DECIMAL_TEXT: Final = f"^{DECIMAL}$"

_INTEGER: Final = re.compile(INTEGER, re.ASCII)
#: Up to this many characters, a matched whole number is read by int() directly (the same value).
_SHORT: Final = 100
_DECIMAL: Final = re.compile(DECIMAL, re.ASCII)


def parse_integer(text: str) -> int | None:
    """The whole number ``text`` spells by the grammar above, or None if it spells none."""
    clean = text.strip()
    if _INTEGER.fullmatch(clean) is None:
        return None
    if len(clean) <= _SHORT:
        return int(clean)
    return int(Decimal(clean))  # Decimal first: int() refuses more than 4300 digits


def parse_decimal(text: str) -> Decimal | None:
    """The decimal number ``text`` spells (kept exactly, as typed), or None if it spells none."""
    clean = text.strip()
    if _DECIMAL.fullmatch(clean) is None:
        return None
    return Decimal(clean)


def number_column(text: pl.Expr, *, integer: bool) -> tuple[pl.Expr, pl.Expr]:
    """Polars expressions for a text column: its values as Float64, and where it is unreadable.

    ``text`` should already be stripped, with missing cells null (null is neither a value nor
    unreadable). The values are null wherever the grammar refuses the cell; a whole number with
    too many digits for a float is still read (as a large float), so that a range check can name
    it instead of it silently becoming missing.
    """
    import polars as pl

    readable = text.str.contains(INTEGER_TEXT if integer else DECIMAL_TEXT)
    values = pl.when(readable).then(text).otherwise(None).cast(pl.Float64, strict=False)
    return values, text.is_not_null() & ~readable


_SUPERSCRIPT: Final = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def scientific(value: float) -> str:
    """A cell count as people write it: ``1.5 × 10⁶`` (3 significant digits).

    >>> scientific(1.5e6), scientific(2.25e8), scientific(500.0)
    ('1.5 × 10⁶', '2.25 × 10⁸', '500')
    """
    text = f"{value:.3g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
