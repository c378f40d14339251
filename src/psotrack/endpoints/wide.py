"""Turn a wide PASI table (one row per patient, one column per visit) into the long form.

Visit columns are named ``BASELINE`` (day 0), ``WEEKnn`` (day 7 × nn) or ``DAYnn`` (day nn),
case-insensitive, as in the public ``WWW_SustainedResponse.csv``; other names need their day in
``days``. The column names become the visit labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

import polars as pl

from psotrack.endpoints._validate import STUDY_DAY_LIMIT, STUDY_DAY_TEXT
from psotrack.errors import Problem, ValidationError

ID_COLUMNS: Final = ("patient_id", "USUBJID", "SUBJID")
ARM_COLUMNS: Final = ("arm", "TRT", "ARM", "TRT01P", "TRT01A")
_WEEK: Final = re.compile(r"(?i)^WEEK[_ ]?(\d+)$")
_DAY: Final = re.compile(r"(?i)^DAY[_ ]?(-?\d+)$")


def visit_day(name: str) -> int | None:
    """The study day a visit column's name stands for, or None if the name is not understood.

    >>> [visit_day(n) for n in ("BASELINE", "WEEK01", "week52", "DAY3", "M6")]
    [0, 7, 364, 3, None]
    """
    if name.upper() == "BASELINE":
        return 0
    if match := _WEEK.match(name):
        return 7 * int(match.group(1))
    if match := _DAY.match(name):
        return int(match.group(1))
    return None


def _pick(columns: Sequence[str], wanted: str | None, candidates: Sequence[str]) -> str | None:
    if wanted is not None:
        return wanted if wanted in columns else None
    return next((name for name in candidates if name in columns), None)


def wide_to_long(
    frame: pl.DataFrame,
    days: Mapping[str, int] | Sequence[int] | None = None,
    *,
    id_column: str | None = None,
    arm_column: str | None = None,
) -> pl.DataFrame:
    """Long assessment rows ``patient_id, arm, visit, day, pasi`` from a wide PASI table.

    The id column is ``id_column`` or the first of patient_id/USUBJID/SUBJID; the arm column is
    ``arm_column`` or the first of arm/TRT/ARM/TRT01P/TRT01A (optional). Every other column is a
    visit; ``days`` gives days by name (a mapping) or in column order (a sequence) and overrides
    the names. Rows come patient by patient in visit order.

    >>> wide = pl.DataFrame({"USUBJID": ["S1"], "TRT": ["A"], "BASELINE": [7.6], "WEEK12": [1.9]})
    >>> wide_to_long(wide).rows()
    [('S1', 'A', 'BASELINE', 0, 7.6), ('S1', 'A', 'WEEK12', 84, 1.9)]
    """
    identity = _pick(frame.columns, id_column, ID_COLUMNS)
    if id_column is not None and identity is None:
        raise ValidationError("id_column", id_column, "a column of the table", kind="invalid")
    if identity is None:
        allowed = "a patient id column (" + ", ".join(ID_COLUMNS) + ")"
        raise ValidationError("id_column", id_column, allowed, kind="missing")
    arm = _pick(frame.columns, arm_column, ARM_COLUMNS)
    if arm_column is not None and arm is None:
        raise ValidationError("arm_column", arm_column, "a column of the table", kind="invalid")
    visits = [name for name in frame.columns if name not in (identity, arm)]
    day_of = _visit_days(visits, days)
    long = frame.with_row_index("_order").unpivot(
        index=["_order", identity] + ([arm] if arm else []),
        on=visits,
        variable_name="visit",
        value_name="pasi",
    )
    order = {name: i for i, name in enumerate(visits)}
    long = long.with_columns(
        pl.col("visit").replace_strict(day_of, return_dtype=pl.Int64).alias("day"),
        pl.col("visit").replace_strict(order, return_dtype=pl.Int64).alias("_visit_order"),
    ).sort("_order", "_visit_order")
    arm_values = pl.col(arm).cast(pl.String) if arm else pl.lit(None, pl.String)
    return long.select(
        pl.col(identity).cast(pl.String).alias("patient_id"),
        arm_values.alias("arm"),
        "visit",
        "day",
        "pasi",
    )


def _visit_days(
    visits: list[str], days: Mapping[str, int] | Sequence[int] | None
) -> dict[str, int]:
    if not visits:
        raise ValidationError("columns", None, "at least one visit column", kind="missing")
    if days is not None and not isinstance(days, Mapping):
        if len(days) != len(visits):
            allowed = f"one day per visit column ({len(visits)}: {', '.join(visits)})"
            raise ValidationError("days", list(days), allowed, kind="invalid")
        days = dict(zip(visits, days, strict=True))
    given = dict(days or {})
    problems = [
        Problem("days", name, "a visit column of the table", kind="invalid")
        for name in given
        if name not in visits
    ]
    found: dict[str, int] = {}
    for name in visits:
        day = given.get(name, visit_day(name))
        if isinstance(day, bool) or not isinstance(day, int):
            allowed = "a visit column named BASELINE, WEEKnn or DAYnn, or a day given in days"
            problems.append(Problem("column", name, allowed, kind="invalid"))
        elif not -STUDY_DAY_LIMIT <= day <= STUDY_DAY_LIMIT:
            field = "days" if name in given else "column"
            allowed = f"a study day {STUDY_DAY_TEXT}"
            problems.append(Problem(field, f"{name}={day}", allowed, kind="invalid"))
        else:
            found[name] = day
    if problems:
        raise ValidationError(problems=problems)
    return found
