"""Baseline and follow-up biomarker pairs from long lab tables, for :func:`biomarker_change`."""

from __future__ import annotations

import polars as pl

from psotrack.errors import ValidationError
from psotrack.stats.biomarkers import _check_frame


def derive_biomarker_pairs(
    measurements: pl.DataFrame, follow_up_day: int, *, value: str = "value"
) -> pl.DataFrame:
    """One row per patient from long measurements (``patient_id, day, value``).

    ``baseline`` is the last non-missing value on or before day 0; ``follow_up`` the non-missing
    value on exactly ``follow_up_day`` (no window: a sample taken another day is another visit).
    A patient lacking either keeps a row with a null there, so :func:`biomarker_change` counts
    it as dropped. Rows come out sorted by ``patient_id``.

    >>> long = pl.DataFrame({"patient_id": [1, 1, 1, 1], "day": [-7, 0, 28, 56],
    ...                      "value": [3.0, None, 4.0, 5.5]})
    >>> derive_biomarker_pairs(long, 56).rows()
    [(1, 3.0, 5.5)]
    """
    if isinstance(follow_up_day, bool) or not isinstance(follow_up_day, int):
        raise ValidationError("follow_up_day", follow_up_day, "a whole study day", kind="type")
    if follow_up_day <= 0:
        allowed = "a day after 0 (post-baseline)"
        raise ValidationError("follow_up_day", follow_up_day, allowed, kind="invalid")
    columns = ("patient_id", "day", value)
    _check_frame(measurements, "measurements", columns, ("day", value), ("patient_id", "day"))
    observed = measurements.with_columns(pl.col(value).cast(pl.Float64).alias("_value")).filter(
        pl.col("_value").is_not_null() & ~pl.col("_value").is_nan()
    )
    baseline = (
        observed.filter(pl.col("day") <= 0)
        .sort("day")
        .group_by("patient_id")
        .agg(pl.col("_value").last().alias("baseline"))
    )
    follow_up = observed.filter(pl.col("day") == follow_up_day).select(
        "patient_id", pl.col("_value").alias("follow_up")
    )
    patients = measurements.select("patient_id").unique()
    return (
        patients.join(baseline, on="patient_id", how="left")
        .join(follow_up, on="patient_id", how="left")
        .sort("patient_id")
    )
