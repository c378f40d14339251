"""Paired change of a biomarker (Treg %, Th17 %, IL-17, …) from baseline, overall and by response.

Input is one row per patient: ``patient_id``, ``baseline``, ``follow_up``, optionally
``responder`` (bool or 0/1) and ``pasi_pchg`` (PASI percent change). A long frame of
measurements (``patient_id, day, value``) becomes that shape with :func:`derive_biomarker_pairs`:
baseline is the last non-missing value on or before day 0 (the rule of the PASI endpoints),
follow-up the value measured exactly on the chosen study day.

Change is ``follow_up − baseline`` (absolute, in the biomarker's own unit). Quartiles use the
linear interpolation of numpy's default (Hyndman–Fan type 7, as R's ``quantile``).

Tests, all two-sided:

- within a group, Wilcoxon signed-rank on the changes (``scipy.stats.wilcoxon``). ``zero_method``
  defaults to ``"wilcox"`` (zero changes are dropped before ranking, Wilcoxon's original rule);
  ``"pratt"`` and ``"zsplit"`` may be chosen. The p-value is *exact* when there are at most 50
  changes, no zero change and no tied absolute change; otherwise the normal approximation with
  tie correction and without continuity correction (``method="asymptotic"``,
  ``correction=False``). The method used is stated in each result.
- between responders and non-responders, Mann–Whitney U on the changes
  (``scipy.stats.mannwhitneyu``): exact when one group has at most 8 patients and no value is
  tied (scipy's own rule), otherwise the normal approximation with continuity correction.
- Spearman rank correlation of the change with PASI percent change (``scipy.stats.spearmanr``).

Pairs with a missing value (null or NaN) are dropped and counted. Too few values for a test
give a result whose p-value is ``None`` and whose ``reason`` says why, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats as _scipy_stats

from psotrack.errors import Problem, ValidationError

ZeroMethod = Literal["wilcox", "pratt", "zsplit"]
ZERO_METHODS: tuple[str, ...] = ("wilcox", "pratt", "zsplit")
EXACT_WILCOXON_MAX_N = 50
EXACT_MANN_WHITNEY_MAX_N = 8
MIN_PAIRS = 2
MIN_CORRELATION_PAIRS = 3


@dataclass(frozen=True)
class Distribution:
    """Median and interquartile range (Q1, Q3) of a set of values; ``None`` when it is empty."""

    n: int
    median: float | None
    q1: float | None
    q3: float | None


@dataclass(frozen=True)
class PairedChange:
    """Baseline, follow-up and change in one group, with the Wilcoxon signed-rank test."""

    group: str
    n_pairs: int
    n_dropped: int
    baseline: Distribution
    follow_up: Distribution
    change: Distribution
    statistic: float | None
    p_value: float | None
    method: str | None
    zero_method: str
    reason: str | None

    def summary(self) -> pl.DataFrame:
        """One row: counts, median [Q1, Q3] of baseline, follow-up and change, and the test."""
        row: dict[str, object] = {"group": self.group, "n_pairs": self.n_pairs}
        row["n_dropped"] = self.n_dropped
        for name in ("baseline", "follow_up", "change"):
            dist: Distribution = getattr(self, name)
            row |= {f"{name}_median": dist.median, f"{name}_q1": dist.q1, f"{name}_q3": dist.q3}
        row |= {"wilcoxon_statistic": self.statistic, "wilcoxon_p": self.p_value}
        row |= {"method": self.method, "zero_method": self.zero_method, "note": self.reason}
        return pl.DataFrame([row], schema=_SUMMARY_SCHEMA)


_SUMMARY_SCHEMA: dict[str, type[pl.DataType]] = {
    "group": pl.String,
    "n_pairs": pl.Int64,
    "n_dropped": pl.Int64,
    **{
        f"{name}_{part}": pl.Float64
        for name in ("baseline", "follow_up", "change")
        for part in ("median", "q1", "q3")
    },
    "wilcoxon_statistic": pl.Float64,
    "wilcoxon_p": pl.Float64,
    "method": pl.String,
    "zero_method": pl.String,
    "note": pl.String,
}

_TEST_SCHEMA: dict[str, type[pl.DataType]] = {
    "test": pl.String,
    "n": pl.Int64,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "method": pl.String,
    "note": pl.String,
}


@dataclass(frozen=True)
class GroupComparison:
    """Mann–Whitney U comparing the change in responders with that in non-responders."""

    n_responders: int
    n_non_responders: int
    statistic: float | None
    p_value: float | None
    method: str | None
    reason: str | None

    def summary(self) -> pl.DataFrame:
        """One row: the test, its n (both groups), U for the responders, p and method."""
        n = self.n_responders + self.n_non_responders
        test = "Mann–Whitney U (responders vs non-responders)"
        return _test_row(test, n, self.statistic, self.p_value, self.method, self.reason)


@dataclass(frozen=True)
class ChangeCorrelation:
    """Spearman correlation of the biomarker change with PASI percent change."""

    n: int
    n_dropped: int
    rho: float | None
    p_value: float | None
    reason: str | None

    def summary(self) -> pl.DataFrame:
        """One row: the test, n, ρ as the statistic, p."""
        test = "Spearman (change vs PASI % change)"
        return _test_row(test, self.n, self.rho, self.p_value, "spearman", self.reason)


@dataclass(frozen=True)
class BiomarkerChange:
    """Everything about one biomarker's change: overall, by response, and against PASI."""

    biomarker: str
    overall: PairedChange
    responders: PairedChange | None
    non_responders: PairedChange | None
    between_groups: GroupComparison | None
    correlation: ChangeCorrelation | None

    @property
    def groups(self) -> tuple[PairedChange, ...]:
        found = (self.overall, self.responders, self.non_responders)
        return tuple(g for g in found if g is not None)

    def summary(self) -> pl.DataFrame:
        """One row per group (all, responders, non-responders) with the biomarker's name."""
        table = pl.concat([g.summary() for g in self.groups])
        return table.select(pl.lit(self.biomarker).alias("biomarker"), pl.all())

    def tests(self) -> pl.DataFrame:
        """One row per test: each group's Wilcoxon, then Mann–Whitney and Spearman if made."""
        tables = [
            _test_row(
                f"Wilcoxon signed-rank ({g.group})",
                g.n_pairs,
                g.statistic,
                g.p_value,
                g.method,
                g.reason,
            )
            for g in self.groups
        ]
        tables += [r.summary() for r in (self.between_groups, self.correlation) if r is not None]
        return pl.concat(tables)


