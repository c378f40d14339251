"""Rows of a REDCap export that become lab results, adverse events or administrations.

Each mapped field's cell is turned into the type the service's payload takes: whole numbers and
decimals by :mod:`psotrack.number_text`, dates as REDCap's raw ``YYYY-MM-DD`` (a time may follow),
yes/no fields as true/false, closed lists (term, relatedness, outcome, route, analyte, seriousness
criteria) by the choice's label or code matched to psotrack's vocabulary without regard to case.
The services themselves check everything else when the entry is stored.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Final

from psotrack.errors import Problem
from psotrack.interop.redcap_files import (
    DataDictionary,
    DictionaryField,
    RecordRow,
    checked_codes,
    choice_code,
)
from psotrack.interop.redcap_logic import shown
from psotrack.interop.redcap_mapping import RedcapMapping
from psotrack.number_text import parse_decimal, parse_integer
from psotrack.store.vocabulary import (
    ANALYTES,
    AeOutcome,
    AeTerm,
    ProductSource,
    Relatedness,
    Route,
    SeriousCriterion,
)

INTEGERS: Final = frozenset({"grade", "passage", "total_cells"})
DECIMALS: Final = frozenset(
    {"value", "reference_low", "reference_high", "body_weight_kg", "cells_per_kg",
     "viability_pct", "volume_ml", "rate_ml_per_h"}
)  # fmt: skip
DATES: Final = frozenset({"onset_date", "resolution_date", "recorded_on"})
DATETIMES: Final = frozenset({"sampled_at", "started_at", "stopped_at"})
FLAGS: Final = frozenset({"serious", "expected", "cryopreserved"})
CLOSED: Final[dict[str, frozenset[str]]] = {
    "term": frozenset(AeTerm),
    "relatedness": frozenset(Relatedness),
    "outcome": frozenset(AeOutcome),
    "product_source": frozenset(ProductSource),
    "route": frozenset(Route),
    "analyte": frozenset(ANALYTES),
    "serious_criteria": frozenset(SeriousCriterion),
}


def read_entry(
    row: RecordRow,
    section: str,
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    found: list[Problem],
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The payload (less the patient) of one row's entry, and the file's name of each key."""
    names = {k: f for k, f in mapping.fields[section].items() if f in dictionary.fields}
    payload: dict[str, Any] = {}
    for key, name in names.items():
        item = dictionary.fields[name]
        if not shown(item, row, dictionary):
            continue
        if item.field_type == "checkbox":
            codes, bad = checked_codes(row, item)
            found.extend(bad)
            labels = [item.choices[c] for c in codes]
            payload[key] = [
                _closed(key, name, lab, c, found) for lab, c in zip(labels, codes, strict=True)
            ]
            continue
        text = row.cells.get(name)
        if text is None:
            continue
        value = _typed(key, name, item, text, found)
        if value is not None:
            payload[key] = value
    if not any(v not in (None, []) for v in payload.values()):
        return None
    if section == "adverse_events" and "serious_criteria" in payload:
        payload["serious_criteria"] = tuple(payload["serious_criteria"])
    return payload, names


def _typed(key: str, name: str, item: DictionaryField, text: str, found: list[Problem]) -> Any:
    if item.choices:
        code = choice_code(item, text)
        if code is None:
            allowed = "one of the field's choices: " + ", ".join(
                f"{c} {v}" for c, v in item.choices.items()
            )
            found.append(Problem(name, text, allowed, "invalid"))
            return None
        if key in FLAGS:
            return code == "1"
        if key in CLOSED:
            return _closed(key, name, item.choices[code], code, found)
        text = code
    if key in INTEGERS:
        return _integer(name, text, found)
    if key in DECIMALS:
        number = parse_decimal(text)
        if number is None:
            found.append(Problem(name, text, "a number", "type"))
            return None
        return float(number)
    if key in DATES or key in DATETIMES:
        moment = read_datetime(name, text, found)
        if moment is None:
            return None
        return moment.date() if key in DATES else moment
    if key in FLAGS:
        found.append(Problem(name, text, "1 (yes) or 0 (no)", "type"))
        return None
    if key in CLOSED:
        return _closed(key, name, text, text, found)
    return text


def _closed(key: str, name: str, label: str, code: str, found: list[Problem]) -> str | None:
    allowed = CLOSED[key]
    for candidate in (label.casefold(), code.casefold(), label, code):
        if candidate in allowed:
            return candidate
    found.append(Problem(name, label, f"one of {', '.join(sorted(allowed))}", "invalid"))
    return None


#: REDCap's raw date and time formats. A text matches at most one of them (strptime refuses text
#: left over or missing), so the order tried changes nothing but speed: a date tries the date first.
_MOMENTS: Final = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


#: A padded ``YYYY-MM-DD``, which ``date.fromisoformat`` reads as strptime would (faster).
_PADDED_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def read_date(name: str, text: str, found: list[Problem]) -> date | None:
    if _PADDED_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # an impossible date (2024-02-30): named below as any unreadable one
    moment = read_datetime(name, text, found, _MOMENTS[::-1])
    return None if moment is None else moment.date()


def read_datetime(
    name: str, text: str, found: list[Problem], patterns: tuple[str, ...] = _MOMENTS
) -> datetime | None:
    for pattern in patterns:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    found.append(Problem(name, text, "a date as YYYY-MM-DD (REDCap's raw date format)", "type"))
    return None


def _integer(name: str, text: str, found: list[Problem]) -> int | None:
    value = parse_integer(text)
    if value is None:
        found.append(Problem(name, text, "a whole number", "type"))
    return value
