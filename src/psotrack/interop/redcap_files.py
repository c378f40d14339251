"""REDCap files: the data dictionary, the flat record export, and the cells a row holds.

The data dictionary is REDCap's CSV of 18 columns, read by position (its header's wording holds
commas and varies between REDCap versions): field name, form, section header, field type, label,
choices/calculations, note, validation, validation min and max, identifier, branching logic,
required, alignment, question number, matrix group, matrix ranking, annotation.

The record export is REDCap's flat CSV ("CSV raw" or "CSV labels" data, raw column names): one
row per record and event (``record_id``, ``redcap_event_name``), one more per repeat instance
(``redcap_repeat_instrument``, ``redcap_repeat_instance``); a checkbox field is one column per
choice (``field___1`` …, ``1``/``0`` raw or ``Checked``/``Unchecked`` as labels); a form's status
is ``<form>_complete``. Every cell is read as text; numbers pass :mod:`psotrack.number_text`.

A choice cell is taken as its code, or as its label when the export carries labels (compared
without regard to case); branching logic is read by :mod:`psotrack.interop.redcap_logic`.
Clinics pulling from a live REDCap can fetch the same two files with PyCap
(``redcap.Project(url, token).export_metadata(format_type="csv")`` and
``export_records(format_type="csv")``); psotrack itself reads files only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import polars as pl

from psotrack.errors import Problem, ValidationError
from psotrack.interop.files import read_csv_text
from psotrack.number_text import parse_decimal

DICTIONARY_COLUMNS: Final = 18
FIELD_TYPES: Final = frozenset(
    {
        "text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc",
        "file", "slider", "descriptive", "sql",
    }
)  # fmt: skip
CHOICE_TYPES: Final = frozenset({"dropdown", "radio", "checkbox", "yesno", "truefalse"})
SYSTEM_COLUMNS: Final = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
CHECKED: Final = {"1": True, "0": False, "checked": True, "unchecked": False, "": False}


@dataclass(frozen=True)
class DictionaryField:
    """One row of the data dictionary; ``choices`` maps each code to its label."""

    name: str
    form: str
    field_type: str
    label: str
    choices: dict[str, str]
    validation: str
    minimum: str
    maximum: str
    identifier: bool
    branching: str


@dataclass(frozen=True)
class DataDictionary:
    fields: dict[str, DictionaryField]
    record_field: str

    def columns(self) -> set[str]:
        """Every column a record export of this project may hold."""
        names = {self.record_field, *SYSTEM_COLUMNS}
        for item in self.fields.values():
            if item.field_type == "checkbox":
                names.update(f"{item.name}___{column_code(code)}" for code in item.choices)
            elif item.field_type != "descriptive":
                names.add(item.name)
            names.add(f"{item.form}_complete")
        return names


@dataclass(frozen=True)
class RecordRow:
    """One row of the export: where it is, and its cells (stripped text, blank as ``None``)."""

    record: str
    event: str
    repeat_instrument: str | None
    instance: int | None
    cells: dict[str, str | None] = field(repr=False)

    @property
    def where(self) -> str:
        parts = [f"record {self.record}", f"event {self.event or '(none)'}"]
        if self.instance is not None:
            parts.append(f"instance {self.instance}")
        return ", ".join(parts)


@dataclass(frozen=True)
class LocatedProblem(Problem):
    """A problem named by record, event and instance instead of a row number."""

    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {super().__str__()}" if self.where else super().__str__()


def located(row: RecordRow, problem: Problem) -> LocatedProblem:
    return LocatedProblem(
        problem.field, problem.value, problem.allowed, problem.kind, where=row.where
    )


def parse_choices(text: str) -> dict[str, str]:
    """``"1, Yes | 2, No"`` → ``{"1": "Yes", "2": "No"}`` (a label may hold commas).

    >>> parse_choices("1, Mild | 2, Moderate, marked | 3,Severe")
    {'1': 'Mild', '2': 'Moderate, marked', '3': 'Severe'}
    """
    choices: dict[str, str] = {}
    for part in text.split("|"):
        if not part.strip():
            continue
        code, _, label = part.partition(",")
        choices[code.strip()] = label.strip()
    return choices


def read_dictionary(path: Path) -> DataDictionary:
    """Read and check a data dictionary; every bad row is named by its field and line."""
    frame = _read(path, "--dictionary")
    if frame.width != DICTIONARY_COLUMNS:
        allowed = (
            f"REDCap's {DICTIONARY_COLUMNS} data dictionary columns (this file has {frame.width})"
        )
        raise ValidationError("--dictionary", str(path), allowed, "invalid")
    if _normal(frame.columns[0]) != "variable / field name":
        allowed = "a data dictionary whose first column is 'Variable / Field Name'"
        raise ValidationError("--dictionary", str(path), allowed, "invalid")
    problems: list[Problem] = []
    fields: dict[str, DictionaryField] = {}
    for line, cells in enumerate(frame.iter_rows(), start=2):
        text = [(c or "").strip() for c in cells]
        name, form, kind = text[0], text[1], text[3].lower()
        where = f"dictionary line {line}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append(
                Problem(f"{where}: field name", name, "a REDCap variable name", "invalid")
            )
        if name in fields:
            problems.append(Problem(f"{where}: field name", name, "each field once", "invalid"))
        if kind not in FIELD_TYPES:
            allowed = f"one of {', '.join(sorted(FIELD_TYPES))}"
            problems.append(Problem(f"{where}: {name} field type", text[3], allowed, "invalid"))
        choices = _choices_of(kind, text[5])
        if kind in {"dropdown", "radio", "checkbox"} and not choices:
            allowed = "choices as 'code, label | code, label'"
            problems.append(Problem(f"{where}: {name} choices", text[5], allowed, "missing"))
        fields[name] = DictionaryField(
            name, form, kind, text[4], choices, text[7].lower(), text[8], text[9],
            text[10].lower() == "y", text[11],
        )  # fmt: skip
    if problems:
        raise ValidationError(problems=problems)
    return DataDictionary(fields, record_field=next(iter(fields)))


def read_records(path: Path, dictionary: DataDictionary) -> list[RecordRow]:
    """Read the flat export; columns the dictionary does not know are refused, all named."""
    frame = _read(path, "--records")
    known = dictionary.columns()
    problems = [
        Problem("--records column", name, "a field of the data dictionary", "invalid")
        for name in frame.columns
        if name not in known
    ]
    if dictionary.record_field not in frame.columns:
        problems.append(
            Problem("--records column", dictionary.record_field, "the record id", "missing")
        )
    if problems:
        raise ValidationError(problems=problems)
    rows: list[RecordRow] = []
    for line, raw in enumerate(frame.iter_rows(named=True), start=2):
        cells = {k: (v.strip() or None) if v is not None else None for k, v in raw.items()}
        instance_text = cells.get("redcap_repeat_instance")
        instance = None
        if instance_text is not None:
            number = parse_decimal(instance_text)
            if number is None or number != number.to_integral_value() or number < 1:
                allowed = f"a repeat instance 1, 2, … (records line {line})"
                problems.append(Problem("redcap_repeat_instance", instance_text, allowed, "type"))
            else:
                instance = int(number)
        record = cells.get(dictionary.record_field)
        if record is None:
            allowed = f"the record id (records line {line})"
            problems.append(Problem(dictionary.record_field, None, allowed, "missing"))
            continue
        repeated = cells.get("redcap_repeat_instrument")
        rows.append(
            RecordRow(
                record=record,
                event=unique_event_name(cells.get("redcap_event_name") or ""),
                repeat_instrument=None if repeated is None else _slug(repeated),
                instance=instance,
                cells=cells,
            )
        )
    if problems:
        raise ValidationError(problems=problems)
    return rows


def unique_event_name(text: str) -> str:
    """An event as REDCap's unique name: ``Week 4 (Arm 1: Drug)`` (labels) → ``week_4_arm_1``.

    >>> unique_event_name("Week 4 (Arm 1: Cell therapy)"), unique_event_name("week_4_arm_1")
    ('week_4_arm_1', 'week_4_arm_1')
    """
    labelled = re.fullmatch(r"(.+?)\s*\(Arm ([0-9]+):.*\)", text)
    if labelled is None:
        return text
    return f"{_slug(labelled.group(1))}_arm_{labelled.group(2)}"


def _slug(text: str) -> str:
    """A label as REDCap names it: lower case, runs of other characters as one ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def choice_code(item: DictionaryField, cell: str | None) -> str | None:
    """The code a choice cell holds (raw export) or names by its label; ``None`` if neither."""
    if cell is None:
        return None
    choices = item.choices or _choices_of(item.field_type, "")
    if cell in choices:
        return cell
    wanted = cell.casefold()
    for code, label in choices.items():
        if label.casefold() == wanted:
            return code
    return None


