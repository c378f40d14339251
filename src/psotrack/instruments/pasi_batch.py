"""Vectorised PASI over columns: the same exact tenths as :func:`~psotrack.instruments.pasi.pasi`.

A batch is a mapping (or Polars frame) of columns named ``<region>_<item>``: region in
``head, upper_limbs, trunk, lower_limbs``, item in ``erythema, induration, desquamation, area``.
Instead of ``<region>_area`` (the 0–6 score) a batch may give ``<region>_area_pct`` (0–100 %),
converted by the published bands exactly as :func:`~psotrack.instruments.pasi.area_score` does.

Every problem in every row is reported (one :class:`~psotrack.errors.Problem` per row and field,
rows numbered from 1), never only the first; nothing is clipped or coerced. Grades and area scores
must come in integer columns (a float or bool column is refused as a whole, as the scalar path
refuses ``2.0`` and ``True``). The arithmetic is integer tenths in ``int16`` (the largest total
is 720 tenths), so the batch result is identical to the scalar one, row for row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import (
    AREA_BAND_EDGES,
    AREA_MAX,
    REGIONS,
    SIGN_MAX,
    SIGNS,
    WEIGHT_TENTHS,
)

if TYPE_CHECKING:
    import polars as pl

ITEMS: Final = (*SIGNS, "area")
#: Every column a batch needs when it gives area scores (``<region>_area``).
SCORE_COLUMNS: Final = tuple(f"{r}_{i}" for r in REGIONS for i in ITEMS)

IntArray = npt.NDArray[np.integer]


@dataclass(frozen=True)
class PasiBatch:
    """Scored rows: the exact totals in tenths (``int16``) and each region's tenths."""

    tenths: npt.NDArray[np.int16]
    region_tenths: Mapping[str, npt.NDArray[np.int16]]

    def __len__(self) -> int:
        return int(self.tenths.shape[0])

    def totals_text(self) -> list[str]:
        """Each total as its one-decimal text (``"12.3"``), exactly as the scalar path prints."""
        return [f"{t // 10}.{t % 10}" for t in self.tenths.tolist()]


def area_scores_from_percent(percent: npt.ArrayLike, field: str = "area_pct") -> IntArray:
    """Convert affected-area percentages (0–100) into PASI area scores 0–6 by the bands.

    Raises :class:`ValidationError` with one problem per row that is not a finite number in
    0–100. Bands as in :func:`~psotrack.instruments.pasi.area_score` (half-open: 10 % scores 2).

    >>> area_scores_from_percent([0, 0.5, 9.9, 10, 29.9, 30, 90, 100]).tolist()
    [0, 1, 1, 2, 2, 3, 6, 6]
    """
    values = np.asarray(percent)
    if values.dtype == np.bool_ or values.dtype.kind not in "iuf":
        raise ValidationError(
            problems=[
                Problem(field, str(values.dtype), "a numeric column of percentages", kind="type")
            ]
        )
    problems = _percent_problems(field, values)
    if problems:
        raise ValidationError(problems=problems)
    scores = np.searchsorted(np.asarray(AREA_BAND_EDGES), values, side="right").astype(np.int8)
    scores += 1
    scores[values == 0] = 0
    return scores


def pasi_batch(columns: Mapping[str, npt.ArrayLike]) -> PasiBatch:
    """Score many PASI rows at once from columns; identical to :func:`pasi` row by row.

    ``columns`` maps ``<region>_<item>`` to a one-dimensional array (any mapping: a dict of NumPy
    arrays, or ``frame.to_dict()`` of a Polars frame). Extra keys are ignored.

    >>> batch = pasi_batch({f"{r}_{i}": [2, 0] for r in REGIONS for i in ITEMS})
    >>> batch.totals_text()
    ['12.0', '0.0']
    """
    arrays, problems = _read_columns(columns)
    if problems:
        raise ValidationError(problems=problems)
    n = _common_length(arrays)
    total = np.zeros(n, dtype=np.int16)
    parts: dict[str, npt.NDArray[np.int16]] = {}
    for region in REGIONS:
        part = np.add(arrays[f"{region}_erythema"], arrays[f"{region}_induration"], dtype=np.int16)
        part += arrays[f"{region}_desquamation"]
        part *= arrays[f"{region}_area"]
        part *= WEIGHT_TENTHS[region]
        total += part
        parts[region] = part
    return PasiBatch(tenths=total, region_tenths=parts)