def _test_row(
    test: str,
    n: int,
    statistic: float | None,
    p_value: float | None,
    method: str | None,
    note: str | None,
) -> pl.DataFrame:
    row = {"test": test, "n": n, "statistic": statistic, "p_value": p_value}
    return pl.DataFrame([{**row, "method": method, "note": note}], schema=_TEST_SCHEMA)


def describe(values: Sequence[float] | np.ndarray) -> Distribution:
    """Median and quartiles (linear interpolation, type 7) of finite values.

    >>> describe([1.0, 2.0, 3.0, 4.0])
    Distribution(n=4, median=2.5, q1=1.75, q3=3.25)
    """
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return Distribution(0, None, None, None)
    q1, median, q3 = np.quantile(array, [0.25, 0.5, 0.75])
    return Distribution(int(array.size), float(median), float(q1), float(q3))


def _check_frame(
    frame: object, name: str, columns: Sequence[str], numeric: Sequence[str], keys: Sequence[str]
) -> None:
    """Shared checks: a frame, the columns present, numbers finite, key columns unique."""
    if not isinstance(frame, pl.DataFrame):
        raise ValidationError(name, type(frame).__name__, "a Polars DataFrame", kind="type")
    absent = [c for c in columns if c not in frame.columns]
    allowed = f"a column of {list(frame.columns)}"
    if absent:
        raise ValidationError(problems=[Problem(c, None, allowed, "missing") for c in absent])
    problems: list[Problem] = []
    for column in numeric:
        dtype = frame.schema[column]
        if dtype == pl.Boolean or not (dtype.is_numeric() or dtype == pl.Null):
            problems.append(Problem(column, str(dtype), "numeric", kind="type"))
            continue
        for row, value in enumerate(frame[column].cast(pl.Float64).to_list(), start=1):
            if value is not None and math.isinf(value):
                problems.append(Problem(column, value, "a finite number", "invalid", row))
    # Rows are numbered from 1 in every message, as in the files people read them from.
    indexed = frame.with_row_index("_row", offset=1)
    for column in keys:
        for row in indexed.filter(pl.col(column).is_null())["_row"]:
            problems.append(Problem(column, None, "a value on every row", "missing", int(row)))
    repeated = indexed.filter(~pl.struct(*keys).is_first_distinct())
    for row, key in zip(repeated["_row"], repeated[keys[-1]], strict=True):
        if key is not None:
            one_per = " and ".join(keys)
            problems.append(Problem(keys[-1], key, f"one row per {one_per}", "invalid", int(row)))
    if problems:
        raise ValidationError(problems=problems)


