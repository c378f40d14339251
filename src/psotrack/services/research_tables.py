"""How each table of the record becomes a table of the research export: one rule per column.

The rules are read off the schema, deny by default, so that a column added later is handled
before anyone thinks of it: free text (:func:`~psotrack.store.models.base.free_text_columns`)
is removed, a link to a member of staff is removed, a date becomes a study day or a shifted
date, a database row number becomes a key numbered afresh in each export, the patient's row
number becomes the research id. A few columns have a rule of their own (:data:`OWN_RULES`): the
birth year becomes the age at day 0, the onset year the years since onset, an assessment's
responses keep their coded answers only. The manifest is written from the same rules
(:func:`column_rules`), so what it says was removed is what was removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum, StrEnum
from typing import Any, Final, Literal

import polars as pl
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Integer
from sqlalchemy.sql.sqltypes import Enum as SqlEnum

from psotrack.services.ages import age_group
from psotrack.services.research_views import coded_responses
from psotrack.services.study_days import study_day, utc_date
from psotrack.store.models import (
    KEPT_BY_THE_DATABASE,
    Administration,
    AdverseEvent,
    Assessment,
    Base,
    ConcomitantTherapy,
    Enrollment,
    LabResult,
    Patient,
    Photo,
    Program,
    SafetyFlag,
    Visit,
)
from psotrack.store.models.base import free_text_columns


class DateOption(StrEnum):
    """How exact dates leave the clinic: as study days (the default) or shifted per patient."""

    STUDY_DAYS = "study-days"
    DATE_SHIFT = "date-shift"


#: The tables exported, in the order they are built (a link points to a table built before it),
#: each with its model and the name of the key its rows get.
EXPORTED: Final[dict[str, tuple[type[Base], str]]] = {
    "patients": (Patient, "research_id"),
    "programs": (Program, "program_key"),
    "enrollments": (Enrollment, "enrollment_key"),
    "visits": (Visit, "visit_key"),
    "assessments": (Assessment, "assessment_key"),
    "administrations": (Administration, "administration_key"),
    "concomitant_therapies": (ConcomitantTherapy, "therapy_key"),
    "lab_results": (LabResult, "lab_key"),
    "adverse_events": (AdverseEvent, "adverse_event_key"),
    "safety_flags": (SafetyFlag, "flag_key"),
    "photos": (Photo, "photo_key"),
}
#: The tables never exported, and why.
NOT_EXPORTED: Final[dict[str, str]] = {
    "patient_identities": "direct identifiers (MRN, family and given names, birth date)",
    "users": "staff accounts: user names and names of people",
    "audit_log": "who changed what and when: names staff and holds exact times",
}

FREE_TEXT: Final = "free text, which may name a person: removed (coded fields only)"
STAFF: Final = "names a member of staff: removed"
RECORD_KEEPING: Final = (
    "when or why the row was entered or deleted: removed (deleted rows left out)"
)
ROW_NUMBER: Final = "database row number: removed"
SHIFTED: Final = "shifted by the patient's own random number of days (the shift is not written)"

RuleKind = Literal[
    "keep", "json", "date", "datetime", "key", "patient", "link", "age", "onset", "responses"
]


@dataclass(frozen=True)
class ColumnRule:
    """What one source column becomes: ``output`` (``None`` when removed) and the manifest's
    words for it (``how``); ``target`` is the table a link points to."""

    source: str
    output: str | None
    how: str
    kind: RuleKind | None = None
    target: str | None = None


def _own_rules(table: str, column: str) -> ColumnRule | None:
    """Columns with a rule of their own (see the module docstring)."""
    if table == "patients" and column == "id":
        return ColumnRule(column, None, "database row number: the research id keys the patient")
    if table == "patients" and column == "birth_year":
        how = "age: whole years at day 0 (services/ages.py), 90 or older written 90+"
        return ColumnRule(column, "age", how, "age")
    if table == "patients" and column == "onset_year":
        return ColumnRule(
            column, "years_since_onset", "years from the onset year to day 0", "onset"
        )
    if table == "assessments" and column == "responses":
        how = "coded answers and numbers only (research_views.coded_responses), as JSON text"
        return ColumnRule(column, column, how, "responses")
    if table == "safety_flags" and column == "coded_message":
        return ColumnRule(column, None, "told from coded values, but names calendar dates: removed")
    if table == "safety_flags" and column in ("raised_at", "acknowledged_at"):
        how = "when staff raised or acknowledged the flag, to the second (record keeping): removed"
        return ColumnRule(column, None, how)
    if table == "safety_flags" and column == "entity_id":
        how = "row the flag is about: its key in the table named by entity"
        return ColumnRule(column, "entity_key", how, "link", target="entity")
    return None


#: Columns that only keep the record: ``Timestamps`` (store/models/base.py) of every table, and
#: those the database keeps itself (a patient's revision and last visit date).
RECORD_KEEPING_COLUMNS: Final = (
    frozenset({"created_at", "deleted_at", "deleted_reason"}) | KEPT_BY_THE_DATABASE
)


def column_rules(table: str, dates: DateOption) -> tuple[ColumnRule, ...]:
    """The rule for every column of ``table``, in the table's column order."""
    model, key = EXPORTED[table]
    free_text = set(free_text_columns(model))
    rules = []
    for column in model.__table__.columns:
        rule = _own_rules(table, column.key) or _general_rule(column, key, free_text, dates)
        rules.append(rule)
    return tuple(rules)


