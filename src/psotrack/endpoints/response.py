"""Per-row change from baseline and responder flags (PASI 50/75/90/100, absolute, PGA, DLQI).

A PASI *T* response is an improvement of **at least** T % from baseline, decided in integers on
PASI tenths: ``(base − value) × 100 ≥ T × base``. So baseline 7.6 → 1.9 is PASI 75 (exactly 75 %)
and 10.0 → 1.0 is PASI 90, which common float formulas misjudge (reference: instruments.md).

Only rows after the first treatment (``day > 0``) carry derived values: ``chg``, ``pchg`` and
every flag are empty on baseline and screening rows, on missed visits, and (for ``pchg`` and
relative endpoints) in patients who are not evaluable. A baseline of 0 still has an absolute
change (``chg``); ``base_note`` says why ``pchg`` is empty. ``dlqi_mid`` is also empty when
baseline DLQI is below the MID of 4 (such a patient cannot improve by 4, so is neither responder
nor not). Flags are Int8 1/0 so that sums count responders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import polars as pl

from psotrack.endpoints._validate import PASI_T
from psotrack.endpoints.baseline import BASE_T, INTERNAL, RAW_BASE_T, Assessments, prepared
from psotrack.errors import Problem, ValidationError

DEFAULT_THRESHOLDS: Final = (50, 75, 90, 100)
#: Absolute targets in PASI tenths: PASI ≤ 1, ≤ 2, ≤ 3.
ABSOLUTE_TARGETS: Final = {"pasi_le1": 10, "pasi_le2": 20, "pasi_le3": 30}
#: DLQI minimal important difference (Basra 2015): an improvement of at least 4 points.
DLQI_MID: Final = 4
#: PGA success additionally requires an improvement of at least 2 grades from baseline.
PGA_GRADES: Final = 2

_POST: Final = pl.col("day") > 0


def check_percent(field: str, value: object) -> None:
    """Refuse a threshold that is not a whole percentage 1–100."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, value, "a whole percentage 1–100", kind="type")
    if not 1 <= value <= 100:
        raise ValidationError(field, value, "1–100 (a percentage)")


def improved_by(percent: int, value: pl.Expr | None = None) -> pl.Expr:
    """True where PASI improved by at least ``percent`` % from baseline (null if undecidable).

    Integer rule on tenths: ``(base − value) × 100 ≥ percent × base``.
    """
    value = pl.col(PASI_T) if value is None else value
    base = pl.col(BASE_T)
    return (base - value) * 100 >= base * percent


def _flag(condition: pl.Expr, *needed: str) -> pl.Expr:
    """Int8 1/0 on post-baseline rows where every column in ``needed`` has a value, else null."""
    known = _POST
    for name in needed:
        known = known & pl.col(name).is_not_null()
    return pl.when(known).then(condition.cast(pl.Int8))


def add_change(frame: pl.DataFrame) -> pl.DataFrame:
    """Internal step: ``chg`` (PASI points) and ``pchg`` (%) on post-baseline rows.

    ``chg`` needs a baseline, even 0; ``pchg`` an evaluable one (there is no percentage of 0).
    """
    diff = pl.col(PASI_T) - pl.col(RAW_BASE_T)
    return frame.with_columns(
        pl.when(_POST).then((diff / 10).round(1)).alias("chg"),
        pl.when(_POST).then(diff * 100 / pl.col(BASE_T)).alias("pchg"),
    )


def derive_change(frame: pl.DataFrame | Assessments) -> pl.DataFrame:
    """Add ``base``, ``evaluable``, ``chg`` (PASI points) and ``pchg`` (percent change).

    ``pchg`` is a float for display; responder flags never use it (see :func:`derive_responders`).

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a"], "visit": ["W0", "W12"], "day": [0, 84], "pasi": [7.6, 1.9],
    ... })
    >>> derive_change(rows).select("day", "chg", "pchg").rows()
    [(0, None, None), (84, -5.7, -75.0)]
    """
    return add_change(prepared(frame)).drop(INTERNAL)


def response_columns(thresholds: Iterable[int], columns: Iterable[str]) -> list[pl.Expr]:
    """Flag expressions for a frame carrying ``_pasi_t`` and ``_base_t``."""
    present = set(columns)
    flags = [_flag(improved_by(t), PASI_T, BASE_T).alias(f"pasi{t}") for t in thresholds]
    flags += [
        _flag(pl.col(PASI_T) <= limit, PASI_T).alias(name)
        for name, limit in ABSOLUTE_TARGETS.items()
    ]
    if "pga" in present:
        pga = pl.col("pga")
        flags += [
            _flag(pga <= 1, "pga").alias("pga01"),
            _flag((pga <= 1) & (pl.col("base_pga") - pga >= PGA_GRADES), "pga", "base_pga").alias(
                "pga01_2grade"
            ),
        ]
    if "dlqi" in present:
        dlqi = pl.col("dlqi")
        flags += [
            _flag(dlqi <= 1, "dlqi").alias("dlqi01"),
            # A baseline DLQI below the MID cannot improve by it: not assessable, so empty.
            pl.when(pl.col("base_dlqi") >= DLQI_MID)
            .then(_flag(pl.col("base_dlqi") - dlqi >= DLQI_MID, "dlqi", "base_dlqi"))
            .alias("dlqi_mid"),
        ]
    return flags


def check_thresholds(thresholds: Iterable[int]) -> tuple[int, ...]:
    """Validate response thresholds and return them as a tuple (each a whole 1–100 %)."""
    found = tuple(thresholds)
    problems: list[Problem] = []
    for value in found:
        try:
            check_percent("threshold", value)
        except ValidationError as error:
            problems += error.problems
    if not found:
        problems.append(Problem("thresholds", found, "at least one percentage", kind="missing"))
    if problems:
        raise ValidationError(problems=problems)
    return found


def derive_responders(
    frame: pl.DataFrame | Assessments, thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> pl.DataFrame:
    """Add baseline, change and responder flags to every row (rows keep their order).

    Columns added: ``base``, ``evaluable``, ``chg``, ``pchg``, ``pasi{T}`` for each threshold,
    ``pasi_le1``/``pasi_le2``/``pasi_le3`` (absolute PASI ≤ 1/2/3, need no baseline), and when
    present ``pga01``, ``pga01_2grade`` (PGA 0/1 with ≥ 2 grades of improvement), ``dlqi01`` and
    ``dlqi_mid`` (DLQI improved by ≥ 4; empty when baseline DLQI is below 4, which cannot
    improve by 4). Every flag is Int8 1/0 and empty on rows with day ≤ 0, missing values, and
    (relative flags) patients who are not evaluable.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "b", "b"], "visit": ["W0", "W12"] * 2,
    ...     "day": [0, 84, 0, 84], "pasi": [7.6, 1.9, 10.0, 1.0],
    ... })
    >>> derive_responders(rows).filter(pl.col("day") > 0).select("pasi75", "pasi90").rows()
    [(1, 0), (1, 1)]
    """
    chosen = check_thresholds(thresholds)
    rows = add_change(prepared(frame))
    return rows.with_columns(response_columns(chosen, rows.columns)).drop(INTERNAL)
