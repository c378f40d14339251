"""PASI from a CSV file: read every cell as text, check each row and field, score, write atomically.

The file has one row per assessment and the columns of
:mod:`psotrack.instruments.pasi_batch` (``<region>_<item>``, or ``<region>_area_pct`` for the area
as a percentage). Other columns pass through unchanged, as the text they were; the output adds
``pasi`` with one decimal. Rows are numbered from 1 for the first data row (line 2 of the file).
If any row is invalid nothing is written and every bad row and field is reported.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import polars as pl

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import AREA_MAX, REGIONS, SIGN_MAX, SIGNS
from psotrack.instruments.pasi_batch import pasi_batch
from psotrack.number_text import number_column

OUTPUT_COLUMN = "pasi"


def score_pasi_table(frame: pl.DataFrame) -> pl.DataFrame:
    """Score a frame of text columns; return it with ``pasi`` (text, one decimal) appended.

    Raises :class:`ValidationError` listing every bad row and field, in row order.
    """
    problems = _header_problems(frame.columns)
    if problems:
        raise ValidationError(problems=problems)
    columns: dict[str, np.ndarray] = {}
    for region in REGIONS:
        for sign in SIGNS:
            name = f"{region}_{sign}"
            columns[name] = _integers(frame, name, SIGN_MAX, problems)
        name = f"{region}_area"
        if name in frame.columns:
            columns[name] = _integers(frame, name, AREA_MAX, problems)
        else:
            columns[f"{name}_pct"] = _percentages(frame, f"{name}_pct", problems)
    try:
        batch = pasi_batch(columns)
    except ValidationError as exc:
        problems.extend(_as_written(frame, p) for p in exc.problems)
    if problems:
        problems.sort(key=lambda p: (p.row or 0, frame.columns.index(p.field)))
        raise ValidationError(problems=problems)
    tenths = pl.Series(OUTPUT_COLUMN, batch.tenths, dtype=pl.Int32)
    text = (tenths // 10).cast(pl.String) + "." + (tenths % 10).cast(pl.String)
    return frame.with_columns(text.alias(OUTPUT_COLUMN))


def _as_written(frame: pl.DataFrame, problem: Problem) -> Problem:
    """Show a rejected percentage as the file wrote it (``101``, not the float ``101.0``)."""
    if problem.row is None or not problem.field.endswith("_pct"):
        return problem
    text = (frame.get_column(problem.field)[problem.row - 1] or "").strip()
    try:
        value: object = Decimal(text)
    except InvalidOperation:
        value = text
    return Problem(problem.field, value, problem.allowed, problem.kind, problem.row)


def _header_problems(header: list[str]) -> list[Problem]:
    names = set(header)
    problems: list[Problem] = []
    if OUTPUT_COLUMN in names:
        problems.append(
            Problem(
                OUTPUT_COLUMN,
                "a column",
                "not in the input: psotrack computes pasi itself",
                kind="invalid",
            )
        )
    for region in REGIONS:
        for sign in SIGNS:
            if f"{region}_{sign}" not in names:
                problems.append(Problem(f"{region}_{sign}", None, "a column 0–4", kind="missing"))
        area, pct = f"{region}_area", f"{region}_area_pct"
        if area in names and pct in names:
            problems.append(
                Problem(area, "and " + pct, f"one of {area} or {pct}, not both", kind="invalid")
            )
        elif area not in names and pct not in names:
            problems.append(
                Problem(area, None, f"a column 0–6, or {pct} (0–100 %)", kind="missing")
            )
    return problems


def _read(frame: pl.DataFrame, name: str, integer: bool) -> tuple[pl.Series, pl.Series]:
    """A text column read by :mod:`psotrack.number_text`: (values, stripped text), nulls where
    the cell is empty or unreadable."""
    text = pl.col(name).str.strip_chars()
    values, _ = number_column(pl.when(text == "").then(None).otherwise(text), integer=integer)
    read = frame.select(values.alias("values"), text.alias("text"))
    return read["values"], read["text"]


def _integers(frame: pl.DataFrame, name: str, high: int, problems: list[Problem]) -> np.ndarray:
    """Parse a text column of whole numbers; unreadable cells become problems (and 0 here).

    A number too large for an integer is reported here as written (and 0 here); other
    out-of-range values are left to the range check of :func:`pasi_batch`.
    """
    values, text = _read(frame, name, integer=True)
    unreadable = values.is_null()
    huge = (values.abs() >= 2**53).fill_null(False)
    for row in (unreadable | huge).arg_true().to_list():
        value = text[row]
        if value is None or value == "":
            problems.append(Problem(name, None, f"a whole number 0–{high}", "missing", row + 1))
        elif huge[row]:
            problems.append(Problem(name, value, f"0–{high}", "range", row + 1))
        else:
            problems.append(Problem(name, value, f"a whole number 0–{high}", "type", row + 1))
    kept = values.set(huge, None) if huge.any() else values
    return kept.fill_null(0).cast(pl.Int64).to_numpy().astype(np.int64)


def _percentages(frame: pl.DataFrame, name: str, problems: list[Problem]) -> np.ndarray:
    """Parse a text column of percentages; unreadable cells become problems (and 0 here)."""
    parsed, text = _read(frame, name, integer=False)
    unreadable = parsed.is_null()
    for row in unreadable.arg_true().to_list():
        value = text[row]
        allowed = "a number 0–100 (a percentage of the region)"
        if value:
            problems.append(Problem(name, value, allowed, "type", row + 1))
        else:
            problems.append(Problem(name, None, allowed, "missing", row + 1))
    return parsed.fill_null(0.0).to_numpy()
