"""Time-to-event rows for Kaplan–Meier: time to first response, and duration of response.

One row per patient at risk with ``time`` (days) and ``event`` (1 event, 0 censored). Censoring is
at the last post-baseline visit with a PASI; an evaluable patient without any post-baseline PASI
is censored at day 0 (at risk from the first treatment, never seen after it).
"""

from __future__ import annotations

import polars as pl

from psotrack.endpoints._validate import PASI_T, PATIENT_KEY
from psotrack.endpoints.baseline import BASE_T, Assessments, prepared
from psotrack.endpoints.patients import LossOfResponseRule
from psotrack.endpoints.response import check_percent, improved_by

_DAY = pl.col("day")


def _at_risk(rows: pl.DataFrame) -> pl.DataFrame:
    """Evaluable patients with arm, and their post-baseline PASI rows."""
    arm = pl.col("arm").drop_nulls().first() if "arm" in rows.columns else pl.lit(None, pl.String)
    return (
        rows.filter(pl.col(BASE_T).is_not_null())
        .group_by(PATIENT_KEY)
        .agg(pl.col("patient_id").first(), arm.alias("arm"))
    )


def derive_time_to_event(frame: pl.DataFrame | Assessments, threshold: int = 75) -> pl.DataFrame:
    """Time to first PASI ``threshold`` response per evaluable patient (``time``, ``event``).

    ``event`` = 1 at the first day the response is reached; otherwise 0 with ``time`` the last
    post-baseline day with a PASI (0 when there is none). Sorted by ``patient_id``.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "a", "b", "b"], "visit": ["W0", "W4", "W8", "W0", "W4"],
    ...     "day": [0, 28, 56, 0, 28], "pasi": [10.0, 2.5, 1.0, 10.0, 6.0],
    ... })
    >>> derive_time_to_event(rows).select("patient_id", "time", "event").rows()
    [('a', 28, 1), ('b', 28, 0)]
    """
    check_percent("threshold", threshold)
    rows = prepared(frame)
    post = rows.filter((_DAY > 0) & pl.col(PASI_T).is_not_null() & pl.col(BASE_T).is_not_null())
    times = post.group_by(PATIENT_KEY).agg(
        _DAY.filter(improved_by(threshold)).min().alias("_event_day"),
        _DAY.max().alias("_last_day"),
    )
    event_day = pl.col("_event_day")
    return (
        _at_risk(rows)
        .join(times, on=PATIENT_KEY, how="left")
        .select(
            "patient_id",
            "arm",
            pl.coalesce(event_day, pl.col("_last_day"), pl.lit(0)).cast(pl.Int64).alias("time"),
            event_day.is_not_null().cast(pl.Int8).alias("event"),
        )
        .sort("patient_id")
    )


def derive_time_to_loss(
    frame: pl.DataFrame | Assessments, rule: LossOfResponseRule | None = None
) -> pl.DataFrame:
    """Duration of response among responders: ``patient_id, arm, start_day, time, event``.

    ``start_day`` is the first day of a PASI ``rule.reached`` response; ``time`` counts days from
    it to the loss of response (``event`` = 1, see :class:`LossOfResponseRule`) or to the last
    post-baseline day with a PASI (``event`` = 0). Patients who never respond have no row.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a"] * 4, "visit": ["W0", "W4", "W8", "W12"],
    ...     "day": [0, 28, 56, 84], "pasi": [20.0, 4.0, 8.0, 11.0],
    ... })
    >>> derive_time_to_loss(rows).select("start_day", "time", "event").rows()
    [(28, 56, 1)]
    """
    rule = rule or LossOfResponseRule()
    rows = prepared(frame)
    post = rows.filter((_DAY > 0) & pl.col(PASI_T).is_not_null() & pl.col(BASE_T).is_not_null())
    reached = _DAY.filter(improved_by(rule.reached)).min()
    per_patient = post.group_by(PATIENT_KEY).agg(
        reached.alias("start_day"),
        _DAY.filter((_DAY > reached) & ~improved_by(rule.lost_below)).min().alias("_loss_day"),
        _DAY.max().alias("_last_day"),
    )
    loss_day = pl.col("_loss_day")
    return (
        _at_risk(rows)
        .join(per_patient.filter(pl.col("start_day").is_not_null()), on=PATIENT_KEY, how="inner")
        .select(
            "patient_id",
            "arm",
            pl.col("start_day").cast(pl.Int64),
            (pl.coalesce(loss_day, pl.col("_last_day")) - pl.col("start_day"))
            .cast(pl.Int64)
            .alias("time"),
            loss_day.is_not_null().cast(pl.Int8).alias("event"),
        )
        .sort("patient_id")
    )
