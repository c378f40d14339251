"""Per-patient durability endpoints as segment reductions over rows grouped by patient.

The same definitions as :func:`psotrack.endpoints.derive_patient_endpoints` (which calls this
when the table was prepared with its :class:`~psotrack.endpoints._segments.PatientSegments`):
each endpoint is a minimum or maximum over a patient's post-baseline rows with a PASI, decided
in integer tenths, computed with one ``ufunc.reduceat`` instead of a grouped hash aggregation.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints._segments import PatientSegments

THRESHOLDS: Final = (50, 75, 90, 100)
_NONE: Final = np.iinfo(np.int64).max
_DAY_LIMIT: Final = 1 << 30

Ints = npt.NDArray[np.int64]


def _masked(series: pl.Series, keep: npt.NDArray[np.bool_]) -> pl.Series:
    """``series`` with nulls where ``keep`` is false."""
    missing = np.flatnonzero(~keep)
    return series.scatter(missing, None) if missing.size else series


def _day_or_null(name: str, days: Ints) -> pl.Series:
    return _masked(pl.Series(name, days), days != _NONE)


def segment_endpoints(
    rows: pl.DataFrame,
    segments: PatientSegments,
    sorted_pasi_t: Ints,
    patient_base_t: Ints,
    reached: int,
    lost_below: int,
) -> pl.DataFrame:
    """``patient_id, arm, base, best_pchg, first_pasi{50,75,90,100}_day, pasi75_sustained,
    loss_of_response_day`` per patient, in the segments' patient order.

    ``sorted_pasi_t`` is PASI in tenths at the sorted positions (−1 missing), ``patient_base_t``
    each patient's baseline tenths (≤ 0: not evaluable).
    """
    starts, counts = segments.starts, segments.counts
    day = segments.day
    if day.size and int(day.min()) > -_DAY_LIMIT and int(day.max()) < _DAY_LIMIT:
        day = day.astype(np.int32)  # half the memory traffic in the passes below
    none = np.iinfo(day.dtype).max
    evaluable = patient_base_t > 0
    base = np.repeat(np.where(evaluable, patient_base_t, 0).astype(np.int32), counts)
    value = sorted_pasi_t.astype(np.int32, copy=False)
    seen = (day > 0) & (value >= 0) & (base > 0)
    # Improved by T % ⇔ (base − value) × 100 ≥ T × base, exact in tenths; rows not seen get a
    # gain no threshold reaches (and are excluded from "below" conditions by ``seen``).
    gain = (base - value) * 100
    gain[~seen] = np.iinfo(np.int32).min

    def first_day(condition: npt.NDArray[np.bool_]) -> Ints:
        found = np.minimum.reduceat(np.where(condition, day, none), starts)
        days = found.astype(np.int64)
        days[found == none] = _NONE
        return days

    first = {t: first_day(gain >= t * base) for t in THRESHOLDS}
    reached_day = first[reached] if reached in first else first_day(gain >= reached * base)
    after_reached = day > np.repeat(reached_day, counts)
    lost = first_day(seen & after_reached & (gain < lost_below * base))
    below75 = np.maximum.reduceat(np.where(seen & (gain < 75 * base), day, -1), starts)
    # Percent change is increasing in the value for a fixed baseline, so the best (lowest)
    # change is that of the lowest value: one division per patient instead of per row.
    lowest = np.minimum.reduceat(np.where(seen, value, np.iinfo(np.int32).max), starts)
    has_value = evaluable & (lowest < np.iinfo(np.int32).max)
    safe_base = np.where(evaluable, patient_base_t, 1)
    best = (lowest.astype(np.int64) - safe_base) * 100 / safe_base
    first75 = first[75]
    sustained = (first75 != _NONE) & ((below75 < 0) | (below75 < first75))
    return pl.DataFrame(
        [
            rows["patient_id"].gather(segments.order[starts]),
            _arm(rows, segments),
            _masked(pl.Series("base", patient_base_t / 10).round(1), evaluable),
            _masked(pl.Series("best_pchg", best), has_value),
            *(_day_or_null(f"first_pasi{t}_day", first[t]) for t in THRESHOLDS),
            _masked(pl.Series("pasi75_sustained", sustained), evaluable),
            _day_or_null("loss_of_response_day", lost),
        ]
    )


def _arm(rows: pl.DataFrame, segments: PatientSegments) -> pl.Series:
    """Each patient's arm: the first row's, or (when that is empty) any row's that has one."""
    if "arm" not in rows.columns:
        return pl.Series("arm", [None] * segments.patients, dtype=pl.String)
    first = rows["arm"].gather(segments.order[segments.starts])
    if not first.null_count():
        return first
    known = segments.sorted(rows["arm"].is_not_null().to_numpy())
    position = np.where(known, np.arange(known.size), -1)
    last_known = np.maximum.reduceat(position, segments.starts)
    picked = rows["arm"].gather(segments.order[np.maximum(last_known, 0)])
    return _masked(picked, last_known >= 0)