def pasi_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the exact ``pasi`` total (``Decimal(3, 1)``) to a Polars frame of PASI columns.

    Every other column passes through unchanged and in order.
    """
    import polars as pl

    batch = pasi_batch({name: frame.get_column(name).to_numpy() for name in _wanted(frame)})
    tenths = pl.Series("pasi", batch.tenths)
    return frame.with_columns(
        (tenths.cast(pl.Decimal(38, 1)) / pl.lit(10).cast(pl.Decimal(38, 1))).cast(pl.Decimal(3, 1))
    )


def _wanted(frame: pl.DataFrame) -> list[str]:
    names = set(frame.columns)
    wanted = []
    for region in REGIONS:
        for item in ITEMS:
            name = f"{region}_{item}"
            if name not in names and item == "area" and f"{name}_pct" in names:
                name = f"{name}_pct"
            if name in names:
                wanted.append(name)
    return wanted


def _read_columns(
    columns: Mapping[str, npt.ArrayLike],
) -> tuple[dict[str, IntArray], list[Problem]]:
    """Check every required column; return the integer arrays and every problem found."""
    arrays: dict[str, IntArray] = {}
    problems: list[Problem] = []
    for region in REGIONS:
        for item in ITEMS:
            name = f"{region}_{item}"
            high = AREA_MAX if item == "area" else SIGN_MAX
            what = "an area score" if item == "area" else f"a grade of {item}"
            if name in columns:
                values = np.asarray(columns[name])
                column_problem = _integer_column_problem(name, values, high, what)
                if column_problem is not None:
                    problems.append(column_problem)
                    continue
                found = _range_problems(name, values, high, what)
                problems.extend(found)
                if not found:
                    # Valid grades fit int8; a narrow copy keeps the in-place int16 sums legal.
                    arrays[name] = values.astype(np.int8, copy=False)
            elif item == "area" and f"{name}_pct" in columns:
                try:
                    arrays[name] = area_scores_from_percent(columns[f"{name}_pct"], f"{name}_pct")
                except ValidationError as exc:
                    problems.extend(exc.problems)
            else:
                allowed = f"a column with {what} per row"
                if item == "area":
                    allowed += f", or {name}_pct with the affected area in %"
                problems.append(Problem(name, None, allowed, kind="missing"))
    lengths = {a.shape[0] for a in arrays.values()}
    if len(lengths) > 1:
        problems.append(
            Problem("columns", sorted(lengths), "columns of one common length", kind="invalid")
        )
    problems.sort(key=lambda p: p.row if p.row is not None else 0)
    return arrays, problems


def _integer_column_problem(name: str, values: np.ndarray, high: int, what: str) -> Problem | None:
    if values.ndim != 1:
        return Problem(name, f"{values.ndim}-d array", "a one-dimensional column", kind="type")
    if values.dtype == np.bool_ or values.dtype.kind not in "iu":
        return Problem(name, str(values.dtype), f"an integer column 0–{high} ({what})", kind="type")
    return None


def _range_problems(name: str, values: IntArray, high: int, what: str) -> list[Problem]:
    # Two SIMD reductions decide the common case (all valid) without building a mask.
    if values.size == 0 or (values.min() >= 0 and values.max() <= high):
        return []
    bad = np.flatnonzero((values < 0) | (values > high))
    return [
        Problem(name, int(values[i]), f"0–{high} ({what})", row=int(i) + 1) for i in bad.tolist()
    ]


def _percent_problems(field: str, values: np.ndarray) -> list[Problem]:
    allowed = "0–100 (a percentage of the region)"
    # min/max propagate NaN, so one pair of reductions also catches non-finite values.
    if values.size == 0 or (values.min() >= 0 and values.max() <= 100):
        return []
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~finite | (values < 0) | (values > 100)).tolist()
    return [
        Problem(field, values[i].item(), allowed, row=i + 1)
        if finite[i]
        else Problem(field, values[i].item(), f"a finite number {allowed}", kind="type", row=i + 1)
        for i in bad
    ]


def _common_length(arrays: Mapping[str, np.ndarray]) -> int:
    return int(next(iter(arrays.values())).shape[0])