def _general_rule(column: Any, key: str, free_text: set[str], dates: DateOption) -> ColumnRule:
    name = column.key
    if name in RECORD_KEEPING_COLUMNS:
        return ColumnRule(name, None, RECORD_KEEPING)
    if column.primary_key:
        return ColumnRule(
            name, key, f"database row number: replaced by {key}, numbered 1, 2, …", "key"
        )
    for foreign in column.foreign_keys:
        target = foreign.column.table.name
        if target == "users":
            return ColumnRule(name, None, STAFF)
        if target == "patients":
            return ColumnRule(name, "research_id", "the patient: their research id", "patient")
        target_key = EXPORTED[target][1]
        return ColumnRule(name, target_key, f"the {target} row: its {target_key}", "link", target)
    if name in free_text:
        return ColumnRule(name, None, FREE_TEXT)
    if isinstance(column.type, Date | DateTime):
        kind: RuleKind = "datetime" if isinstance(column.type, DateTime) else "date"
        if dates is DateOption.DATE_SHIFT:
            return ColumnRule(name, name, SHIFTED, kind)
        output = _day_name(name)
        how = f"{output}: days from the patient's day 0 (services/study_days.py)"
        return ColumnRule(name, output, how, kind)
    if isinstance(column.type, JSON):
        return ColumnRule(name, name, "coded values, as JSON text", "json")
    return ColumnRule(name, name, "kept", "keep")


