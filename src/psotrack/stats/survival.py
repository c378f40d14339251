"""Kaplan–Meier estimates for time to response and time to relapse, with the log-rank test.

Wraps lifelines (``KaplanMeierFitter``). The pointwise confidence band is lifelines' default:
Greenwood's variance on the log(−log S) scale (Kalbfleisch JD, Prentice RL. The Statistical
Analysis of Failure Time Data, 2002, §1.4), which keeps limits inside 0–1. The median's interval
is read off that band with ``lifelines.utils.median_survival_times``: the first time each limit
falls to 0.5 or below (inverting the pointwise band, in the manner of Brookmeyer R, Crowley J.
Biometrics 1982;38:29–41). A median or limit that
is never reached is ``None`` — "not reached", not infinity.

For time to response the event is good news, so the curve of interest is the cumulative
incidence 1 − S(t) (proportion responded by t), reported beside S with its interval mirrored.
Between groups, the log-rank test (``lifelines.statistics.logrank_test``; for more than two
groups ``multivariate_logrank_test``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from psotrack.errors import Problem, ValidationError


@dataclass(frozen=True, eq=False)  # holds a frame, whose == is elementwise: compare by identity
class SurvivalCurve:
    """One Kaplan–Meier curve: its table, counts and median time with interval."""

    group: str
    n: int
    events: int
    table: pl.DataFrame
    median: float | None
    median_low: float | None
    median_high: float | None
    level: float

    def summary(self) -> pl.DataFrame:
        """The survival table: ``time, at_risk, events, censored, survival, ci_low, ci_high``
        (plus ``incidence, incidence_low, incidence_high`` for time to response)."""
        return self.table

    def at_risk_at(self, time: float) -> int:
        """Patients still at risk at ``time``: those whose event or censoring time is ≥ it
        (the "numbers at risk" printed under a Kaplan–Meier plot).

        >>> km = kaplan_meier(pl.DataFrame({"time": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]}))
        >>> [km.curve().at_risk_at(t) for t in (0, 2, 2.5, 5)]
        [5, 4, 2, 0]
        """
        left = self.table.filter(pl.col("time") >= time)
        return int(left.select(pl.col("events").sum() + pl.col("censored").sum()).item())

    def survival_at(self, time: float) -> float:
        """S(t): the step function's value at ``time`` (1 before the first event)."""
        times = self.table["time"].to_numpy()
        index = int(np.searchsorted(times, time, side="right")) - 1
        return 1.0 if index < 0 else float(self.table["survival"][index])


@dataclass(frozen=True)
class LogRank:
    """Log-rank test of equal survival across groups."""

    groups: tuple[str, ...]
    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """Kaplan–Meier result for one endpoint: one curve per group and the log-rank test."""

    endpoint: str
    curves: tuple[SurvivalCurve, ...]
    logrank: LogRank | None
    cumulative_incidence: bool

    def curve(self, group: str = "all") -> SurvivalCurve:
        for found in self.curves:
            if found.group == group:
                return found
        raise ValidationError(
            "group", group, f"one of {[c.group for c in self.curves]}", kind="invalid"
        )

    def summary(self) -> pl.DataFrame:
        """One row per group: ``n, events, median, median_ci_low, median_ci_high`` (null when
        not reached), and the log-rank p-value on every row when groups were compared."""
        p = self.logrank.p_value if self.logrank is not None else None
        rows = [
            {
                "endpoint": self.endpoint,
                "group": c.group,
                "n": c.n,
                "events": c.events,
                "median": c.median,
                "median_ci_low": c.median_low,
                "median_ci_high": c.median_high,
                "level": c.level,
                "logrank_p": p,
            }
            for c in self.curves
        ]
        schema = {
            "endpoint": pl.String,
            "group": pl.String,
            "n": pl.Int64,
            "events": pl.Int64,
            "median": pl.Float64,
            "median_ci_low": pl.Float64,
            "median_ci_high": pl.Float64,
            "level": pl.Float64,
            "logrank_p": pl.Float64,
        }
        return pl.DataFrame(rows, schema=schema)

    def table(self) -> pl.DataFrame:
        """Every curve's survival table stacked, with a leading ``group`` column."""
        return pl.concat(
            [c.table.select(pl.lit(c.group).alias("group"), pl.all()) for c in self.curves]
        )


def _finite(value: float) -> float | None:
    return None if math.isinf(value) or math.isnan(value) else float(value)


