"""Time-to-event rows for Kaplan–Meier: time to response, duration of response, time to relapse.

One row per patient at risk with ``time`` (days) and ``event`` (1 event, 0 censored). Censoring is
at the last post-baseline visit with a PASI; an evaluable patient without any post-baseline PASI
is censored at day 0 (at risk from the first treatment, never seen after it). Time to relapse
instead counts from the stop of therapy (see :func:`derive_time_to_relapse`).
"""

from __future__ import annotations

import polars as pl

from psotrack.endpoints._validate import PASI_T, PATIENT_KEY
from psotrack.endpoints.baseline import BASE_T, Assessments, prepare_assessments, prepared
from psotrack.endpoints.patients import LossOfResponseRule, derive_patient_endpoints
from psotrack.endpoints.response import DEFAULT_THRESHOLDS, check_percent, improved_by
from psotrack.errors import ValidationError

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


def derive_time_to_relapse(
    frame: pl.DataFrame | Assessments,
    stop_day: int,
    relapse_percent: int = 50,
    responders: int | None = 50,
) -> pl.DataFrame:
    """Time to relapse after stopping therapy: ``patient_id, arm, time, event`` per patient.

    Relapse is ``relapse_day`` of :func:`derive_patient_endpoints` with the same ``stop_day`` and
    ``relapse_percent`` (the first visit after ``stop_day`` that has given back at least
    ``relapse_percent`` % of the improvement reached on therapy). ``time`` counts days **from
    ``stop_day``**: to the relapse (``event`` = 1), else to the last visit after ``stop_day``
    with a PASI (``event`` = 0). Only evaluable patients with such a visit have a row, and, as in
    withdrawal studies, only those who responded on therapy: reached PASI ``responders`` (50,
    75, 90 or 100) on or before ``stop_day``; ``responders=None`` keeps every evaluable patient
    (one who never improved cannot relapse by this definition and is then censored). Sorted by
    ``patient_id``; feeds :func:`psotrack.stats.time_to_relapse`.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a"] * 4 + ["b"] * 4, "visit": ["W0", "W4", "W8", "W12"] * 2,
    ...     "day": [0, 28, 56, 84] * 2, "pasi": [10.0, 2.0, 6.0, 9.0, 10.0, 2.0, 3.0, 4.0],
    ... })
    >>> derive_time_to_relapse(rows, stop_day=28).select("patient_id", "time", "event").rows()
    [('a', 28, 1), ('b', 56, 0)]
    """
    if isinstance(stop_day, bool) or not isinstance(stop_day, int):
        raise ValidationError("stop_day", stop_day, "a whole study day", kind="type")
    if responders is not None and responders not in DEFAULT_THRESHOLDS:
        allowed = "one of " + ", ".join(map(str, DEFAULT_THRESHOLDS)) + " (or None: everyone)"
        raise ValidationError("responders", responders, allowed, kind="invalid")
    assessments = prepare_assessments(frame)
    endpoints = derive_patient_endpoints(
        assessments, stop_day=stop_day, relapse_percent=relapse_percent
    )
    if responders is not None:
        endpoints = endpoints.filter(pl.col(f"first_pasi{responders}_day") <= stop_day)
    rows = assessments.frame
    followed = (
        rows.filter((_DAY > stop_day) & pl.col(PASI_T).is_not_null() & pl.col(BASE_T).is_not_null())
        .group_by("patient_id")
        .agg(_DAY.max().alias("_last_day"))
    )
    relapse_day = pl.col("relapse_day")
    return (
        endpoints.join(followed, on="patient_id", how="inner")
        .select(
            "patient_id",
            "arm",
            (pl.coalesce(relapse_day, pl.col("_last_day")) - stop_day).cast(pl.Int64).alias("time"),
            relapse_day.is_not_null().cast(pl.Int8).alias("event"),
        )
        .sort("patient_id")
    )
