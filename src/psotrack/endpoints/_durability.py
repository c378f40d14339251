"""Per-patient durability endpoints as segment reductions over rows grouped by patient.

The one implementation behind :func:`psotrack.endpoints.derive_patient_endpoints` and
:func:`psotrack.endpoints.derive_flares` (definitions in their docstrings): each endpoint is a
minimum, maximum or count over a patient's post-baseline rows with a PASI (ordered by day in the
:class:`~psotrack.endpoints._segments.PatientSegments`), decided in integer tenths, computed with
one ``ufunc.reduceat`` instead of a grouped hash aggregation.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints._segments import PatientSegments
from psotrack.endpoints._validate import PASI_MAX_TENTHS
from psotrack.endpoints.response import DEFAULT_THRESHOLDS

_NONE: Final = np.iinfo(np.int64).max
#: Larger than any PASI in tenths: shifting each patient's values down by patient × this makes
#: one running minimum over all rows restart at every patient.
_SPAN: Final = 2 * PASI_MAX_TENTHS + 2
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

    first = {t: first_day(gain >= t * base) for t in DEFAULT_THRESHOLDS}
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
            patient_ids(rows, segments),
            patient_arms(rows, segments),
            # A baseline of 0 is shown (0.0); only a patient with none has an empty ``base``.
            _masked(pl.Series("base", patient_base_t / 10).round(1), patient_base_t >= 0),
            _masked(pl.Series("best_pchg", best), has_value),
            *(_day_or_null(f"first_pasi{t}_day", first[t]) for t in DEFAULT_THRESHOLDS),
            _masked(pl.Series("pasi75_sustained", sustained), evaluable),
            _day_or_null("loss_of_response_day", lost),
        ]
    )


def patient_ids(rows: pl.DataFrame, segments: PatientSegments) -> pl.Series:
    """Each patient's ``patient_id``, in the segments' patient order."""
    return rows["patient_id"].gather(segments.order[segments.starts])


def patient_arms(rows: pl.DataFrame, segments: PatientSegments) -> pl.Series:
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


def _first_days(
    name: str, condition: npt.NDArray[np.bool_], segments: PatientSegments
) -> pl.Series:
    """Per patient, the first day where ``condition`` holds at a sorted position (else null)."""
    days = np.minimum.reduceat(np.where(condition, segments.day, _NONE), segments.starts)
    return _day_or_null(name, days.astype(np.int64, copy=False))


def relapse_days(
    segments: PatientSegments,
    sorted_pasi_t: Ints,
    patient_base_t: Ints,
    stop_day: int,
    percent: int,
) -> pl.Series:
    """``relapse_day`` per patient: the first visit after ``stop_day`` that gave back at least
    ``percent`` % of the improvement from baseline to the lowest PASI on days 1…``stop_day``."""
    day, counts = segments.day, segments.counts
    stop = max(min(stop_day, _NONE), -_NONE)  # the same comparisons, in the int64 range
    value = sorted_pasi_t.astype(np.int64)
    seen = (day > 0) & (value >= 0)
    on_therapy = np.where(seen & (day <= stop), value, _NONE)
    best_on = np.minimum.reduceat(on_therapy, segments.starts)
    relapsing = (patient_base_t > 0) & (best_on < patient_base_t)  # improved on therapy
    best_on = np.where(relapsing, best_on, 0)
    gain = np.where(relapsing, patient_base_t - best_on, 0)
    given_back = (value - np.repeat(best_on, counts)) * 100 >= np.repeat(gain, counts) * percent
    found = seen & (day > stop) & np.repeat(relapsing, counts) & given_back
    return _first_days("relapse_day", found, segments)


def flare_decision(value_t: Any, best_t: Any, rise_percent: int, min_rise_tenths: int) -> Any:
    """Whether a post-baseline PASI flares against the running best, both in tenths (whole
    numbers, or int64 arrays decided elementwise): ``value − best ≥ max(min_rise_tenths, 1)`` and
    ``(value − best) × 100 ≥ rise_percent × best``. The one statement of the flare rule
    (:class:`psotrack.endpoints.FlareRule`), for cohorts and single visits alike."""
    rise = value_t - best_t
    # A rise is at most PASI_MAX_TENTHS, so clipping the rule's numbers changes no decision
    # while keeping the products inside int64.
    least = max(min(min_rise_tenths, _SPAN), 1)
    percent = min(rise_percent, 100 * _SPAN)
    return (rise >= least) & (rise * 100 >= best_t * percent)


def flare_columns(
    segments: PatientSegments, sorted_pasi_t: Ints, rise_percent: int, min_rise_tenths: int
) -> tuple[pl.Series, pl.Series]:
    """``first_flare_day`` and ``flare_count`` per patient (see
    :class:`psotrack.endpoints.FlareRule`): a post-baseline PASI at least ``rise_percent`` % and
    ``max(min_rise_tenths, 1)`` tenths above the lowest at the earlier post-baseline visits."""
    value = sorted_pasi_t.astype(np.int64)
    kept = np.flatnonzero((segments.day > 0) & (value >= 0))
    value, patient = value[kept], segments.sorted_code[kept]
    # Every shifted value of a patient is below all shifted values of the patients before it.
    running = np.minimum.accumulate(value - patient * _SPAN)
    after_first = np.zeros(kept.size, dtype=bool)
    after_first[1:] = patient[1:] == patient[:-1]
    best = np.zeros(kept.size, dtype=np.int64)
    best[1:] = running[:-1] + patient[1:] * _SPAN
    flare = after_first & flare_decision(value, best, rise_percent, min_rise_tenths)
    onset = flare.copy()
    onset[1:] &= ~flare[:-1]
    flares, onsets = np.zeros(segments.day.size, dtype=bool), np.zeros(segments.day.size, np.int64)
    flares[kept], onsets[kept] = flare, onset
    count = np.add.reduceat(onsets, segments.starts) if segments.patients else onsets[:0]
    return _first_days("first_flare_day", flares, segments), pl.Series("flare_count", count)
