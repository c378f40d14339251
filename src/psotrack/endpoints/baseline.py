"""Baseline of each patient: the last non-missing assessment on or before day 0.

Day 0 is the first treatment; a patient whose last pre-treatment PASI is missing falls back to
an earlier one (screening), and a patient with none, or with baseline PASI 0, is *not evaluable*
for relative endpoints: ``evaluable`` is false, percentage change and relative flags are empty,
and ``base_note`` says why. A baseline of 0 is still a baseline: ``base`` is 0 and the absolute
change is given; with no baseline at all ``base`` is empty. (Responder rates count patients who
are not evaluable under their denominator rule, see :mod:`psotrack.endpoints.rates`.) PGA and
DLQI get their own baselines the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints._segments import PatientSegments, last_before_treatment
from psotrack.endpoints._validate import PASI_T, PATIENT_KEY, with_pasi_tenths

Ints = npt.NDArray[np.int64]

#: Internal: baseline PASI in integer tenths (null when not evaluable).
BASE_T: Final = "_base_t"
#: Internal: baseline PASI in integer tenths, 0 included (null only when there is none).
RAW_BASE_T: Final = "_raw_base_t"
INTERNAL: Final = (PASI_T, BASE_T, RAW_BASE_T, PATIENT_KEY)
#: Why a patient is not evaluable, on each of the patient's rows (empty when evaluable).
NO_BASELINE: Final = "no PASI on or before day 0: no change from baseline"
ZERO_BASELINE: Final = "baseline PASI 0: no percent change or relative response"


def _sorted_ints(frame: pl.DataFrame, name: str, segments: PatientSegments) -> Ints:
    """A score column at the segments' sorted positions, −1 for missing (scores are ≥ 0)."""
    return frame[name].fill_null(-1).cast(pl.Int32).to_numpy()[segments.order]


def add_baseline(frame: pl.DataFrame, segments: PatientSegments) -> tuple[pl.DataFrame, Ints, Ints]:
    """Internal step on a validated frame: add ``_base_t``, ``_raw_base_t``, ``base``,
    ``evaluable`` and ``base_note``.

    The baseline is the last non-missing value on or before day 0 in the patient's rows ordered
    by day (one segment reduction, see :mod:`psotrack.endpoints._segments`). Also returns PASI
    tenths at the sorted positions and each patient's baseline tenths (−1 when none).
    """
    pasi = _sorted_ints(frame, PASI_T, segments)
    found = {"_base_raw": last_before_treatment(segments, pasi)}
    for name in ("pga", "dlqi"):
        if name in frame.columns:
            found[f"base_{name}"] = last_before_treatment(
                segments, _sorted_ints(frame, name, segments)
            )
    raw = pl.col("_base_raw")
    others = [pl.when(pl.col(n) >= 0).then(pl.col(n)).alias(n) for n in found if n != "_base_raw"]
    out = (
        frame.with_columns(
            pl.Series(name, values[segments.code], dtype=pl.Int64) for name, values in found.items()
        )
        .with_columns(
            pl.when(raw > 0).then(raw.cast(pl.Int32)).alias(BASE_T),
            pl.when(raw >= 0).then(raw.cast(pl.Int32)).alias(RAW_BASE_T),
            pl.when(raw >= 0).then((raw / 10).round(1)).alias("base"),
            (raw > 0).alias("evaluable"),
            pl.when(raw < 0)
            .then(pl.lit(NO_BASELINE))
            .when(raw == 0)
            .then(pl.lit(ZERO_BASELINE))
            .alias("base_note"),
            *others,
        )
        .drop("_base_raw")
    )
    return out, pasi, found["_base_raw"]


@dataclass(frozen=True)
class Assessments:
    """A validated assessment table with its baselines, to derive several endpoints from.

    Every ``derive_*`` function accepts it in place of a raw frame and then skips validation
    and the baseline step (worth it on large cohorts). Build it with :func:`prepare_assessments`.
    """

    frame: pl.DataFrame
    segments: PatientSegments | None = field(default=None, repr=False, compare=False)
    #: PASI tenths at the segments' sorted positions, and each patient's baseline tenths.
    sorted_pasi_t: Ints | None = field(default=None, repr=False, compare=False)
    patient_base_t: Ints | None = field(default=None, repr=False, compare=False)


def prepare_assessments(
    frame: pl.DataFrame | Assessments, *, allow_unknown: bool = True
) -> Assessments:
    """Validate an assessment table and add baselines once (see :class:`Assessments`).

    Columns other than those of :func:`validate_assessments` are kept, or refused with a
    :class:`ValidationError` when ``allow_unknown`` is false (a file read from a user).
    """
    if isinstance(frame, Assessments):
        return frame
    valid, segments = with_pasi_tenths(frame, allow_unknown=allow_unknown)
    with_base, pasi, base = add_baseline(valid, segments)
    return Assessments(with_base, segments, pasi, base)


def prepared(frame: pl.DataFrame | Assessments) -> pl.DataFrame:
    """Internal: the working frame (with ``_pasi_t``, ``_patient``, ``_base_t``)."""
    return prepare_assessments(frame).frame


def derive_baseline(frame: pl.DataFrame | Assessments) -> pl.DataFrame:
    """Add ``base`` (baseline PASI), ``evaluable`` and ``base_note`` to every row.

    ``base_note`` says why a patient is not evaluable (no baseline, or a baseline of 0) and is
    empty otherwise. Also ``base_pga`` and ``base_dlqi`` when those columns are present (their
    own last non-missing value on or before day 0; no evaluability rule). Rows keep their order.

    >>> rows = pl.DataFrame({
    ...     "patient_id": ["a", "a", "a", "b", "b", "c"],
    ...     "visit": ["SCR", "W0", "W4", "W0", "W4", "W4"],
    ...     "day": [-14, 0, 28, 0, 28, 28],
    ...     "pasi": [12.0, None, 3.0, 0.0, 0.0, 5.0],
    ... })
    >>> out = derive_baseline(rows).select("patient_id", "base", "evaluable", "base_note")
    >>> for row in out.unique().sort("patient_id").rows():
    ...     print(row)
    ('a', 12.0, True, None)
    ('b', 0.0, False, 'baseline PASI 0: no percent change or relative response')
    ('c', None, False, 'no PASI on or before day 0: no change from baseline')
    """
    return prepared(frame).drop(INTERNAL)
