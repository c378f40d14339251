"""Linear mixed model of PASI over time (statsmodels MixedLM), with a tidy fixed-effects table.

The model is ``pasi ~ week`` (or ``pasi ~ week * C(arm)`` when an arm column is given) with a
random intercept per patient and, on request, a random slope on time (``re_formula="~week"``,
unstructured 2 × 2 covariance). Fitted by REML unless ``reml=False``. Rows whose outcome is
missing are left out and counted: under the model's missing-at-random assumption this is the
likelihood-based analysis of all observed visits, no imputation.

Standard errors, intervals and p-values of fixed effects are statsmodels' Wald (normal) ones,
as in its ``summary()``; with few patients they are optimistic. Convergence warnings are kept in
the result instead of being printed, and ``converged`` says whether the optimiser finished.
The optimisers are tried in order (``OPTIMIZERS``, Powell then L-BFGS, by default).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import polars as pl

from psotrack.errors import Problem, ValidationError

MIN_PATIENTS = 2
# statsmodels' default (BFGS) often stops short with a random slope; Powell's derivative-free
# search followed by L-BFGS converged on every simulated cohort we tried and reached a higher
# likelihood where BFGS had "converged" (see tests/stats/test_longitudinal.py).
OPTIMIZERS: tuple[str, ...] = ("powell", "lbfgs")


@dataclass(frozen=True, eq=False)  # holds a frame, whose == is elementwise: compare by identity
class MixedModelResult:
    """A fitted mixed model of PASI over time: fixed effects, variance components, counts."""

    formula: str
    re_formula: str
    fixed_effects: pl.DataFrame
    intercept_variance: float
    slope_variance: float | None
    intercept_slope_covariance: float | None
    residual_variance: float
    n_patients: int
    n_observations: int
    n_dropped: int
    converged: bool
    log_likelihood: float
    reml: bool
    level: float
    warnings: tuple[str, ...]

    def estimate(self, term: str) -> float:
        """The estimate of one fixed-effect term (e.g. ``"week"``)."""
        rows = self.fixed_effects.filter(pl.col("term") == term)
        if rows.height == 0:
            allowed = f"one of {self.fixed_effects['term'].to_list()}"
            raise ValidationError("term", term, allowed, kind="invalid")
        return float(rows["estimate"][0])

    def summary(self) -> pl.DataFrame:
        """The fixed-effects table ``term, estimate, se, ci_low, ci_high, p``."""
        return self.fixed_effects

    def variance_components(self) -> pl.DataFrame:
        """Random-effect variances, the intercept–slope covariance and the residual variance."""
        rows: list[tuple[str, float]] = [("patient intercept variance", self.intercept_variance)]
        if self.slope_variance is not None:
            rows.append(("patient slope variance", self.slope_variance))
        if self.intercept_slope_covariance is not None:
            rows.append(("intercept–slope covariance", self.intercept_slope_covariance))
        rows.append(("residual variance", self.residual_variance))
        return pl.DataFrame(
            rows, schema={"component": pl.String, "value": pl.Float64}, orient="row"
        )


def _validate(
    visits: pl.DataFrame, outcome: str, time: str, arm: str | None, level: float
) -> list[str]:
    if not isinstance(visits, pl.DataFrame):
        raise ValidationError("visits", type(visits).__name__, "a Polars DataFrame", kind="type")
    problems: list[Problem] = []
    columns = ["patient_id", outcome, time, *([arm] if arm else [])]
    for column in columns:
        if column not in visits.columns:
            problems.append(Problem(column, None, f"a column of {list(visits.columns)}", "missing"))
        elif not column.isidentifier():
            # The name goes into a patsy formula; an identifier cannot smuggle in terms.
            problems.append(Problem("column", column, "a plain identifier name", "invalid"))
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        problems.append(Problem("level", level, "0–1, exclusive (e.g. 0.95)", "invalid"))
    if problems:
        raise ValidationError(problems=problems)
    for column in (outcome, time):
        dtype = visits.schema[column]
        if not dtype.is_numeric() or dtype == pl.Boolean:
            problems.append(Problem(column, str(dtype), "numeric", kind="type"))
    if problems:
        raise ValidationError(problems=problems)
    # Rows are numbered from 1 in every message, as in the files people read them from.
    for row, (pid, when) in enumerate(
        zip(visits["patient_id"].to_list(), visits[time].cast(pl.Float64).to_list(), strict=True),
        start=1,
    ):
        if pid is None:
            problems.append(Problem("patient_id", None, "an identifier", "missing", row))
        if when is None or not math.isfinite(when):
            problems.append(Problem(time, when, "a finite time for every visit", "invalid", row))
    if arm is not None:
        for row, label in enumerate(visits[arm].to_list(), start=1):
            if label is None:
                problems.append(Problem(arm, None, "an arm for every visit", "missing", row))
    if problems:
        raise ValidationError(problems=problems)
    return columns


def fit_pasi_trajectory(
    visits: pl.DataFrame,
    *,
    outcome: str = "pasi",
    time: str = "week",
    arm: str | None = None,
    random_slope: bool = False,
    reml: bool = True,
    level: float = 0.95,
    optimizers: tuple[str, ...] = OPTIMIZERS,
) -> MixedModelResult:
    """Fit PASI over time with a random intercept (and optionally slope) per patient.

    ``visits`` holds one row per patient visit: ``patient_id``, the outcome and the time, plus
    the arm when given (its first label, sorted, is the reference level).

    >>> rows = [(p, w, 20.0 + p - 2.0 * w + (0.5 if (p + w) % 2 else -0.5))
    ...         for p in range(6) for w in range(5)]
    >>> visits = pl.DataFrame(rows, schema=["patient_id", "week", "pasi"], orient="row")
    >>> round(fit_pasi_trajectory(visits).estimate("week"), 6)
    -2.0
    """
    # statsmodels is imported when used: it doubles the import time of psotrack.stats (~0.5 s).
    import statsmodels.formula.api as smf

    columns = _validate(visits, outcome, time, arm, level)
    observed = visits.filter(
        pl.col(outcome).is_not_null() & ~pl.col(outcome).cast(pl.Float64).is_nan()
    )
    n_patients = observed["patient_id"].n_unique()
    if n_patients < MIN_PATIENTS:
        allowed = f"at least {MIN_PATIENTS} patients with an observed {outcome}"
        raise ValidationError("patient_id", n_patients, allowed, kind="invalid")
    frame = observed.select(columns).to_pandas()
    frame[outcome] = frame[outcome].astype(float)
    frame[time] = frame[time].astype(float)
    if arm is not None:
        frame[arm] = frame[arm].astype(str)
    formula = f"{outcome} ~ {time}" + (f" * C({arm})" if arm is not None else "")
    re_formula = f"~{time}" if random_slope else "1"
    model = smf.mixedlm(formula, frame, groups=frame["patient_id"], re_formula=re_formula)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = model.fit(reml=reml, method=list(optimizers))
    k_fe = int(fitted.k_fe)
    names = list(fitted.fe_params.index)
    intervals = fitted.conf_int(alpha=1 - level).iloc[:k_fe]
    fixed = pl.DataFrame(
        {
            "term": names,
            "estimate": fitted.fe_params.to_numpy(dtype=float),
            "se": fitted.bse_fe.to_numpy(dtype=float),
            "ci_low": intervals.iloc[:, 0].to_numpy(dtype=float),
            "ci_high": intervals.iloc[:, 1].to_numpy(dtype=float),
            "p": fitted.pvalues.iloc[:k_fe].to_numpy(dtype=float),
        }
    )
    cov_re = fitted.cov_re.to_numpy(dtype=float)
    return MixedModelResult(
        formula=formula,
        re_formula=re_formula,
        fixed_effects=fixed,
        intercept_variance=float(cov_re[0, 0]),
        slope_variance=float(cov_re[1, 1]) if random_slope else None,
        intercept_slope_covariance=float(cov_re[0, 1]) if random_slope else None,
        residual_variance=float(fitted.scale),
        n_patients=int(n_patients),
        n_observations=int(observed.height),
        n_dropped=visits.height - observed.height,
        converged=bool(fitted.converged),
        log_likelihood=float(fitted.llf),
        reml=reml,
        level=level,
        warnings=tuple(str(w.message) for w in caught),
    )
