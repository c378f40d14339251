"""Reading audit rows in tests: a creation row's fields and per-field rows, by field name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psotrack.services.audit import created_fields


def audited_values(entries: Iterable[Any]) -> dict[str | None, str | None]:
    """Each audited field's new value: a creation row's fields, then per-field rows in order."""
    values: dict[str | None, str | None] = {}
    for entry in entries:
        fields = created_fields(entry)
        values.update({entry.field: entry.new_value} if fields is None else fields)
    return values
