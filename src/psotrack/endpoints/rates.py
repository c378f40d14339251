"""Responder rates per arm and post-baseline visit with a chosen missing-data rule and interval.

Missing-data rules (every table carries its rule in the ``missing`` column):

- ``nri`` (non-responder imputation): the denominator is every patient of the arm; a missed or
  absent visit counts as no response.
- ``observed``: patients with a PASI at that visit.
- ``locf``: the last post-baseline PASI on or before the visit is carried forward (visits ordered
  by their day); patients with no post-baseline PASI yet are left out.

Denominator rules, for patients with no evaluable baseline (no PASI on or before day 0, or a
baseline of 0, from which no percentage improvement exists); every table carries its rule in the
``denominator`` column:

- ``itt`` (strict intention to treat, the default): every enrolled patient counts, and one with no
  evaluable baseline is a non-responder at every visit the missing-data rule counts him.
- ``evaluable``: patients with no evaluable baseline are left out of every denominator.

psotrack's choice: ``itt`` is the default because it is what a trial statistician means by NRI
(all randomised or enrolled patients, e.g. the full analysis set) and it can never make a rate
look better by dropping patients; ``evaluable`` is the per-protocol-like alternative.

A visit is identified by its label; its ``day`` is the most common day recorded for that label
(the smallest when tied), and post-baseline visits are those whose day is > 0. A row counts as a
post-baseline value only when its own day is also > 0 (a pre-treatment row carrying the label of
a post-baseline visit is not a response).

Each patient belongs to one group: the first non-empty value of the ``by`` column among the
patient's rows (so an arm recorded only on the W0 row applies to every visit). Patients with no
value at all form a group of their own (an empty ``arm``), kept in every rule.

:func:`derive_flag_rates` counts the absolute targets PGA 0/1 and DLQI 0/1 (the ``pga01`` and
``dlqi01`` row flags of :func:`~psotrack.endpoints.derive_responders`) on the same visit grid,
with the same groups and missing-data rules. They need no baseline, so every patient of the
group is in the denominator (``itt``) and there is no ``evaluable`` rule; ``observed`` counts the
patients with a PGA (or DLQI) at the visit and ``locf`` carries the last post-baseline one.
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

from psotrack.endpoints._validate import PASI_T, PATIENT_KEY
from psotrack.endpoints.baseline import BASE_T, Assessments, prepare_assessments, prepared
from psotrack.endpoints.response import check_percent, derive_responders, improved_by
from psotrack.errors import ValidationError
from psotrack.stats.proportions import PROPORTION_METHODS, ProportionMethod, proportion_interval

MissingRule = Literal["nri", "observed", "locf"]
MISSING_RULES: Final = ("nri", "observed", "locf")
#: Each missing-data rule in words, for printing beside the rates it produced.
MISSING_TEXT: Final = {
    "nri": "non-responder imputation: a missed visit counts as no response",
    "observed": "observed cases: patients with a PASI at the visit",
    "locf": "last observation carried forward",
}
DenominatorRule = Literal["itt", "evaluable"]
DENOMINATOR_RULES: Final = ("itt", "evaluable")
#: Each denominator rule in words, for printing beside the rates it produced.
DENOMINATOR_TEXT: Final = {
    "itt": "every enrolled patient (ITT); no evaluable baseline counts as a non-responder",
    "evaluable": "patients with an evaluable baseline (PASI > 0) only",
}
#: Label of the single group when rates are not split by arm.
ALL_PATIENTS: Final = "all"
_PACK: Final = 1024
#: A row's own day after the first treatment (its label alone does not make it post-baseline).
_POST: Final = pl.col("day") > 0


def visit_days(frame: pl.DataFrame) -> pl.DataFrame:
    """``visit, day`` per label: the modal day (smallest when tied), sorted by day then label."""
    return frame.group_by("visit").agg(pl.col("day").mode().min().alias("day")).sort("day", "visit")


def _check(
    missing: object, denominator: object, ci: object, by: str | None, columns: list[str]
) -> None:
    if missing not in MISSING_RULES:
        raise ValidationError("missing", missing, "nri, observed or locf", kind="invalid")
    if denominator not in DENOMINATOR_RULES:
        raise ValidationError("denominator", denominator, "itt or evaluable", kind="invalid")
    if ci not in PROPORTION_METHODS:
        raise ValidationError("ci", ci, "exact, wilson or jeffreys", kind="invalid")
    if by is not None and by not in columns:
        raise ValidationError("by", by, "a column of the assessment table", kind="invalid")


def _counts(
    rows: pl.DataFrame, grid: pl.DataFrame, threshold: int, missing: str, denominator: str
) -> pl.DataFrame:
    """``group, visit, n, responders`` for every group × grid visit (zeros where none)."""
    # Under ITT a patient with no evaluable baseline stays in: ``improved_by`` is null for him
    # (no baseline tenths), and a null adds nothing to the responders: a non-responder.
    counted_rows = rows if denominator == "itt" else rows.filter(pl.col(BASE_T).is_not_null())
    patients = counted_rows.group_by(PATIENT_KEY).agg(pl.col("_group").drop_nulls().first())
    groups = patients.group_by("_group").agg(pl.len().alias("_patients"))
    full = groups.join(grid, how="cross")
    responded = improved_by(threshold).cast(pl.Int64)
    if missing == "locf":
        counted = _locf(counted_rows, grid, threshold)
    else:
        with_value = counted_rows.filter(pl.col(PASI_T).is_not_null() & _POST)
        counted = with_value.group_by("_group", "visit").agg(
            pl.len().alias("n"), responded.sum().alias("responders")
        )
    out = full.join(counted, on=["_group", "visit"], how="left", nulls_equal=True).with_columns(
        pl.col("n").fill_null(0), pl.col("responders").fill_null(0)
    )
    if missing == "nri":
        out = out.with_columns(pl.col("_patients").alias("n"))
    return out


def _locf(counted_rows: pl.DataFrame, grid: pl.DataFrame, threshold: int) -> pl.DataFrame:
    # day × 1024 + value packs each post-baseline PASI with its visit day; the maximum among
    # visits on or before a grid day is the value carried forward to it (one grouped pass).
    post = counted_rows.join(grid.rename({"day": "_visit_day"}), on="visit", how="inner").filter(
        pl.col(PASI_T).is_not_null() & _POST
    )
    packed = pl.col("_visit_day") * _PACK + pl.col(PASI_T)
    carried = post.group_by(PATIENT_KEY).agg(
        pl.col("_group").first(),
        pl.col(BASE_T).first(),
        *(
            (packed.filter(pl.col("_visit_day") <= day).max() % _PACK).alias(f"_v{i}")
            for i, day in enumerate(grid["day"].to_list())
        ),
    )
    parts = []
    for i, visit in enumerate(grid["visit"].to_list()):
        value = pl.col(f"_v{i}")
        parts.append(
            carried.filter(value.is_not_null())
            .group_by("_group")
            .agg(
                pl.len().alias("n"),
                improved_by(threshold, value).cast(pl.Int64).sum().alias("responders"),
            )
            .with_columns(pl.lit(visit).alias("visit"))
        )
    schema = {"_group": pl.String, "n": pl.UInt32, "responders": pl.Int64, "visit": pl.String}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _group_column(by: str | None) -> pl.Expr:
    """The patient's group, not the row's: the first non-empty value among the patient's rows."""
    if by is None:
        return pl.lit(ALL_PATIENTS)
    return pl.col(by).cast(pl.String).drop_nulls().first().over(PATIENT_KEY)