def _validate_pairs(
    pairs: pl.DataFrame, responder: str | None, pasi_pchg: str | None, zero_method: str
) -> None:
    if zero_method not in ZERO_METHODS:
        raise ValidationError("zero_method", zero_method, "wilcox, pratt or zsplit", "invalid")
    optional = [c for c in (responder, pasi_pchg) if c is not None]
    numeric = ["baseline", "follow_up", *([pasi_pchg] if pasi_pchg else [])]
    columns = ["patient_id", "baseline", "follow_up", *optional]
    _check_frame(pairs, "pairs", columns, numeric, ["patient_id"])
    if responder is not None:
        problems = [
            Problem(responder, flag, "true/false or 1/0", "invalid", row)
            for row, flag in enumerate(pairs[responder].to_list(), start=1)
            # True/False compare equal to 1/0; strings and other numbers do not.
            if flag is not None and (isinstance(flag, str) or flag not in (0, 1))
        ]
        if problems:
            raise ValidationError(problems=problems)


def _complete(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Expr:
    """True where every column holds a number (null and NaN count as missing)."""
    checks = [
        pl.col(c).cast(pl.Float64).is_not_null() & ~pl.col(c).cast(pl.Float64).is_nan()
        for c in columns
    ]
    return pl.all_horizontal(checks)


def signed_rank(
    changes: np.ndarray, zero_method: ZeroMethod = "wilcox"
) -> tuple[float | None, float | None, str | None, str | None]:
    """Wilcoxon signed-rank on paired changes → (statistic, p, method, reason-if-none)."""
    n = int(changes.size)
    if n < MIN_PAIRS:
        return None, None, None, f"{n} complete pair(s); the test needs at least {MIN_PAIRS}"
    nonzero = changes[changes != 0]
    if nonzero.size == 0:
        return None, None, None, "every change is zero; no signed-rank test"
    has_zero = nonzero.size < n
    has_ties = np.unique(np.abs(nonzero)).size < nonzero.size
    method = "exact" if n <= EXACT_WILCOXON_MAX_N and not (has_zero or has_ties) else "asymptotic"
    result = _scipy_stats.wilcoxon(
        changes, zero_method=zero_method, correction=False, method=method
    )
    statistic, p = float(result.statistic), float(result.pvalue)
    if math.isnan(p):
        return None, None, method, "scipy returned no p-value for these changes"
    return statistic, p, method, None


def _paired_change(
    group: str, frame: pl.DataFrame, complete: pl.Series, zero_method: ZeroMethod
) -> PairedChange:
    kept = frame.filter(complete)
    baseline = kept["baseline"].cast(pl.Float64).to_numpy()
    follow_up = kept["follow_up"].cast(pl.Float64).to_numpy()
    changes = follow_up - baseline
    statistic, p, method, reason = signed_rank(changes, zero_method)
    return PairedChange(
        group=group,
        n_pairs=kept.height,
        n_dropped=frame.height - kept.height,
        baseline=describe(baseline),
        follow_up=describe(follow_up),
        change=describe(changes),
        statistic=statistic,
        p_value=p,
        method=method,
        zero_method=zero_method,
        reason=reason,
    )


def compare_groups(responders: np.ndarray, non_responders: np.ndarray) -> GroupComparison:
    """Two-sided Mann–Whitney U of the responders' changes against the non-responders'."""
    n1, n2 = int(responders.size), int(non_responders.size)
    if n1 == 0 or n2 == 0:
        return GroupComparison(n1, n2, None, None, None, "a group has no complete pair")
    pooled = np.concatenate([responders, non_responders])
    if np.unique(pooled).size == 1:
        return GroupComparison(n1, n2, None, None, None, "every change is the same value")
    ties = np.unique(pooled).size < pooled.size
    method = "exact" if min(n1, n2) <= EXACT_MANN_WHITNEY_MAX_N and not ties else "asymptotic"
    result = _scipy_stats.mannwhitneyu(
        responders, non_responders, alternative="two-sided", method=method
    )
    return GroupComparison(n1, n2, float(result.statistic), float(result.pvalue), method, None)


def correlate(changes: np.ndarray, pasi_pchg: np.ndarray, n_dropped: int = 0) -> ChangeCorrelation:
    """Spearman ρ of biomarker change with PASI percent change (complete pairs only)."""
    n = int(changes.size)
    if n < MIN_CORRELATION_PAIRS:
        reason = f"{n} complete pair(s); a correlation needs at least {MIN_CORRELATION_PAIRS}"
        return ChangeCorrelation(n, n_dropped, None, None, reason)
    if np.unique(changes).size == 1 or np.unique(pasi_pchg).size == 1:
        return ChangeCorrelation(n, n_dropped, None, None, "one variable is constant")
    result = _scipy_stats.spearmanr(changes, pasi_pchg)
    return ChangeCorrelation(n, n_dropped, float(result.statistic), float(result.pvalue), None)


def biomarker_change(
    pairs: pl.DataFrame,
    *,
    biomarker: str = "biomarker",
    responder: str | None = None,
    pasi_pchg: str | None = None,
    zero_method: ZeroMethod = "wilcox",
) -> BiomarkerChange:
    """Describe and test the change of one biomarker from baseline.

    ``responder`` and ``pasi_pchg`` name optional columns; without them only the overall group
    is reported. A patient whose responder flag is missing counts in "all" only.

    >>> frame = pl.DataFrame({"patient_id": [1, 2, 3], "baseline": [4.0, 5.0, 6.0],
    ...                       "follow_up": [6.0, 8.0, 10.0]})
    >>> result = biomarker_change(frame, biomarker="Treg %")
    >>> result.overall.change, result.overall.p_value
    (Distribution(n=3, median=3.0, q1=2.5, q3=3.5), 0.25)
    """
    _validate_pairs(pairs, responder, pasi_pchg, zero_method)
    complete = pairs.select(_complete(pairs, ["baseline", "follow_up"])).to_series()
    overall = _paired_change("all", pairs, complete, zero_method)
    responders = non_responders = between = correlation = None
    if responder is not None:
        flags = pairs[responder].cast(pl.Int8)
        is_responder = (flags == 1).fill_null(False)
        is_non_responder = (flags == 0).fill_null(False)
        responders = _paired_change(
            "responders", pairs.filter(is_responder), complete.filter(is_responder), zero_method
        )
        non_responders = _paired_change(
            "non-responders",
            pairs.filter(is_non_responder),
            complete.filter(is_non_responder),
            zero_method,
        )
        between = compare_groups(
            _changes(pairs.filter(is_responder & complete)),
            _changes(pairs.filter(is_non_responder & complete)),
        )
    if pasi_pchg is not None:
        both = pairs.select(_complete(pairs, ["baseline", "follow_up", pasi_pchg])).to_series()
        kept = pairs.filter(both)
        correlation = correlate(
            _changes(kept), kept[pasi_pchg].cast(pl.Float64).to_numpy(), pairs.height - kept.height
        )
    return BiomarkerChange(biomarker, overall, responders, non_responders, between, correlation)


def _changes(kept: pl.DataFrame) -> np.ndarray:
    return (kept["follow_up"].cast(pl.Float64) - kept["baseline"].cast(pl.Float64)).to_numpy()
