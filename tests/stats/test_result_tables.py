"""Test results and their tables, against answers worked out by hand.

Wilcoxon exact p-values come from enumerating the 2ⁿ sign patterns, the normal approximation from
its formula (mean n(n+1)/4, variance n(n+1)(2n+1)/24 − Σ(t³ − t)/48 over tied groups, no
continuity correction); Mann–Whitney exact p from the C(6, 3) = 20 equally likely splits; Spearman
from 1 − 6Σd²/(n(n² − 1)) with p from the t distribution on n − 2 degrees of freedom.
Written after the mutation sample of issue 14 (docs/mutation.md).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from psotrack.stats.biomarkers import (
    ChangeCorrelation,
    GroupComparison,
    biomarker_change,
    compare_groups,
    correlate,
    signed_rank,
)
from psotrack.stats.longitudinal import MixedModelResult
from psotrack.stats.survival import kaplan_meier, time_to_relapse, time_to_response


def test_exact_wilcoxon_without_zeros_or_ties() -> None:
    # |changes| 1, 2, 3, 4, 5 have ranks 1–5; T− = 2 (the change −2). Of the 32 sign patterns,
    # 3 give a negative-rank sum ≤ 2 ({}, {1}, {2}): two-sided p = 2 × 3/32 = 0.1875.
    assert signed_rank(np.array([1.0, -2.0, 3.0, 4.0, 5.0])) == (2.0, 0.1875, "exact", None)


def test_tied_changes_take_the_normal_approximation() -> None:
    # |changes| 1, 2, 2, 3: ranks 1, 2.5, 2.5, 4, all positive, T = 0. Mean 4·5/4 = 5, variance
    # 4·5·9/24 − (2³ − 2)/48 = 7.375; p = erfc(5 / √(2 · 7.375)) = 0.0656 (the exact
    # enumeration, wrong with ties, would give 2/16 = 0.125).
    statistic, p, method, reason = signed_rank(np.array([1.0, 2.0, 2.0, 3.0]))
    assert (statistic, method, reason) == (0.0, "asymptotic", None)
    assert p == pytest.approx(math.erfc(5 / math.sqrt(14.75)), rel=1e-9)


def test_a_zero_change_takes_the_normal_approximation() -> None:
    # Wilcoxon's rule drops the zero: n = 3, ranks 1, 2, 3 all positive, T = 0; mean 3, variance
    # 3·4·7/24 = 3.5; p = erfc(3 / √7) = 0.1088 (exact on the three would be 2/8 = 0.25).
    statistic, p, method, reason = signed_rank(np.array([0.0, 1.0, 2.0, 3.0]))
    assert (statistic, method, reason) == (0.0, "asymptotic", None)
    assert p == pytest.approx(math.erfc(3 / math.sqrt(7)), rel=1e-9)


def test_no_signed_rank_test_on_too_few_or_only_zero_changes() -> None:
    assert signed_rank(np.array([1.0])) == (
        None,
        None,
        None,
        "1 complete pair(s); the test needs at least 2",
    )
    assert signed_rank(np.array([0.0, 0.0])) == (
        None,
        None,
        None,
        "every change is zero; no signed-rank test",
    )


def test_group_comparison_results_and_their_reasons() -> None:
    # −1, −2, −3 all below 4, 5, 6: U = 0, and 2 of the 20 splits are that extreme: p = 0.1
    result = compare_groups(np.array([-1.0, -2.0, -3.0]), np.array([4.0, 5.0, 6.0]))
    assert result == GroupComparison(3, 3, 0.0, pytest.approx(0.1), "exact", None)  # type: ignore[arg-type]
    assert compare_groups(np.array([1.0]), np.array([])) == GroupComparison(
        1, 0, None, None, None, "a group has no complete pair"
    )
    assert compare_groups(np.array([]), np.array([2.0, 3.0])) == GroupComparison(
        0, 2, None, None, None, "a group has no complete pair"
    )
    assert compare_groups(np.array([2.0, 2.0]), np.array([2.0])) == GroupComparison(
        2, 1, None, None, None, "every change is the same value"
    )
    assert compare_groups(np.array([2.0, 2.0]), np.array([2.0])).summary().to_dicts() == [
        {
            "test": "Mann–Whitney U (responders vs non-responders)",
            "n": 3,
            "statistic": None,
            "p_value": None,
            "method": None,
            "note": "every change is the same value",
        }
    ]


def test_correlation_results_and_their_reasons() -> None:
    # ranks 1, 2, 3, 4 against 4, 2, 3, 1: Σd² = 9 + 0 + 0 + 9 = 18, ρ = 1 − 108/60 = −0.8;
    # t = ρ √(2 / (1 − ρ²)), and on 2 degrees of freedom p = 1 − |t|/√(t² + 2) = 0.2
    result = correlate(np.array([1.0, 2.0, 3.0, 4.0]), np.array([-10.0, -30.0, -20.0, -40.0]), 1)
    assert (result.n, result.n_dropped, result.reason) == (4, 1, None)
    assert (result.rho, result.p_value) == (pytest.approx(-0.8), pytest.approx(0.2))
    assert result.summary().to_dicts() == [
        {
            "test": "Spearman (change vs PASI % change)",
            "n": 4,
            "statistic": pytest.approx(-0.8),
            "p_value": pytest.approx(0.2),
            "method": "spearman",
            "note": None,
        }
    ]
    assert correlate(np.array([1.0, 2.0]), np.array([3.0, 4.0]), 3) == ChangeCorrelation(
        2, 3, None, None, "2 complete pair(s); a correlation needs at least 3"
    )
    assert correlate(np.array([1.0, 1.0, 1.0]), np.array([3.0, 4.0, 5.0]), 2) == ChangeCorrelation(
        3, 2, None, None, "one variable is constant"
    )
    assert correlate(np.array([1.0, 2.0, 3.0]), np.array([4.0, 4.0, 4.0])).reason == (
        "one variable is constant"
    )


def test_summary_of_one_group() -> None:
    # changes 2, 3, 4 all positive: T = 0, exact p = 2/8 = 0.25; quartiles by linear
    # interpolation: 4, 5, 6 → 4.5, 5, 5.5; 6, 8, 10 → 7, 8, 9; 2, 3, 4 → 2.5, 3, 3.5
    frame = pl.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "baseline": [4.0, 5.0, 6.0, None],
            "follow_up": [6.0, 8, 10, 1],
        }
    )
    result = biomarker_change(frame, biomarker="Treg %")
    assert result.groups == (result.overall,)
    assert (result.responders, result.between_groups, result.correlation) == (None, None, None)
    assert result.summary().to_dicts() == [
        {
            "biomarker": "Treg %",
            "group": "all",
            "n_pairs": 3,
            "n_dropped": 1,
            "baseline_median": 5.0,
            "baseline_q1": 4.5,
            "baseline_q3": 5.5,
            "follow_up_median": 8.0,
            "follow_up_q1": 7.0,
            "follow_up_q3": 9.0,
            "change_median": 3.0,
            "change_q1": 2.5,
            "change_q3": 3.5,
            "wilcoxon_statistic": 0.0,
            "wilcoxon_p": 0.25,
            "method": "exact",
            "zero_method": "wilcox",
            "note": None,
        }
    ]


def test_summary_of_a_group_without_a_test_keeps_its_types() -> None:
    frame = pl.DataFrame({"patient_id": [1], "baseline": [4.0], "follow_up": [6.0]})
    summary = biomarker_change(frame).summary()
    row = summary.to_dicts()[0]
    assert (row["wilcoxon_statistic"], row["wilcoxon_p"], row["method"]) == (None, None, None)
    assert row["note"] == "1 complete pair(s); the test needs at least 2"
    assert summary.schema["wilcoxon_p"] == pl.Float64 and summary.schema["method"] == pl.String
    tests = biomarker_change(frame).tests()
    assert tests.schema["statistic"] == pl.Float64 and tests.schema["method"] == pl.String
    assert summary.columns[:2] == ["biomarker", "group"] and row["biomarker"] == "biomarker"


# Responders: changes −1, −2, −3; non-responders: 4, 5, 6 (baseline 10 for everyone).
# All six: |changes| ranks 1–6, T = 1 + 2 + 3 = 6; of the 64 sign patterns 14 have a
# negative-rank sum ≤ 6, so p = 2 × 14/64 = 0.4375. Each group of three: T = 0, p = 2/8 = 0.25.
# Spearman: change ranks 3, 2, 1, 4, 5, 6 against PASI % change ranks 2, 3, 1, 4, 6, 5:
# Σd² = 4, ρ = 1 − 24/210 = 0.8857.
GROUPS = pl.DataFrame(
    {
        "patient_id": list("abcdef"),
        "baseline": [10.0] * 6,
        "follow_up": [9.0, 8.0, 7.0, 14.0, 15.0, 16.0],
        "responder": [True, True, True, False, False, False],
        "pchg": [-60.0, -50.0, -70.0, 10.0, 30.0, 20.0],
    }
)


MANN_WHITNEY = "Mann–Whitney U (responders vs non-responders)"


def test_tests_table_lists_every_test_made() -> None:
    result = biomarker_change(GROUPS, responder="responder", pasi_pchg="pchg")
    rows = result.tests().rows()
    assert rows[:4] == [
        ("Wilcoxon signed-rank (all)", 6, 6.0, 0.4375, "exact", None),
        ("Wilcoxon signed-rank (responders)", 3, 0.0, 0.25, "exact", None),
        ("Wilcoxon signed-rank (non-responders)", 3, 0.0, 0.25, "exact", None),
        (
            "Mann–Whitney U (responders vs non-responders)",
            6,
            0.0,
            pytest.approx(0.1),
            "exact",
            None,
        ),
    ]
    test, n, rho, p, method, note = rows[4]
    assert (test, n, method, note) == ("Spearman (change vs PASI % change)", 6, "spearman", None)
    assert rho == pytest.approx(1 - 24 / 210)
    t = rho * math.sqrt(4 / (1 - rho * rho))
    # t distribution on 4 degrees of freedom: two-sided p = 1 − (3/2 · s − 1/2 · s³) where
    # s = t / √(t² + 4) (its closed-form distribution function)
    s = t / math.sqrt(t * t + 4)
    assert p == pytest.approx(1 - (1.5 * s - 0.5 * s**3), rel=1e-9)
    assert [g.group for g in result.groups] == ["all", "responders", "non-responders"]


def test_variance_components_with_and_without_a_slope() -> None:
    base = {
        "formula": "pasi ~ week",
        "fixed_effects": pl.DataFrame({"term": ["Intercept", "week"], "estimate": [20.0, -2.0]}),
        "n_patients": 6,
        "n_observations": 30,
        "n_dropped": 0,
        "converged": True,
        "log_likelihood": -10.0,
        "reml": True,
        "level": 0.95,
        "warnings": (),
    }
    intercept = MixedModelResult(
        re_formula="1",
        intercept_variance=3.0,
        slope_variance=None,
        intercept_slope_covariance=None,
        residual_variance=0.25,
        **base,  # type: ignore[arg-type]
    )
    assert intercept.variance_components().rows() == [
        ("patient intercept variance", 3.0),
        ("residual variance", 0.25),
    ]
    slope = MixedModelResult(
        re_formula="~week",
        intercept_variance=3.0,
        slope_variance=0.5,
        intercept_slope_covariance=-0.1,
        residual_variance=0.25,
        **base,  # type: ignore[arg-type]
    )
    table = slope.variance_components()
    assert table.rows() == [
        ("patient intercept variance", 3.0),
        ("patient slope variance", 0.5),
        ("intercept–slope covariance", -0.1),
        ("residual variance", 0.25),
    ]
    assert table.columns == ["component", "value"] and table.schema["value"] == pl.Float64


def test_survival_at_with_an_event_at_time_zero() -> None:
    # times 0, 1, 2 with events 1, 1, 0: S(0) = 2/3, S(1) = 2/3 · 1/2 = 1/3, then censored.
    curve = kaplan_meier(pl.DataFrame({"time": [0, 1, 2], "event": [1, 1, 0]})).curve()
    found = [curve.survival_at(t) for t in (-0.5, 0, 0.5, 1, 2, 9)]
    assert found == pytest.approx([1.0, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3])


TINY = pl.DataFrame({"time": [1, 2, 2, 3, 4], "relapsed": [1, 1, 0, 1, 0]})


def test_relapse_and_response_pass_their_options_through() -> None:
    relapse = time_to_relapse(TINY, event="relapsed", level=0.9)
    assert (relapse.endpoint, relapse.cumulative_incidence) == ("time to relapse", False)
    assert relapse.curve().level == 0.9 and relapse.summary()["level"].to_list() == [0.9]
    assert relapse.curve().events == 3
    response = time_to_response(TINY, event="relapsed", level=0.8)
    assert (response.endpoint, response.cumulative_incidence) == ("time to response", True)
    assert response.curve().level == 0.8 and response.curve().events == 3
    # S = 0.8, 0.6, 0.3, 0.3 after the events (the hand computation of test_survival.py)
    assert response.curve().table["incidence"].to_list()[1:] == pytest.approx([0.2, 0.4, 0.7, 0.7])
    arms = TINY.with_columns(arm=pl.Series(list("AABBB")))
    grouped = time_to_relapse(arms, event="relapsed", group="arm")
    assert [c.group for c in grouped.curves] == ["A", "B"]


def test_mann_whitney_is_exact_with_eight_in_the_smaller_group() -> None:
    # 8 against 8, no ties, every responder change below every other: U = 0, and 2 of the
    # C(16, 8) = 12 870 equally likely splits are that extreme: p = 2/12 870 (scipy's rule:
    # exact up to 8 in the smaller group)
    low, high = np.arange(1.0, 9.0), np.arange(11.0, 19.0)
    result = compare_groups(-high, -low)
    assert (result.statistic, result.method) == (0.0, "exact")
    assert result.p_value == pytest.approx(2 / 12870, rel=1e-9)
    nine = compare_groups(np.arange(1.0, 10.0), np.arange(11.0, 20.0))
    assert nine.method == "asymptotic"


def test_describe_reads_decimal_values_as_numbers() -> None:
    from decimal import Decimal

    from psotrack.stats.biomarkers import describe

    # values as a lab system's decimals: 1.5, 2.5 → quartiles 1.75, 2.0, 2.25
    found = describe([Decimal("1.5"), Decimal("2.5")])  # type: ignore[list-item]
    assert (found.n, found.q1, found.median, found.q3) == (2, 1.75, 2.0, 2.25)


def test_the_mixed_model_keeps_its_level_and_uses_it_for_the_intervals() -> None:
    from psotrack.stats.longitudinal import fit_pasi_trajectory

    # the docstring's cohort: PASI 20 + patient − 2 × week ± 0.5
    noise = [-0.5, 0.5]
    rows = [(p, w, 20.0 + p - 2.0 * w + noise[(p + w) % 2]) for p in range(6) for w in range(5)]
    visits = pl.DataFrame(rows, schema=["patient_id", "week", "pasi"], orient="row")
    result = fit_pasi_trajectory(visits, level=0.9)
    assert result.level == 0.9
    week = result.summary().filter(pl.col("term") == "week").row(0, named=True)
    # Wald interval at 90 %: estimate ± 1.6448536 × se
    assert week["ci_high"] - week["estimate"] == pytest.approx(1.6448536269514722 * week["se"])


def test_a_correlation_not_made_says_why_in_its_row() -> None:
    row = correlate(np.array([1.0, 2.0]), np.array([3.0, 4.0])).summary().row(0, named=True)
    assert (row["n"], row["statistic"], row["p_value"]) == (2, None, None)
    assert row["method"] == "spearman"
    assert row["note"] == "2 complete pair(s); a correlation needs at least 3"


def test_grouped_curves_keep_the_kind_of_endpoint() -> None:
    arms = TINY.with_columns(arm=pl.Series(list("AABBB")))
    assert time_to_response(arms, event="relapsed", group="arm").cumulative_incidence is True
    assert time_to_relapse(arms, event="relapsed", group="arm").cumulative_incidence is False


def test_the_mixed_model_is_fitted_by_maximum_likelihood_when_asked() -> None:
    import statsmodels.formula.api as smf

    from psotrack.stats.longitudinal import fit_pasi_trajectory

    noise = [-0.5, 0.5, 0.25]
    rows = [(p, w, 20.0 + p - 2.0 * w + noise[(p + 2 * w) % 3]) for p in range(6) for w in range(5)]
    visits = pl.DataFrame(rows, schema=["patient_id", "week", "pasi"], orient="row")
    ml = fit_pasi_trajectory(visits, reml=False)
    reml = fit_pasi_trajectory(visits)
    # statsmodels itself as the oracle: the ML and REML log-likelihoods of the same model
    frame = visits.to_pandas().astype({"week": float, "pasi": float})
    model = smf.mixedlm("pasi ~ week", frame, groups=frame["patient_id"])
    assert ml.reml is False and reml.reml is True
    assert ml.log_likelihood == pytest.approx(model.fit(reml=False, method=["powell", "lbfgs"]).llf)
    assert reml.log_likelihood == pytest.approx(model.fit(method=["powell", "lbfgs"]).llf)
    assert ml.log_likelihood != pytest.approx(reml.log_likelihood)
