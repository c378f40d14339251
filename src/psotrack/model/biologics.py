"""Measures of biologics on simulated arms: early PASI decline and relapse after stopping.

* :func:`early_decline_rate`: per arm, the first-order decline rate of the median PASI over
  the first weeks, ``−slope`` of the least-squares line through ``ln median PASI`` against day
  on the visits from day 0 to ``last_day`` (28 by default) — the read-out of the exposure–response
  analyses quoted in ``shared/reference/models.md`` (about 0.11/day for secukinumab, 0.016/day
  for ustekinumab), here from simulated readings.
* :func:`relapse_events` and :func:`relapse_median`: time to relapse after the last dose by the
  endpoint engine's rule (:func:`psotrack.endpoints.derive_time_to_relapse`: the first visit that
  has given back half the improvement, among responders at the stop) and its Kaplan–Meier median
  (:func:`psotrack.stats.time_to_relapse`). No second relapse definition is written here.

Every number is about simulated patients; nothing here is a result about any therapy.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from psotrack.endpoints import derive_time_to_relapse
from psotrack.errors import ValidationError
from psotrack.model.trial import assessment_table
from psotrack.stats import time_to_relapse

#: The last day of the early-decline window (the first four weeks).
EARLY_DAYS: Final = 28


def early_decline_rate(frame: pl.DataFrame, last_day: float = EARLY_DAYS) -> pl.DataFrame:
    """Per arm: ``arm, rate_per_day, visits, n`` from a simulated frame (``arm, day, pasi``).

    ``rate_per_day`` is minus the least-squares slope of ``ln(median PASI)`` over the visits on
    days 0 to ``last_day``; it needs at least two such visits with a median PASI above 0.

    >>> rows = pl.DataFrame({"arm": ["a"] * 3, "patient_id": [1] * 3,
    ...                      "day": [0.0, 14.0, 28.0], "pasi": [20.0, 20 * np.exp(-1.4), 1.0]})
    >>> round(early_decline_rate(rows)["rate_per_day"][0], 4)
    0.1035
    """
    window = frame.filter((pl.col("day") >= 0) & (pl.col("day") <= last_day))
    medians = (
        window.group_by("arm", "day")
        .agg(pl.col("pasi").median().alias("median"), pl.len().alias("n"))
        .filter(pl.col("median") > 0)
        .sort("arm", "day")
    )
    rows = []
    for (arm,), part in medians.group_by("arm", maintain_order=True):
        if part.height < 2:
            raise ValidationError(
                "frame", str(arm), f"two or more visits on days 0–{last_day:g} with a PASI > 0"
            )
        slope = np.polyfit(part["day"].to_numpy(), np.log(part["median"].to_numpy()), 1)[0]
        rows.append(
            {"arm": arm, "rate_per_day": float(-slope), "visits": part.height, "n": part["n"].max()}
        )
    return pl.DataFrame(
        rows,
        schema={"arm": pl.String, "rate_per_day": pl.Float64, "visits": pl.Int64, "n": pl.Int64},
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


__all__ = ["EARLY_DAYS", "early_decline_rate", "relapse_events", "relapse_median"]
