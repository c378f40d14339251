"""Baseline of each patient: the last non-missing assessment on or before day 0.

Day 0 is the first treatment; a patient whose last pre-treatment PASI is missing falls back to
an earlier one (screening), and a patient with none, or with baseline PASI 0, is *not evaluable*
for relative endpoints: ``base`` is empty and ``evaluable`` is false, and every denominator of a
relative endpoint leaves the patient out. PGA and DLQI get their own baselines the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from psotrack.endpoints._validate import PASI_T, PATIENT_KEY, with_pasi_tenths

#: Internal: baseline PASI in integer tenths (null when not evaluable).
BASE_T: Final = "_base_t"
INTERNAL: Final = (PASI_T, BASE_T, PATIENT_KEY)
#: Scores packed beside the day must be below this (PASI tenths ≤ 720, DLQI ≤ 30, PGA ≤ 5).
_PACK: Final = 1024


def last_before_treatment(value: str) -> pl.Expr:
    """The patient's last non-missing ``value`` on or before day 0, broadcast to every row.

    One max-over-patient aggregate, no per-patient sort: ``day × 1024 + value`` orders rows by
    day first (the score is below 1024 and ``patient_id``+``day`` is unique), so its maximum is
    the last pre-treatment assessment, and the score is its remainder modulo 1024.
    """
    day = pl.col("day")
    found = (day <= 0) & pl.col(value).is_not_null()
    packed = pl.when(found).then(day * _PACK + pl.col(value))
    return packed.max().over(PATIENT_KEY) % _PACK


def add_baseline(frame: pl.DataFrame) -> pl.DataFrame:
    """Internal step on a validated frame: add ``_base_t``, ``base`` and ``evaluable``."""
    others = [
        last_before_treatment(name).alias(f"base_{name}")
        for name in ("pga", "dlqi")
        if name in frame.columns
    ]
    frame = frame.with_columns(
        last_before_treatment(PASI_T).cast(pl.Int32).alias("_base_raw"), *others
    )
    raw = pl.col("_base_raw")
    return frame.with_columns(
        pl.when(raw > 0).then(raw).alias(BASE_T),
        pl.when(raw > 0).then((raw / 10).round(1)).alias("base"),
        (raw > 0).fill_null(False).alias("evaluable"),
    ).drop("_base_raw")


@dataclass(frozen=True)
class Assessments:
    """A validated assessment table with its baselines, to derive several endpoints from.

    Every ``derive_*`` function accepts it in place of a raw frame and then skips validation
    and the baseline step (worth it on large cohorts). Build it with :func:`prepare_assessments`.
    """

    frame: pl.DataFrame


def prepare_assessments(frame: pl.DataFrame | Assessments) -> Assessments:
    """Validate an assessment table and add baselines once (see :class:`Assessments`)."""
    if isinstance(frame, Assessments):
        return frame
    return Assessments(add_baseline(with_pasi_tenths(frame)))


def prepared(frame: pl.DataFrame | Assessments) -> pl.DataFrame:
    """Internal: the working frame (with ``_pasi_t``, ``_patient``, ``_base_t``)."""
    return prepare_assessments(frame).frame


def derive_baseline(frame: pl.DataFrame | Assessments) -> pl.DataFrame:
    """Add ``base`` (baseline PASI) and ``evaluable`` to every row of an assessment table.

    Also ``base_pga`` and ``base_dlqi`` when those columns are present (their own last
    non-missing value on or before day 0; no evaluability rule). Rows keep their order.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "a", "b", "b"],
    ...     "visit": ["SCR", "W0", "W4", "W0", "W4"],
    ...     "day": [-14, 0, 28, 0, 28],
    ...     "pasi": [12.0, None, 3.0, 0.0, 0.0],
    ... })
    >>> out = derive_baseline(rows).select("patient_id", "base", "evaluable")
    >>> out.unique().sort("patient_id").rows()
    [('a', 12.0, True), ('b', None, False)]
    """
    return prepared(frame).drop(INTERNAL)
