"""Reading service payloads with strict pydantic models, reporting every problem our way.

Numbers and flags are strict (declare them with :data:`Int`, :data:`Float`, :data:`Bool`): lax
pydantic turns ``false`` into 0 and ``"3"`` into 3. Dates and times stay lax, so ISO text from a
form or JSON body is read. Each pydantic error becomes a :class:`~psotrack.errors.Problem`
naming field, value and rule.

Dates and times lie from 1900-01-01 to 2100-12-31 (:data:`EARLIEST_DATE`, :data:`LATEST_DATE`).
Text is checked here, before the database, the same way for SQLite and PostgreSQL: surrounding
whitespace is trimmed, lengths are those of the columns, and control characters (NUL, which
PostgreSQL cannot store, and the rest; tab and line breaks excepted) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, TypeVar

import pydantic
from pydantic_core import PydanticCustomError

from psotrack.errors import Problem, ValidationError

Model = TypeVar("Model", bound=pydantic.BaseModel)

Int = pydantic.StrictInt
#: Also takes an int, never a bool or text; never infinite or NaN (JSON has no such numbers, but
#: Python's reader takes ``Infinity`` and ``NaN``, and no answer could carry them back).
Float = Annotated[pydantic.StrictFloat, pydantic.Field(allow_inf_nan=False)]
Bool = pydantic.StrictBool
Text = pydantic.StrictStr
#: A row id: a positive integer that fits the database's INTEGER column (PostgreSQL int4).
MAX_ID = 2**31 - 1
Id = Annotated[pydantic.StrictInt, pydantic.Field(ge=1, le=MAX_ID)]
#: Characters no stored text may hold: C0 controls and DEL, except tab, line feed, return.
CONTROL_CHARACTERS: Final = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
NO_CONTROL_CHARACTERS: Final = "text without control characters (tab and line breaks excepted)"
#: Calendar dates psotrack accepts where a date anchors study days (e.g. an import's day 0).
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2100, 12, 31)
DATE_RANGE: Final = f"a date from {EARLIEST_DATE} to {LATEST_DATE}"

_CONTROL: Final = re.compile(CONTROL_CHARACTERS)


class Payload(pydantic.BaseModel):
    """Base of every service input: unknown fields refused, immutable, text trimmed and storable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, str) and _CONTROL.search(value):
            raise PydanticCustomError("control_character", NO_CONTROL_CHARACTERS)
        return value

    @pydantic.field_validator("*", mode="after")
    @classmethod
    def _calendar_date(cls, value: Any) -> Any:
        # Year 1 or 9999 with a UTC offset cannot even be converted to UTC; no clinical date
        # lies outside these bounds.
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise PydanticCustomError("date_range", DATE_RANGE)
        return value


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken as UTC (SQLite would drop any offset silently)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def require_id(field: str, value: object) -> int:
    """Check an id passed directly to a service (not in a payload): a positive int4 integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, value, "an integer id", "type")
    if not 1 <= value <= MAX_ID:
        raise ValidationError(field, value, f"1–{MAX_ID} (an id)")
    return value


def require_reason(reason: object, what: str = "the change") -> str:
    """The reason a change needs (audited with it), trimmed; a blank one is refused."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", reason, f"a reason for {what}", "missing")
    if _CONTROL.search(reason):
        raise ValidationError("reason", reason, NO_CONTROL_CHARACTERS, "invalid")
    return reason.strip()


def require_date(field: str, value: object) -> date:
    """A calendar date from 1900-01-01 to 2100-12-31 (a day 0 that study days count from)."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, value, "a calendar date", "type")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(field, value.isoformat(), f"{EARLIEST_DATE}–{LATEST_DATE}")
    return value


def parse_payload(model: type[Model], payload: Mapping[str, Any] | Model) -> Model:
    """Validate ``payload`` into ``model`` or raise :class:`ValidationError` with every problem."""
    if isinstance(payload, model):
        return payload
    if not isinstance(payload, Mapping):
        raise ValidationError("payload", type(payload).__name__, "a mapping of fields", "type")
    try:
        return model.model_validate(dict(payload))
    except pydantic.ValidationError as exc:
        raise ValidationError(
            problems=[problem_from_pydantic(error) for error in exc.errors()]
        ) from None


def problem_from_pydantic(error: Any, prefix: str = "") -> Problem:
    """One pydantic error as a psotrack :class:`Problem` (``prefix`` names a lone field)."""
    parts = [prefix] if prefix else []
    parts += [str(part) for part in error["loc"]]
    field = ".".join(parts) or "payload"
    kind = error["type"]
    value = error.get("input")
    message = str(error["msg"])
    if kind == "missing":
        return Problem(field, None, "a required field", kind="missing")
    if kind == "extra_forbidden":
        return Problem(field, value, "not a field of this form", kind="invalid")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return Problem(field, value, _range_text(error))
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "enum":
        return Problem(field, value, message.removeprefix("Input should be "), kind="type")
    return Problem(field, value, message, kind="invalid")


def _range_text(error: Any) -> str:
    ctx = error.get("ctx", {})
    symbols = {"ge": "≥", "le": "≤", "gt": ">", "lt": "<"}
    limits = " and ".join(f"{symbols[k]} {v}" for k, v in ctx.items() if k in symbols)
    return f"the allowed range ({limits})"
