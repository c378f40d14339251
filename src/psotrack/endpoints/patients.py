"""Per-patient endpoints: best change, first response, sustained response, loss, relapse, flares.

Every definition uses the post-baseline assessments (``day > 0``) that have a PASI, and decides
thresholds in integers on PASI tenths (see :mod:`psotrack.endpoints.response`). All are
computed once, as reductions over each patient's rows ordered by day
(:mod:`psotrack.endpoints._durability`); relapse and flares are extra passes, run when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints._durability import (
    flare_columns,
    flare_decision,
    patient_arms,
    patient_ids,
    relapse_days,
    segment_endpoints,
)
from psotrack.endpoints._segments import PatientSegments, patient_segments
from psotrack.endpoints._validate import PASI_T
from psotrack.endpoints.baseline import RAW_BASE_T, Assessments, prepare_assessments
from psotrack.endpoints.response import check_percent
from psotrack.errors import ValidationError


@dataclass(frozen=True)
class LossOfResponseRule:
    """Loss of response: after first reaching PASI ``reached``, the first later visit whose
    improvement from baseline is below ``lost_below`` % (default: reached PASI 75, then fell
    below PASI 50)."""

    reached: int = 75
    lost_below: int = 50

    def __post_init__(self) -> None:
        check_percent("reached", self.reached)
        check_percent("lost_below", self.lost_below)
        if self.lost_below > self.reached:
            raise ValidationError(
                "lost_below", self.lost_below, f"at most reached={self.reached}", kind="invalid"
            )


@dataclass(frozen=True)
class FlareRule:
    """A flare: a post-baseline PASI at least ``rise_percent`` % above the running best.

    The running best is the lowest PASI at the patient's earlier post-baseline visits (the first
    post-baseline visit cannot flare). Decided in tenths: ``(value − best) × 100 ≥ rise_percent ×
    best`` and ``value − best ≥ max(min_rise_tenths, 1)``, so from a best of 0 any rise of at least
    ``min_rise_tenths`` is a flare. An episode starts at a flaring visit whose previous visit did
    not flare; ``flare_count`` counts episodes.
    """

    rise_percent: int = 50
    min_rise_tenths: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.rise_percent, bool) or not isinstance(self.rise_percent, int):
            raise ValidationError("rise_percent", self.rise_percent, "a whole percentage", "type")
        if self.rise_percent < 1:
            raise ValidationError(
                "rise_percent", self.rise_percent, "1 or more (a rise in %)", "invalid"
            )
        if isinstance(self.min_rise_tenths, bool) or not isinstance(self.min_rise_tenths, int):
            raise ValidationError(
                "min_rise_tenths", self.min_rise_tenths, "a whole number of PASI tenths", "type"
            )

    def flares(self, value_tenths: int, best_tenths: int) -> bool:
        """Whether a post-baseline PASI of ``value_tenths`` flares against the lowest earlier
        post-baseline PASI ``best_tenths`` (one visit: what :func:`derive_flares` decides for it).

        >>> FlareRule().flares(60, 40), FlareRule().flares(59, 40), FlareRule().flares(1, 0)
        (True, False, True)
        """
        return bool(
            flare_decision(value_tenths, best_tenths, self.rise_percent, self.min_rise_tenths)
        )


def _segment_inputs(
    assessments: Assessments,
) -> tuple[pl.DataFrame, PatientSegments, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rows, their patient segments, sorted PASI tenths and baseline tenths per patient.

    :func:`prepare_assessments` keeps these; an :class:`Assessments` built from a bare frame
    gets them again from its internal columns.
    """
    rows = assessments.frame
    segments, pasi, base = (
        assessments.segments,
        assessments.sorted_pasi_t,
        assessments.patient_base_t,
    )
    if segments is None or pasi is None or base is None:
        segments = patient_segments(rows)
        pasi = segments.sorted(rows[PASI_T].fill_null(-1).cast(pl.Int64).to_numpy())
        raw = rows[RAW_BASE_T].fill_null(-1).cast(pl.Int64).to_numpy()
        base = raw[segments.order[segments.starts]]
    return rows, segments, pasi, base


def derive_patient_endpoints(
    frame: pl.DataFrame | Assessments,
    *,
    loss_rule: LossOfResponseRule | None = None,
    stop_day: int | None = None,
    relapse_percent: int = 50,
    flare_rule: FlareRule | None = None,
) -> pl.DataFrame:
    """One row per patient (sorted by ``patient_id``) with the durability endpoints.

    Columns: ``patient_id, arm, base, best_pchg`` (lowest post-baseline percent change),
    ``first_pasi50_day`` … ``first_pasi100_day``, ``pasi75_sustained`` (reached PASI 75 and held
    it at every later non-missing visit; false if never reached), ``loss_of_response_day``
    (see :class:`LossOfResponseRule`); with ``stop_day``, ``relapse_day``: the first visit after
    ``stop_day`` that has lost ≥ ``relapse_percent`` % of the maximal improvement reached on
    therapy (days 1…stop_day); with ``flare_rule``, ``first_flare_day`` and ``flare_count``
    (see :func:`derive_flares`). Relative endpoints are empty for patients who are not evaluable.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a"] * 4, "visit": ["W0", "W4", "W8", "W12"],
    ...     "day": [0, 28, 56, 84], "pasi": [20.0, 4.0, 11.0, 5.0],
    ... })
    >>> out = derive_patient_endpoints(rows)
    >>> out.select("first_pasi75_day", "pasi75_sustained", "loss_of_response_day").rows()
    [(28, False, 56)]
    """
    loss = loss_rule or LossOfResponseRule()
    check_percent("relapse_percent", relapse_percent)
    if stop_day is not None and (isinstance(stop_day, bool) or not isinstance(stop_day, int)):
        raise ValidationError("stop_day", stop_day, "a whole study day", kind="type")
    rows, segments, pasi, base = _segment_inputs(prepare_assessments(frame))
    out = segment_endpoints(rows, segments, pasi, base, loss.reached, loss.lost_below)
    if stop_day is not None:
        out = out.with_columns(relapse_days(segments, pasi, base, stop_day, relapse_percent))
    if flare_rule is not None:
        out = out.with_columns(
            flare_columns(segments, pasi, flare_rule.rise_percent, flare_rule.min_rise_tenths)
        )
    return out.sort("patient_id")


def derive_flares(frame: pl.DataFrame | Assessments, rule: FlareRule | None = None) -> pl.DataFrame:
    """Per patient ``patient_id, arm, first_flare_day, flare_count`` (see :class:`FlareRule`).

    Flares need no baseline, so patients who are not evaluable are included.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a"] * 5, "visit": ["W0", "W4", "W8", "W12", "W16"],
    ...     "day": [0, 28, 56, 84, 112], "pasi": [20.0, 4.0, 6.0, 5.9, 9.0],
    ... })
    >>> derive_flares(rows).select("first_flare_day", "flare_count").rows()
    [(56, 2)]
    """
    rows, segments, pasi, _ = _segment_inputs(prepare_assessments(frame))
    rule = rule or FlareRule()
    first, count = flare_columns(segments, pasi, rule.rise_percent, rule.min_rise_tenths)
    return pl.DataFrame(
        [patient_ids(rows, segments), patient_arms(rows, segments), first, count]
    ).sort("patient_id")