def derive_response_rates(
    frame: pl.DataFrame | Assessments,
    threshold: int = 75,
    missing: MissingRule = "nri",
    by: str | None = "arm",
    ci: ProportionMethod = "exact",
    level: float = 0.95,
    denominator: DenominatorRule = "itt",
) -> pl.DataFrame:
    """PASI ``threshold`` responder rate per group and post-baseline visit, ordered by day.

    Columns: ``arm`` (or the ``by`` column; ``"all"`` when ``by`` is None), ``visit, day, n,
    responders, rate, ci_low, ci_high`` (proportions 0–1; empty when ``n`` is 0), ``missing``
    (the missing-data rule), ``denominator`` (``itt`` or ``evaluable``, see the module) and
    ``ci`` (the interval method, from :func:`psotrack.stats.proportion_interval`).

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "b", "b", "c", "c"], "visit": ["W0", "W4"] * 3,
    ...     "day": [0, 28] * 3, "pasi": [10.0, 2.5, 10.0, None, None, 3.0],
    ... })
    >>> derive_response_rates(rows, by=None).select("n", "responders", "denominator").rows()
    [(3, 1, 'itt')]
    >>> derive_response_rates(rows, by=None, denominator="evaluable")["n"].to_list()
    [2]
    >>> derive_response_rates(rows, missing="observed", by=None)["n"].to_list()
    [2]
    """
    check_percent("threshold", threshold)
    rows = prepared(frame)
    _check(missing, denominator, ci, by, rows.columns)
    rows = rows.with_columns(_group_column(by).alias("_group"))
    grid = visit_days(rows).filter(pl.col("day") > 0)
    counts = _counts(rows, grid, threshold, missing, denominator).sort("day", "_group", "visit")
    return _with_intervals(counts, by, missing, denominator, ci, level)


