"""Small builders of FHIR R4 JSON parts (codings, references, quantities, extensions, times).

Values are plain JSON (a stored float is written as its shortest text that reads back equal);
:mod:`psotrack.interop.fhir_bundle` puts them together and checks the result with R4B models.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from psotrack.interop import fhir_codes as codes

Resource = dict[str, Any]
NAMESPACE = uuid.UUID("5b0f7a4e-2f1e-4c43-9d3a-7a1f3f0c6e11")


def stable_url(*parts: object) -> str:
    """A stable ``urn:uuid`` for a record row: the same row gives the same URL in every export."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '/'.join(str(p) for p in parts))}"


def extensions(*items: tuple[str, str, Any]) -> list[Resource]:
    return [
        {"url": codes.extension_url(name), kind: value}
        for name, kind, value in items
        if value is not None
    ]


def coding(system: str, code: str, display: str | None = None) -> Resource:
    found = {"system": system, "code": code}
    return found if display is None else {**found, "display": display}


def category(code: str) -> Resource:
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    return {"coding": [coding(system, code)]}


def ref(url: str) -> Resource:
    return {"reference": url}


def quantity(value: float | int | None, unit: str) -> Resource:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": unit}


def decimal(value: float | None) -> float | None:
    """A stored float for a FHIR decimal: JSON writes its shortest text that reads back equal."""
    return None if value is None else float(value)


def number(text: str) -> int | float:
    """An exact score text (``"12.3"``, ``"7"``) as the JSON number of the same text."""
    return float(text) if "." in text else int(text)


def moment(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.isoformat()


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def json_text(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def drop_empty(value: Resource) -> Resource:
    return {k: v for k, v in value.items() if v not in (None, [None], [])}
