"""Kaplan–Meier and log-rank: a hand-computed tiny data set, and lifelines called directly."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import median_survival_times
from scipy import stats

from psotrack.errors import ValidationError
from psotrack.stats.survival import kaplan_meier, time_to_relapse, time_to_response

TINY = pl.DataFrame({"time": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})


def test_tiny_table_by_hand() -> None:
    # Product-limit: t=1: 5 at risk, 1 event → 4/5; t=2: 4 at risk, 1 event (1 censored)
    # → 0.8·3/4 = 0.6; t=3: 2 at risk, 1 event → 0.3; t=4: 1 at risk, censored → 0.3.
    table = kaplan_meier(TINY).curve().table
    assert table["time"].to_list() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert table["at_risk"].to_list() == [5, 5, 4, 2, 1]
    assert table["events"].to_list() == [0, 1, 1, 1, 0]
    assert table["censored"].to_list() == [0, 0, 1, 0, 1]
    assert table["survival"].to_list() == pytest.approx([1.0, 0.8, 0.6, 0.3, 0.3], abs=1e-12)


def test_tiny_log_log_greenwood_interval_by_hand() -> None:
    # Greenwood: V/S² = Σ d / (n (n − d)); log(−log S) has se √(Σ) / |log S|;
    # limits S^exp(±z·se) (Kalbfleisch & Prentice §1.4).
    z = stats.norm.isf(0.025)
    sums = {1.0: 1 / 20, 2.0: 1 / 20 + 1 / 12, 3.0: 1 / 20 + 1 / 12 + 1 / 2}
    sums[4.0] = sums[3.0]
    survival = {1.0: 0.8, 2.0: 0.6, 3.0: 0.3, 4.0: 0.3}
    table = kaplan_meier(TINY).curve().table
    for t, s in survival.items():
        se = math.sqrt(sums[t]) / abs(math.log(s))
        low, high = s ** math.exp(z * se), s ** math.exp(-z * se)
        row = table.filter(pl.col("time") == t)
        assert row["ci_low"][0] == pytest.approx(low, abs=1e-9)
        assert row["ci_high"][0] == pytest.approx(high, abs=1e-9)


def test_tiny_median_by_hand_and_interval_from_lifelines() -> None:
    # S first reaches ≤ 0.5 at t = 3; the lower band reaches 0.5 at t = 1 (0.204), the upper
    # band never falls to 0.5 (0.719 at the last time) → upper limit not reached.
    curve = kaplan_meier(TINY).curve()
    assert curve.median == 3.0
    assert curve.median_low == 1.0
    assert curve.median_high is None
    assert (curve.n, curve.events) == (5, 3)
    assert curve.survival_at(0.5) == 1.0
    assert curve.survival_at(2.5) == pytest.approx(0.6, abs=1e-12)


def test_median_not_reached_is_none() -> None:
    frame = pl.DataFrame({"time": [1, 2, 3], "event": [1, 0, 0]})
    summary = kaplan_meier(frame).summary()
    assert summary["median"].to_list() == [None]
    assert summary["median_ci_high"].to_list() == [None]


def _random_cohort(seed: int, n: int = 40) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    arm = rng.choice(["MSC", "placebo"], n)
    time = np.round(rng.exponential(np.where(arm == "MSC", 8.0, 14.0)), 0) + 1
    event = (rng.uniform(size=n) < 0.75).astype(int)
    return pl.DataFrame({"time": time, "event": event, "arm": arm})


@pytest.mark.parametrize("level", [0.9, 0.95])
def test_curves_match_lifelines(level: float) -> None:
    cohort = _random_cohort(5)
    result = kaplan_meier(cohort, group="arm", level=level)
    for name in ("MSC", "placebo"):
        part = cohort.filter(pl.col("arm") == name)
        fitter = KaplanMeierFitter(alpha=1 - level).fit(
            part["time"].to_numpy(), part["event"].to_numpy(), label=name
        )
        curve = result.curve(name)
        band = fitter.confidence_interval_
        np.testing.assert_allclose(
            curve.table["survival"].to_numpy(), fitter.survival_function_[name], atol=1e-12
        )
        np.testing.assert_allclose(curve.table["ci_low"].to_numpy(), band.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(curve.table["ci_high"].to_numpy(), band.iloc[:, 1], atol=1e-12)
        np.testing.assert_array_equal(
            curve.table["at_risk"].to_numpy(), fitter.event_table["at_risk"]
        )
        medians = median_survival_times(band)
        expected = [fitter.median_survival_time_, medians.iloc[0, 0], medians.iloc[0, 1]]
        got = [curve.median, curve.median_low, curve.median_high]
        for ours, theirs in zip(got, expected, strict=True):
            assert (ours is None and math.isinf(theirs)) or ours == theirs


def test_cumulative_incidence_for_time_to_response() -> None:
    result = time_to_response(TINY)
    assert result.endpoint == "time to response"
    table = result.curve().table
    np.testing.assert_allclose(table["incidence"].to_numpy(), 1 - table["survival"].to_numpy())
    np.testing.assert_allclose(table["incidence_low"].to_numpy(), 1 - table["ci_high"].to_numpy())
    np.testing.assert_allclose(table["incidence_high"].to_numpy(), 1 - table["ci_low"].to_numpy())
    assert table["incidence"].to_list()[3] == pytest.approx(0.7, abs=1e-12)
    relapse = time_to_relapse(TINY)
    assert relapse.endpoint == "time to relapse"
    assert "incidence" not in relapse.curve().table.columns


def test_logrank_by_hand() -> None:
    # A: events at 1 and 3; B: events at 2 and 4. Expected deaths in A and hypergeometric
    # variances: t=1 (4 at risk, 2 in A): 1/2, 1/4; t=2 (3, 1): 1/3, 2/9; t=3 (2, 1): 1/2, 1/4;
    # t=4 (1, 0): 0, 0. O − E = 2 − 4/3 = 2/3, V = 13/18 → χ² = (4/9)/(13/18) = 8/13.
    frame = pl.DataFrame({"time": [1, 3, 2, 4], "event": [1, 1, 1, 1], "arm": list("AABB")})
    test = kaplan_meier(frame, group="arm").logrank
    assert test is not None
    assert test.groups == ("A", "B") and test.df == 1
    assert test.statistic == pytest.approx(8 / 13, abs=1e-12)
    assert test.p_value == pytest.approx(stats.chi2.sf(8 / 13, 1), abs=1e-12)


def test_logrank_matches_lifelines() -> None:
    cohort = _random_cohort(9, n=60)
    result = time_to_response(cohort, group="arm")
    first = cohort.filter(pl.col("arm") == "MSC")
    second = cohort.filter(pl.col("arm") == "placebo")
    expected = logrank_test(
        first["time"].to_numpy(),
        second["time"].to_numpy(),
        first["event"].to_numpy(),
        second["event"].to_numpy(),
    )
    assert result.logrank is not None
    assert result.logrank.statistic == pytest.approx(expected.test_statistic, abs=1e-9)
    assert result.logrank.p_value == pytest.approx(expected.p_value, abs=1e-12)
    summary = result.summary()
    assert summary["group"].to_list() == ["MSC", "placebo"]
    assert summary["logrank_p"].to_list() == [result.logrank.p_value] * 2
    assert summary["n"].sum() == 60
    assert result.table()["group"].unique().sort().to_list() == ["MSC", "placebo"]


def test_three_groups_use_multivariate_logrank() -> None:
    cohort = _random_cohort(2, n=45).with_columns(pl.Series("dose", ["low", "mid", "high"] * 15))
    result = kaplan_meier(cohort, group="dose")
    expected = multivariate_logrank_test(
        cohort["time"].to_numpy(), cohort["dose"].to_numpy(), cohort["event"].to_numpy()
    )
    assert result.logrank is not None and result.logrank.df == 2
    assert result.logrank.groups == ("high", "low", "mid")
    assert result.logrank.p_value == pytest.approx(expected.p_value, abs=1e-12)


def test_single_group_has_no_logrank() -> None:
    frame = TINY.with_columns(pl.lit("A").alias("arm"))
    assert kaplan_meier(frame, group="arm").logrank is None


@pytest.mark.parametrize(
    ("frame", "field", "value"),
    [
        (pl.DataFrame({"time": [1, -2], "event": [1, 0]}), "time", -2.0),
        (pl.DataFrame({"time": [1, 2], "event": [1, 2]}), "event", 2),
        (pl.DataFrame({"time": [1, None], "event": [1, 0]}), "time", None),
        (pl.DataFrame({"time": [1.0, 2.0], "event": [1, None]}), "event", None),
        (pl.DataFrame({"time": [1.0, 2.0], "event": ["1", "0"]}), "event", "1"),
        (pl.DataFrame({"time": ["1", "2"], "event": [1, 0]}), "time", "String"),
        (pl.DataFrame({"time": [1.0]}), "event", None),
        (pl.DataFrame({"time": [], "event": []}), "events", 0),
    ],
)
def test_bad_input_names_field_and_value(frame: pl.DataFrame, field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(frame)
    assert caught.value.field == field
    assert caught.value.value == value


def test_time_zero_is_a_valid_time() -> None:
    # A patient who responds at the first visit of a day-0 table, or is censored on day 0, has
    # time 0 (times must be ≥ 0, and 0 is allowed). Hand computed: 4 at risk at 0, one event →
    # S(0) = 3/4; one censored at 0; at 2 two at risk, one event → 3/4 · 1/2 = 3/8.
    frame = pl.DataFrame({"time": [0, 0, 2, 2], "event": [1, 0, 1, 0]})
    table = kaplan_meier(frame).curve().table
    assert table.select("time", "at_risk", "events", "censored").rows() == [
        (0.0, 4, 1, 1),
        (2.0, 2, 1, 1),
    ]
    assert table["survival"].to_list() == pytest.approx([0.75, 0.375], abs=1e-12)


def test_bad_row_is_named_from_1() -> None:
    # Rows are numbered from 1 in every message (the third row is "row 3", as in a CSV viewer).
    frame = pl.DataFrame({"time": [1, 2, -3], "event": [1, 0, 1]})
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(frame)
    assert caught.value.problems[0].row == 3
    assert str(caught.value) == "row 3: time=-3.0: a finite time ≥ 0"
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(pl.DataFrame({"time": [1, 2], "event": [2, 1]}))
    assert str(caught.value) == "row 1: event=2: 0 (censored) or 1 (event)"
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(
            pl.DataFrame({"time": [1, 2], "event": [1, 0], "arm": ["a", None]}), group="arm"
        )
    assert str(caught.value) == "row 2: arm is missing (a group for every patient)"
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(TINY, group="arm")
    assert caught.value.field == "arm"
    with pytest.raises(ValidationError) as caught:
        kaplan_meier(TINY, level=95)
    assert caught.value.field == "level"