def _validate(events: pl.DataFrame, time: str, event: str, group: str | None, level: float) -> None:
    if not isinstance(events, pl.DataFrame):
        raise ValidationError("events", type(events).__name__, "a Polars DataFrame", kind="type")
    problems: list[Problem] = []
    for column in (time, event, *([group] if group else [])):
        if column not in events.columns:
            problems.append(Problem(column, None, f"a column of {list(events.columns)}", "missing"))
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        problems.append(Problem("level", level, "0–1, exclusive (e.g. 0.95)", "invalid"))
    if problems:
        raise ValidationError(problems=problems)
    if events.height == 0:
        raise ValidationError("events", 0, "at least one patient (the frame is empty)", "invalid")
    dtype = events.schema[time]
    if not dtype.is_numeric() or dtype == pl.Boolean:
        raise ValidationError(time, str(dtype), "a numeric time (days or weeks)", kind="type")
    # Rows are numbered from 1 in every message, as in the files people read them from.
    for row, value in enumerate(events[time].cast(pl.Float64).to_list(), start=1):
        if value is None or math.isnan(value):
            problems.append(Problem(time, value, "a time for every patient", "missing", row))
        elif math.isinf(value) or value < 0:
            problems.append(Problem(time, value, "a finite time ≥ 0", "invalid", row))
    for row, flag in enumerate(events[event].to_list(), start=1):
        if flag is None or isinstance(flag, str) or flag not in (0, 1):
            problems.append(Problem(event, flag, "0 (censored) or 1 (event)", "invalid", row))
    if group is not None:
        for row, label in enumerate(events[group].to_list(), start=1):
            if label is None:
                problems.append(Problem(group, None, "a group for every patient", "missing", row))
    if problems:
        raise ValidationError(problems=problems)


def _curve(
    label: str, durations: np.ndarray, observed: np.ndarray, level: float, incidence: bool
) -> SurvivalCurve:
    # lifelines is imported when used: it doubles the import time of psotrack.stats (~0.5 s).
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    fitter = KaplanMeierFitter(alpha=1 - level).fit(durations, observed, label=label)
    counts = fitter.event_table
    band = fitter.confidence_interval_
    low_name, high_name = band.columns[0], band.columns[1]
    survival = fitter.survival_function_[label].to_numpy()
    columns: dict[str, object] = {
        "time": counts.index.to_numpy(dtype=float),
        "at_risk": counts["at_risk"].to_numpy(dtype=np.int64),
        "events": counts["observed"].to_numpy(dtype=np.int64),
        "censored": counts["censored"].to_numpy(dtype=np.int64),
        "survival": survival,
        "ci_low": band[low_name].to_numpy(),
        "ci_high": band[high_name].to_numpy(),
    }
    if incidence:
        columns["incidence"] = 1.0 - survival
        columns["incidence_low"] = 1.0 - band[high_name].to_numpy()
        columns["incidence_high"] = 1.0 - band[low_name].to_numpy()
    medians = median_survival_times(band)
    return SurvivalCurve(
        group=label,
        n=int(durations.size),
        events=int(observed.sum()),
        table=pl.DataFrame(columns),
        median=_finite(float(fitter.median_survival_time_)),
        median_low=_finite(float(medians[low_name].iloc[0])),
        median_high=_finite(float(medians[high_name].iloc[0])),
        level=level,
    )


def kaplan_meier(
    events: pl.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    endpoint: str = "time to event",
    cumulative_incidence: bool = False,
    level: float = 0.95,
) -> KaplanMeier:
    """Kaplan–Meier curves from one row per patient (``time``, ``event`` 1/0, optional group).

    Without ``group`` there is one curve, ``"all"``; with it, one curve per group (sorted by
    label) and the log-rank test.

    >>> frame = pl.DataFrame({"time": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})
    >>> km = kaplan_meier(frame)
    >>> [round(s, 12) for s in km.curve().table["survival"]], km.curve().median
    ([1.0, 0.8, 0.6, 0.3, 0.3], 3.0)
    """
    _validate(events, time, event, group, level)
    durations = events[time].cast(pl.Float64).to_numpy()
    observed = events[event].cast(pl.Int64).to_numpy()
    if group is None:
        curve = _curve("all", durations, observed, level, cumulative_incidence)
        return KaplanMeier(endpoint, (curve,), None, cumulative_incidence)
    labels = np.array([str(v) for v in events[group].to_list()], dtype=object)
    names = tuple(sorted(set(labels.tolist())))
    curves = tuple(
        _curve(
            name, durations[labels == name], observed[labels == name], level, cumulative_incidence
        )
        for name in names
    )
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    test = None
    if len(names) == 2:
        first, second = labels == names[0], labels == names[1]
        result = logrank_test(
            durations[first], durations[second], observed[first], observed[second]
        )
        test = LogRank(names, float(result.test_statistic), 1, float(result.p_value))
    elif len(names) > 2:
        result = multivariate_logrank_test(durations, labels, observed)
        df = int(result.degrees_of_freedom)
        test = LogRank(names, float(result.test_statistic), df, float(result.p_value))
    return KaplanMeier(endpoint, curves, test, cumulative_incidence)


def time_to_response(
    events: pl.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    level: float = 0.95,
) -> KaplanMeier:
    """Kaplan–Meier for time to response (event = responded), with cumulative incidence 1 − S."""
    return kaplan_meier(
        events,
        time=time,
        event=event,
        group=group,
        endpoint="time to response",
        cumulative_incidence=True,
        level=level,
    )


def time_to_relapse(
    events: pl.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    group: str | None = None,
    level: float = 0.95,
) -> KaplanMeier:
    """Kaplan–Meier for time to relapse (event = relapsed): relapse-free survival S(t)."""
    return kaplan_meier(
        events, time=time, event=event, group=group, endpoint="time to relapse", level=level
    )