def _day_name(name: str) -> str:
    """``visit_date`` → ``visit_day``, ``started_at`` → ``started_day``."""
    for suffix in ("_date", "_at"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + "_day"
    return name + "_day"


@dataclass
class Cohort:
    """What the rules need to know of the exported patients, keyed by their row number.

    ``day_zero`` and ``day_zero_from`` come from
    :func:`~psotrack.services.study_days.day_zero_dates`, ``ages`` from
    :mod:`psotrack.services.ages`; ``shifts`` is empty for study days.
    """

    dates: DateOption
    research_ids: dict[int, str]
    day_zero: dict[int, date]
    day_zero_from: dict[int, str]
    ages: dict[int, int | None]
    shifts: dict[int, int] = field(default_factory=dict)
    #: Table → row number → key in this export, filled as the tables are built.
    keys: dict[str, dict[int, int]] = field(default_factory=dict)


def build_table(
    table: str, rows: Iterable[Mapping[str, Any]], cohort: Cohort
) -> tuple[pl.DataFrame, dict[int, int]]:
    """The exported frame of ``table`` from its live rows, and the keys given to its rows.

    Rows of patients not in the cohort are left out. Rows are ordered by research id, then by
    their first date, then as stored; keys are 1, 2, … in that order.
    """
    rules = [r for r in column_rules(table, cohort.dates) if r.output is not None]
    model = EXPORTED[table][0]
    columns = model.__table__.columns
    patient_column = "id" if table == "patients" else "patient_id"
    has_patient = patient_column in columns
    kept = [r for r in rows if not has_patient or r[patient_column] in cohort.research_ids]
    first_date = next(
        (c.key for c in columns if isinstance(c.type, Date | DateTime) and not _is_record(c.key)),
        None,
    )

    def order(row: Mapping[str, Any]) -> tuple[str, date, int]:
        owner = cohort.research_ids[row[patient_column]] if has_patient else ""
        moment = row[first_date] if first_date is not None else None
        day = utc_date(moment) if isinstance(moment, datetime) else moment
        return owner, day if isinstance(day, date) else date.min, int(row["id"])

    kept.sort(key=order)
    keys = {int(row["id"]): number for number, row in enumerate(kept, start=1)}
    data: dict[str, list[Any]] = {}
    schema: dict[str, pl.DataType | type[pl.DataType]] = {}
    for rule in rules:
        convert = _converter(rule, table, cohort, keys)
        name = rule.output
        assert name is not None
        data[name] = [convert(row) for row in kept]
        schema[name] = _dtype(rule, columns[rule.source].type, cohort.dates)
    if table == "patients":
        _add_day_zero(data, schema, kept, cohort)
    frame = pl.DataFrame(data, schema=schema)
    if has_patient and table != "patients":
        frame = frame.select("research_id", pl.exclude("research_id"))
    return frame, keys


def _is_record(name: str) -> bool:
    return name in RECORD_KEEPING_COLUMNS


def _add_day_zero(
    data: dict[str, list[Any]],
    schema: dict[str, pl.DataType | type[pl.DataType]],
    rows: list[Mapping[str, Any]],
    cohort: Cohort,
) -> None:
    """Patients get what their day 0 is, and (date shift only) its shifted date."""
    data["day_zero_from"] = [cohort.day_zero_from[row["id"]] for row in rows]
    schema["day_zero_from"] = pl.String
    if cohort.dates is DateOption.DATE_SHIFT:
        data["day_zero"] = [
            _shift_date(cohort.day_zero[row["id"]], cohort, row["id"]) for row in rows
        ]
        schema["day_zero"] = pl.Date


#: Column descriptions of the columns psotrack adds to the patients table.
ADDED_PATIENT_COLUMNS: Final = {
    "day_zero_from": "what day 0 is: first administration, or enrollment start before any",
    "day_zero": "day 0 as a shifted date (date shift only)",
}


def _converter(
    rule: ColumnRule, table: str, cohort: Cohort, keys: dict[int, int]
) -> Callable[[Mapping[str, Any]], Any]:
    source = rule.source
    patient_column = "id" if table == "patients" else "patient_id"
    if rule.kind == "key":
        return lambda row: keys[int(row[source])]
    if rule.kind == "patient":
        return lambda row: cohort.research_ids[row[source]]
    if rule.kind == "link":
        if rule.target == "entity":
            return lambda row: cohort.keys.get(str(row["entity"]), {}).get(row[source])
        targets = cohort.keys.get(rule.target or "", {})
        return lambda row: None if row[source] is None else targets.get(row[source])
    if rule.kind == "age":
        return lambda row: _age_text(cohort.ages.get(row["id"]))
    if rule.kind == "onset":
        return lambda row: (
            None if row[source] is None else cohort.day_zero[row["id"]].year - int(row[source])
        )
    if rule.kind == "responses":
        return lambda row: _json_text(coded_responses(row[source]))
    if rule.kind == "json":
        return lambda row: _json_text(row[source])
    if rule.kind in ("date", "datetime"):
        return lambda row: _moved(row[source], cohort, row[patient_column])
    return lambda row: _plain(row[source])


def _age_text(years: int | None) -> str | None:
    return None if years is None else age_group(years)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _moved(value: date | datetime | None, cohort: Cohort, patient: int | None) -> Any:
    """A date or time as a study day, or shifted by the patient's shift (times kept in UTC)."""
    if value is None or patient is None:
        return None
    if cohort.dates is DateOption.STUDY_DAYS:
        day = utc_date(value) if isinstance(value, datetime) else value
        return study_day(day, cohort.day_zero[patient])
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware + timedelta(days=cohort.shifts[patient])
    return _shift_date(value, cohort, patient)


def _shift_date(value: date, cohort: Cohort, patient: int) -> date:
    return value + timedelta(days=cohort.shifts[patient])


def _dtype(rule: ColumnRule, sql_type: Any, dates: DateOption) -> pl.DataType | type[pl.DataType]:
    if rule.kind in ("key", "link", "onset"):
        return pl.Int64
    if rule.kind in ("patient", "age", "responses", "json"):
        return pl.String
    if rule.kind in ("date", "datetime"):
        if dates is DateOption.STUDY_DAYS:
            return pl.Int64
        return pl.Datetime("us", "UTC") if rule.kind == "datetime" else pl.Date
    if isinstance(sql_type, SqlEnum):
        return pl.String
    if isinstance(sql_type, Boolean):
        return pl.Boolean
    if isinstance(sql_type, Integer | BigInteger):
        return pl.Int64
    if isinstance(sql_type, Float):
        return pl.Float64
    return pl.String