def checked_codes(row: RecordRow, item: DictionaryField) -> tuple[list[str], list[Problem]]:
    """The codes ticked in a checkbox field (``field___code`` columns, raw or label export)."""
    codes: list[str] = []
    problems: list[Problem] = []
    for code, label in item.choices.items():
        column = f"{item.name}___{column_code(code)}"
        cell = row.cells.get(column) or ""
        ticked = CHECKED.get(cell.casefold())
        if ticked is None and cell.casefold() == label.casefold():
            ticked = True  # some label exports write the choice's label when ticked
        if ticked is None:
            problems.append(Problem(column, cell, "1/0 or Checked/Unchecked", "type"))
        elif ticked:
            codes.append(code)
    return codes, problems


# --- reading -------------------------------------------------------------------------------


def _read(path: Path, option: str) -> pl.DataFrame:
    try:
        return read_csv_text(path)
    except ValidationError as exc:
        raise ValidationError(
            problems=[Problem(option, p.value, p.allowed, p.kind) for p in exc.problems]
        ) from None


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\ufeff", "")).strip().lower()


def _choices_of(kind: str, text: str) -> dict[str, str]:
    if kind == "yesno":
        return {"1": "Yes", "0": "No"}
    if kind == "truefalse":
        return {"1": "True", "0": "False"}
    if kind in {"dropdown", "radio", "checkbox"}:
        return parse_choices(text)
    return {}


def column_code(code: str) -> str:
    """REDCap names a checkbox column by its code, lower case, ``-`` and ``.`` as ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", code.lower())
