"""The one number grammar: it accepts exactly what its docstring documents, nothing else.

The reference below is written from the documented rule in plain Python (no regular expression),
and hypothesis checks the module against it on text built from every character that matters:
ASCII and other digits, signs, points, underscores, exponents, letters of NaN/inf, whitespace.
"""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.number_text import parse_decimal, parse_integer

DIGITS = "0123456789"


def documented(text: str, *, decimal: bool) -> bool:
    """The rule as documented: optional sign, ASCII digits, [point, ASCII digits]; spaces around."""
    body = text.strip()
    if body[:1] in ("+", "-"):
        body = body[1:]
    whole, point, fraction = body.partition(".")
    if not whole or any(c not in DIGITS for c in whole):
        return False
    if not point:
        return True
    return decimal and bool(fraction) and all(c in DIGITS for c in fraction)


ALPHABET = st.sampled_from(
    list(DIGITS) + list("+-._eEnaNfiI,") + [" ", "\t", "\u00a0", "٣", "۵", "１", "²", "½"]
)
TEXT = st.text(ALPHABET, max_size=12)


@given(TEXT)
def test_integer_grammar_is_the_documented_rule(text):
    value = parse_integer(text)
    assert (value is not None) == documented(text, decimal=False)
    if value is not None:
        assert value == int(text.strip())  # same value as Python reads the ASCII form


@given(TEXT)
def test_decimal_grammar_is_the_documented_rule(text):
    value = parse_decimal(text)
    assert (value is not None) == documented(text, decimal=True)
    if value is not None:
        assert value == Decimal(text.strip())


@given(
    st.sampled_from(["", "+", "-"]),
    st.text(st.sampled_from(DIGITS), min_size=1, max_size=40),
    st.one_of(st.none(), st.text(st.sampled_from(DIGITS), min_size=1, max_size=10)),
)
def test_every_documented_number_is_read_exactly(sign, whole, fraction):
    text = sign + whole + ("" if fraction is None else "." + fraction)
    assert parse_decimal(f" {text} ") == Decimal(text)
    assert parse_integer(text) == (None if fraction is not None else int(text))


@pytest.mark.parametrize(
    "text", ["٣", "0_1", "1e1", "NaN", "nan", "inf", "Infinity", ".5", "5.", "1,000", "--1", "+-1"]
)
def test_issue_14_reproductions_are_refused(text):
    assert parse_decimal(text) is None
    assert parse_integer(text) is None


def test_a_whole_number_never_has_a_point():
    assert parse_integer("0.0") is None and parse_decimal("0.0") == Decimal("0.0")


def test_thousands_of_digits_are_read_not_crashed():
    assert parse_integer("9" * 5000) == 10**5000 - 1


@pytest.mark.parametrize("digits", [99, 100, 101, 4_300, 5_000])
def test_long_whole_numbers_are_read_exactly(digits):
    # Short numbers are read by int() directly, long ones through Decimal (int() refuses text
    # of more than 4 300 digits): the value is the same on both sides of each edge.
    text = "-" + "7" * digits
    assert parse_integer(f" {text} ") == -int(Decimal("7" * digits))