def _with_intervals(
    counts: pl.DataFrame,
    by: str | None,
    missing: str,
    denominator: str,
    ci: ProportionMethod,
    level: float,
) -> pl.DataFrame:
    """The published columns of a rates table from ``_group, visit, day, n, responders``."""
    intervals = [
        proportion_interval(int(x), int(n), ci, level) if n > 0 else None
        for x, n in zip(counts["responders"].to_list(), counts["n"].to_list(), strict=True)
    ]
    return counts.select(
        pl.col("_group").alias(by or "arm"),
        "visit",
        pl.col("day").cast(pl.Int64),
        pl.col("n").cast(pl.Int64),
        pl.col("responders").cast(pl.Int64),
        pl.Series("rate", [i.rate if i else None for i in intervals], pl.Float64),
        pl.Series("ci_low", [i.low if i else None for i in intervals], pl.Float64),
        pl.Series("ci_high", [i.high if i else None for i in intervals], pl.Float64),
        pl.lit(missing).alias("missing"),
        pl.lit(denominator).alias("denominator"),
        pl.lit(ci).alias("ci"),
    )


#: The absolute-target row flags of :func:`derive_responders` and the score each one reads.
FLAG_SOURCES: Final = {"pga01": "pga", "dlqi01": "dlqi"}


def derive_flag_rates(
    frame: pl.DataFrame | Assessments,
    flag: str = "pga01",
    missing: MissingRule = "nri",
    by: str | None = "arm",
    ci: ProportionMethod = "exact",
    level: float = 0.95,
) -> pl.DataFrame:
    """PGA 0/1 (``flag="pga01"``) or DLQI 0/1 (``"dlqi01"``) rate per group and visit.

    The same columns, visit grid, groups and missing-data rules as
    :func:`derive_response_rates`; the denominator is always every patient of the group
    (``itt``): these targets need no baseline (see the module text).

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "b", "b", "c", "c"], "visit": ["W0", "W4"] * 3,
    ...     "day": [0, 28] * 3, "pasi": [10.0, 2.5, 10.0, 6.0, 8.0, None],
    ...     "pga": [3, 1, 4, 2, 3, None],
    ... })
    >>> derive_flag_rates(rows, by=None).select("n", "responders").rows()
    [(3, 1)]
    >>> derive_flag_rates(rows, missing="observed", by=None).select("n", "responders").rows()
    [(2, 1)]
    """
    if flag not in FLAG_SOURCES:
        raise ValidationError("flag", flag, "pga01 or dlqi01", kind="invalid")
    source = FLAG_SOURCES[flag]
    assessments = prepare_assessments(frame)
    _check(missing, "itt", ci, by, assessments.frame.columns)
    if source not in assessments.frame.columns:
        raise ValidationError(flag, None, f"a {source} column in the assessments", "missing")
    # derive_responders drops the internal key: group over patient_id (one id, one patient).
    group = (
        pl.col(by).cast(pl.String).drop_nulls().first().over("patient_id")
        if by is not None
        else pl.lit(ALL_PATIENTS)
    )
    rows = derive_responders(assessments).with_columns(group.alias("_group"))
    grid = visit_days(rows).filter(pl.col("day") > 0)
    patients = rows.group_by("patient_id").agg(pl.col("_group").first())
    groups = patients.group_by("_group").agg(pl.len().alias("_patients"))
    flagged = rows.filter(pl.col(flag).is_not_null())
    if missing == "locf":
        # The flag of the patient's latest post-baseline visit on or before each grid visit's
        # day (visits placed at their grid day, as for PASI).
        placed = flagged.join(grid.rename({"day": "_visit_day"}), on="visit", how="inner")
        carried = (
            placed.join(grid.rename({"visit": "_grid_visit", "day": "_grid_day"}), how="cross")
            .filter(pl.col("_visit_day") <= pl.col("_grid_day"))
            .sort("_visit_day")
            .group_by("patient_id", "_grid_visit")
            .agg(pl.col("_group").first(), pl.col(flag).last())
        )
        counted = carried.group_by("_group", pl.col("_grid_visit").alias("visit")).agg(
            pl.len().alias("n"), pl.col(flag).cast(pl.Int64).sum().alias("responders")
        )
    else:
        counted = flagged.group_by("_group", "visit").agg(
            pl.len().alias("n"), pl.col(flag).cast(pl.Int64).sum().alias("responders")
        )
    counts = (
        groups.join(grid, how="cross")
        .join(counted, on=["_group", "visit"], how="left", nulls_equal=True)
        .with_columns(pl.col("n").fill_null(0), pl.col("responders").fill_null(0))
    )
    if missing == "nri":
        counts = counts.with_columns(pl.col("_patients").alias("n"))
    counts = counts.sort("day", "_group", "visit")
    return _with_intervals(counts, by, missing, "itt", ci, level)
