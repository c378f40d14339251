"""The text an audit row stores for each kind of value (``services.audit.as_text``).

Known answers are the ISO 8601 forms of the values (``datetime.isoformat``), written out by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest

from psotrack.services.audit import as_text

PLUS_1 = timezone(timedelta(hours=1))


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # ISO 8601 with the "T" separator, microseconds and the UTC offset kept.
        (datetime(2026, 12, 2, 5, 6, 7, 123456, tzinfo=UTC), "2026-12-02T05:06:07.123456+00:00"),
        (datetime(2026, 12, 2, 5, 6, 7, tzinfo=PLUS_1), "2026-12-02T05:06:07+01:00"),
        (datetime(2026, 12, 2, 5, 6, 7), "2026-12-02T05:06:07"),
        (date(2026, 12, 2), "2026-12-02"),
        (None, None),
        (Colour.RED, "red"),
        (True, "True"),
        (7, "7"),
        (Decimal("7.60"), "7.60"),
        ("text", "text"),
        ({"b": 1, "a": [2, "x"]}, '{"a": [2, "x"], "b": 1}'),
    ],
)  # fmt: skip
def test_audit_text_of_each_kind_of_value(value: object, text: str | None) -> None:
    assert as_text(value) == text
