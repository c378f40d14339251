"""What a CDISC data set holds, said once: a frozen spec per data set that the writer, the v5
limit checks and the define-style metadata CSV all read.

SAS transport v5 limits (interop.md): data set and variable names ≤ 8 characters, labels ≤ 40,
character values ≤ 200 bytes; values must be ASCII. :func:`check_spec` checks a spec and
:func:`conform` lays a frame out in the spec's order and types, refusing any value that would
break the limits (never truncating it silently).

Study days: psotrack counts day 0 as the first administration (services/study_days.py); CDISC
--DY has no day 0 (the reference start is day 1, the day before it −1), so
:func:`cdisc_day` moves days ≥ 0 up by one. psotrack's choice: no --DTC is written, the export
holds study days only (no calendar date, real or shifted, leaves the clinic).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

from psotrack.errors import Problem, PsotrackError, ValidationError

MAX_NAME: Final = 8
MAX_LABEL: Final = 40
MAX_CHAR: Final = 200
_NAME: Final = re.compile(r"[A-Z][A-Z0-9_]{0,7}")

Kind = Literal["Char", "Num"]


@dataclass(frozen=True)
class Variable:
    """One variable: name, label, SAS type, length (bytes; 8 for numbers) and how it is made."""

    name: str
    label: str
    kind: Kind
    length: int
    derivation: str


@dataclass(frozen=True)
class DatasetSpec:
    """One data set: name, label, standard (SDTM or ADaM), class and its variables in order."""

    name: str
    label: str
    standard: Literal["SDTM", "ADaM"]
    structure: str
    variables: tuple[Variable, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)


def char(name: str, label: str, length: int, derivation: str) -> Variable:
    return Variable(name, label, "Char", length, derivation)


def num(name: str, label: str, derivation: str) -> Variable:
    return Variable(name, label, "Num", 8, derivation)


def check_spec(spec: DatasetSpec) -> list[Problem]:
    """Every way ``spec`` breaks the v5 limits (empty when it keeps them).

    >>> bad = DatasetSpec("TOOLONGNAME", "x", "SDTM", "", (char("usubjid", "x" * 41, 300, ""),))
    >>> for problem in check_spec(bad):
    ...     print(problem.field)
    TOOLONGNAME
    TOOLONGNAME.usubjid
    TOOLONGNAME.usubjid.label
    TOOLONGNAME.usubjid.length
    """
    problems = []
    if not _NAME.fullmatch(spec.name):
        problems.append(
            Problem(spec.name, spec.name, "a data set name of 1–8 A–Z, 0–9, _", "invalid")
        )
    if len(spec.label) > MAX_LABEL or not spec.label.isascii():
        problems.append(Problem(f"{spec.name}.label", spec.label, "an ASCII label ≤ 40", "invalid"))
    for v in spec.variables:
        where = f"{spec.name}.{v.name}"
        if not _NAME.fullmatch(v.name):
            problems.append(Problem(where, v.name, "a variable name of 1–8 A–Z, 0–9, _", "invalid"))
        if len(v.label) > MAX_LABEL or not v.label.isascii():
            problems.append(Problem(f"{where}.label", v.label, "an ASCII label ≤ 40", "invalid"))
        if v.kind == "Char" and not 1 <= v.length <= MAX_CHAR:
            problems.append(Problem(f"{where}.length", v.length, "1–200 bytes"))
        if v.kind == "Num" and v.length != 8:
            problems.append(Problem(f"{where}.length", v.length, "8 (a double)", "invalid"))
    return problems


def conform(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """``frame``'s columns in the spec's order and types; a value too long or not ASCII is an
    error naming the data set, variable and value (nothing is cut short)."""
    problems = check_spec(spec)
    if problems:
        raise ValidationError(problems=problems)
    missing = [name for name in spec.names if name not in frame.columns]
    if missing:
        raise PsotrackError(f"{spec.name}: no column for {', '.join(missing)} (psotrack bug)")
    columns = []
    for v in spec.variables:
        column = frame[v.name]
        if v.kind == "Num":
            columns.append(column.cast(pl.Float64))
            continue
        text = column.cast(pl.String)
        too_long = text.filter(text.str.len_bytes() > v.length)
        not_ascii = text.filter(~text.str.contains(r"^[\x20-\x7E]*$"))
        for bad in (too_long, not_ascii):
            if bad.len():
                raise ValidationError(
                    f"{spec.name}.{v.name}",
                    bad[0],
                    f"ASCII text of at most {v.length} bytes",
                    "invalid",
                )
        columns.append(text)
    return pl.DataFrame(columns)


def cdisc_day(day: pl.Expr) -> pl.Expr:
    """psotrack study day (day 0 = first dose) → CDISC --DY (no day 0): 0 → 1, −1 → −1.

    >>> pl.select(cdisc_day(pl.Series([-14, -1, 0, 84]))).to_series().to_list()
    [-14, -1, 1, 85]
    """
    return pl.when(day >= 0).then(day + 1).otherwise(day)


def ascii_code(text: pl.Expr, length: int) -> pl.Expr:
    """Upper-case ASCII code text (spaces kept) for coded values such as ``"not recovered"``."""
    return text.str.to_uppercase().str.replace_all(r"[^\x20-\x7E]", "").str.slice(0, length)


@dataclass(frozen=True)
class CdiscDataset:
    """One data set laid out by its spec (columns already conformed)."""

    spec: DatasetSpec
    frame: pl.DataFrame


def build(spec: DatasetSpec, frame: pl.DataFrame) -> CdiscDataset:
    return CdiscDataset(spec, conform(frame, spec))
