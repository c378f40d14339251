"""Measures of biologics on simulated arms: first-order PASI decline and relapse after stopping.

* :func:`first_order_decline`: per arm, the rate ``k`` (1/day) and the fractional maximal
  reduction ``I`` of the first-order (indirect-response / turnover) model
  ``PASI(t)/PASI(0) = (1 − I) + I·e^(−k·t)``, fitted by bounded least squares to the median
  PASI ratio at the visits of days 0 to ``last_day`` (84 by default: the weekly visits to week
  12). This is psotrack's reading of the fitted first-order PASI decline rates quoted in
  ``shared/reference/models.md`` (about 0.11/day for secukinumab, 0.016/day for ustekinumab):
  the rate constant of a fitted first-order model, not the raw early slope.
* :func:`relapse_events` and :func:`relapse_median`: time to relapse after the last dose by the
  endpoint engine's rule (:func:`psotrack.endpoints.derive_time_to_relapse`: the first visit that
  has given back half the improvement, among responders at the stop) and its Kaplan–Meier median
  (:func:`psotrack.stats.time_to_relapse`). No second relapse definition is written here.

Every number is about simulated patients; nothing here is a result about any therapy.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.optimize import least_squares

from psotrack.endpoints import derive_time_to_relapse
from psotrack.errors import ValidationError
from psotrack.model.trial import assessment_table
from psotrack.stats import time_to_relapse

FloatArray = npt.NDArray[np.float64]

#: The last day of the fitting window (the weekly visits to week 12).
DECLINE_DAYS: Final = 84
#: Bounds of the fitted rate (1/day): from a 10-year to a 1-hour time constant.
RATE_BOUNDS: Final = (1e-4, 24.0)


def first_order_curve(day: npt.ArrayLike, rate: float, reduction: float) -> FloatArray:
    """``PASI(t)/PASI(0) = (1 − I) + I·e^(−k·t)`` with ``k = rate`` and ``I = reduction``.

    >>> round(float(first_order_curve(10.0, 0.1, 0.8)), 6)  # 0.2 + 0.8·e^(−1)
    0.494304
    """
    t = np.asarray(day, dtype=np.float64)
    return np.asarray((1.0 - reduction) + reduction * np.exp(-rate * t), dtype=np.float64)


def _fit(day: FloatArray, ratio: FloatArray) -> tuple[float, float]:
    """Least-squares ``(k, I)`` of :func:`first_order_curve`, ``0 < I ≤ 1``, k in RATE_BOUNDS."""

    def residuals(theta: FloatArray) -> FloatArray:
        return first_order_curve(day, float(theta[0]), float(theta[1])) - ratio

    # Start from the visit nearest a halving of the fall reached: k ≈ ln 2 / that day.
    fall = 1.0 - float(np.min(ratio))
    reduction0 = float(np.clip(fall, 0.05, 1.0))
    half = day[np.argmax(1.0 - ratio >= fall / 2)] if fall > 0 else day[-1]
    rate0 = float(np.clip(np.log(2) / max(float(half), 1.0), RATE_BOUNDS[0], RATE_BOUNDS[1]))
    best = None
    for start in ((rate0, reduction0), (rate0 / 4, 1.0), (min(rate0 * 4, 1.0), reduction0)):
        found = least_squares(
            residuals,
            np.array(start),
            bounds=([RATE_BOUNDS[0], 1e-9], [RATE_BOUNDS[1], 1.0]),
            xtol=1e-14,
            ftol=1e-14,
            gtol=1e-14,
        )
        if best is None or found.cost < best.cost:
            best = found
    assert best is not None
    return float(best.x[0]), float(best.x[1])


def first_order_decline(frame: pl.DataFrame, last_day: float = DECLINE_DAYS) -> pl.DataFrame:
    """Per arm: ``arm, rate_per_day, max_reduction, visits, n`` from a simulated frame
    (``arm, patient_id, day, pasi``).

    Each patient's PASI is divided by their day-0 PASI (patients with a baseline PASI of 0 are
    not evaluable and left out); the median ratio per visit on days 0 to ``last_day`` is fitted
    by least squares (:func:`scipy.optimize.least_squares`, bounds ``0 < I ≤ 1``) with the
    first-order model :func:`first_order_curve`. ``rate_per_day`` is ``k``, ``max_reduction``
    ``I``. It needs a day-0 visit and at least three visits in the window.

    >>> days = [0.0, 7.0, 14.0, 28.0, 56.0, 84.0]
    >>> rows = pl.DataFrame({"arm": ["a"] * 6, "patient_id": [1] * 6, "day": days,
    ...                      "pasi": (20 * first_order_curve(days, 0.05, 0.9)).tolist()})
    >>> fit = first_order_decline(rows)
    >>> round(fit["rate_per_day"][0], 6), round(fit["max_reduction"][0], 6)
    (0.05, 0.9)
    """
    window = frame.filter((pl.col("day") >= 0) & (pl.col("day") <= last_day))
    baseline = window.filter(pl.col("day") == 0).select(
        "arm", "patient_id", pl.col("pasi").alias("_base")
    )
    ratios = (
        window.join(baseline, on=["arm", "patient_id"], how="inner")
        .filter(pl.col("_base") > 0)
        .group_by("arm", "day")
        .agg((pl.col("pasi") / pl.col("_base")).median().alias("ratio"), pl.len().alias("n"))
        .sort("arm", "day")
    )
    rows = []
    for arm in frame["arm"].unique(maintain_order=True).to_list():
        part = ratios.filter(pl.col("arm") == arm)
        if part.height < 3 or part["day"][0] != 0:
            raise ValidationError(
                "frame",
                str(arm),
                f"a day-0 visit and three or more visits on days 0–{last_day:g} with a PASI > 0 "
                "at baseline",
            )
        rate, reduction = _fit(part["day"].to_numpy(), part["ratio"].to_numpy())
        rows.append(
            {
                "arm": arm,
                "rate_per_day": rate,
                "max_reduction": reduction,
                "visits": part.height,
                "n": int(part["n"].to_numpy().max()),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "arm": pl.String,
            "rate_per_day": pl.Float64,
            "max_reduction": pl.Float64,
            "visits": pl.Int64,
            "n": pl.Int64,
        },
    )


def relapse_events(frame: pl.DataFrame, stop_day: int, responders: int = 75) -> pl.DataFrame:
    """Time to relapse after ``stop_day`` by :func:`derive_time_to_relapse` (its rule and
    responder filter), from a simulated frame; one row per responder, ``time``/``event``."""
    return derive_time_to_relapse(assessment_table(frame), stop_day=stop_day, responders=responders)


def relapse_median(
    frame: pl.DataFrame, stop_day: int, responders: int = 75
) -> tuple[float | None, int, int]:
    """Kaplan–Meier median days from ``stop_day`` to relapse, responders and relapses.

    The median is ``None`` when fewer than half of the responders relapse during follow-up (or
    nobody responded).
    """
    events = relapse_events(frame, stop_day, responders)
    if events.height == 0:
        return None, 0, 0
    curve = time_to_relapse(events).curve()
    return curve.median, events.height, int(events["event"].sum())


__all__ = [
    "DECLINE_DAYS",
    "first_order_curve",
    "first_order_decline",
    "relapse_events",
    "relapse_median",
]
