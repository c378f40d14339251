"""Biomarker change from baseline: hand-computed quartiles and tests, and scipy called directly."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from psotrack.errors import ValidationError
from psotrack.stats.biomarker_pairs import derive_biomarker_pairs
from psotrack.stats.biomarkers import biomarker_change, describe


def _pairs(
    baseline: list[float | None], follow_up: list[float | None], **extra: list[object]
) -> pl.DataFrame:
    ids = list(range(1, len(baseline) + 1))
    return pl.DataFrame(
        {"patient_id": ids, "baseline": baseline, "follow_up": follow_up, **extra},
        schema_overrides={"baseline": pl.Float64, "follow_up": pl.Float64},
    )


def _cohort(seed: int = 7, n: int = 14) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    baseline = rng.normal(5.0, 1.0, n)
    follow_up = baseline + rng.normal(1.0, 1.0, n)
    responder = [i % 2 for i in range(n)]
    pasi_pchg = rng.uniform(-100, 20, n)
    return pl.DataFrame(
        {
            "patient_id": [f"P{i:02d}" for i in range(n)],
            "baseline": baseline,
            "follow_up": follow_up,
            "responder": responder,
            "pasi_pchg": pasi_pchg,
        }
    )


# --- median and IQR -----------------------------------------------------------------------------


def test_quartiles_by_hand() -> None:
    # Type 7: position h = (n − 1)p; for 1..4, Q1 at h = 0.75 → 1.75, Q3 at h = 2.25 → 3.25.
    assert describe([4.0, 1.0, 3.0, 2.0]) == describe([1.0, 2.0, 3.0, 4.0])
    result = describe([1.0, 2.0, 3.0, 4.0])
    assert (result.n, result.median, result.q1, result.q3) == (4, 2.5, 1.75, 3.25)
    result = describe([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (result.median, result.q1, result.q3) == (3.0, 2.0, 4.0)
    single = describe([7.5])
    assert (single.n, single.median, single.q1, single.q3) == (1, 7.5, 7.5, 7.5)
    empty = describe([])
    assert (empty.n, empty.median, empty.q1, empty.q3) == (0, None, None, None)


def test_group_distributions_by_hand() -> None:
    frame = _pairs([10.0, 20.0, 30.0, 40.0], [11.0, 23.0, 35.0, 47.0])
    overall = biomarker_change(frame).overall
    # changes 1, 3, 5, 7 → median 4, Q1 2.5, Q3 5.5
    assert (overall.change.median, overall.change.q1, overall.change.q3) == (4.0, 2.5, 5.5)
    assert (overall.baseline.median, overall.baseline.q1, overall.baseline.q3) == (25.0, 17.5, 32.5)
    assert overall.follow_up.median == 29.0


# --- Wilcoxon signed-rank -----------------------------------------------------------------------


def test_wilcoxon_exact_by_hand() -> None:
    # Changes 1, −2, 3, 4, 5: ranks 1–5, R− = 2. Signed-rank sums ≤ 2 among 2⁵ sign patterns:
    # {}, {1}, {2} → P(T ≤ 2) = 3/32, two-sided p = 6/32.
    frame = _pairs([0.0] * 5, [1.0, -2.0, 3.0, 4.0, 5.0])
    overall = biomarker_change(frame).overall
    assert overall.statistic == 2.0
    assert overall.p_value == pytest.approx(6 / 32, abs=1e-12)
    assert overall.method == "exact"
    assert overall.reason is None


def test_wilcoxon_asymptotic_with_zero_and_ties_by_hand() -> None:
    # zero_method "wilcox" drops the 0; |d| = 1, 1, 2, 3, 4, 5, 6 → ranks 1.5, 1.5, 3, …, 7.
    # R− = 4 (the −3), n = 7: mean 14, var = 7·8·15/24 − (2³ − 2)/48 = 34.875.
    frame = _pairs([0.0] * 8, [0.0, 1.0, 1.0, 2.0, -3.0, 4.0, 5.0, 6.0])
    overall = biomarker_change(frame).overall
    z = (4 - 14) / math.sqrt(34.875)
    assert overall.method == "asymptotic"
    assert overall.statistic == 4.0
    assert overall.p_value == pytest.approx(2 * stats.norm.cdf(z), abs=1e-12)


@pytest.mark.parametrize("zero_method", ["wilcox", "pratt", "zsplit"])
def test_wilcoxon_matches_scipy(zero_method: str) -> None:
    cohort = _cohort()
    d = (cohort["follow_up"] - cohort["baseline"]).to_numpy()
    result = biomarker_change(cohort, zero_method=zero_method).overall  # type: ignore[arg-type]
    expected = stats.wilcoxon(d, zero_method=zero_method, method="exact")
    assert result.method == "exact"
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)
    # With no ties and n ≤ 50 this is also scipy's own default choice.
    assert result.p_value == pytest.approx(float(stats.wilcoxon(d).pvalue), abs=1e-12)


@pytest.mark.parametrize("zero_method", ["wilcox", "pratt", "zsplit"])
def test_wilcoxon_with_zeros_matches_scipy_asymptotic(zero_method: str) -> None:
    baseline = [5.0, 6.0, 7.0, 8.0, 9.0, 4.0, 3.5, 2.0, 6.5, 7.5]
    follow_up = [5.0, 7.5, 9.0, 8.0, 11.5, 4.5, 5.5, 1.0, 8.0, 7.0]
    d = np.array(follow_up) - np.array(baseline)
    result = biomarker_change(_pairs(baseline, follow_up), zero_method=zero_method).overall  # type: ignore[arg-type]
    expected = stats.wilcoxon(d, zero_method=zero_method, correction=False, method="asymptotic")
    assert result.method == "asymptotic"
    assert result.zero_method == zero_method
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_large_sample_uses_normal_approximation() -> None:
    cohort = _cohort(seed=3, n=60)
    d = (cohort["follow_up"] - cohort["baseline"]).to_numpy()
    result = biomarker_change(cohort).overall
    expected = stats.wilcoxon(d, correction=False, method="asymptotic")
    assert result.method == "asymptotic"
    assert result.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_missing_values_are_dropped_and_counted() -> None:
    frame = _pairs([1.0, 2.0, None, 4.0, float("nan"), 6.0], [2.0, 4.0, 3.0, None, 1.0, 9.0])
    overall = biomarker_change(frame).overall
    assert (overall.n_pairs, overall.n_dropped) == (3, 3)
    assert overall.change.median == 2.0  # changes 1, 2, 3
    expected = stats.wilcoxon([1.0, 2.0, 3.0], method="exact")
    assert overall.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_too_few_pairs_gives_no_p_value_and_a_reason() -> None:
    one = biomarker_change(_pairs([1.0, None], [2.0, 3.0])).overall
    assert (one.n_pairs, one.n_dropped, one.p_value, one.statistic) == (1, 1, None, None)
    assert one.reason is not None and "at least 2" in one.reason
    assert one.change.median == 1.0
    none = biomarker_change(_pairs([None], [3.0])).overall
    assert (none.n_pairs, none.p_value, none.change.median) == (0, None, None)
    zeros = biomarker_change(_pairs([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])).overall
    assert zeros.p_value is None and zeros.reason is not None and "zero" in zeros.reason


# --- responders vs non-responders ---------------------------------------------------------------


def test_mann_whitney_exact_by_hand() -> None:
    # Responders' changes 1, 2, 3 all below non-responders' 4, 5: U = 0;
    # exact P(U ≤ 0) = 1 / C(5, 2) = 0.1, two-sided p = 0.2.
    frame = _pairs([0.0] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], responder=[True, True, True, False, False])
    between = biomarker_change(frame, responder="responder").between_groups
    assert between is not None
    assert (between.n_responders, between.n_non_responders) == (3, 2)
    assert between.statistic == 0.0
    assert between.p_value == pytest.approx(0.2, abs=1e-12)
    assert between.method == "exact"


def test_groups_match_scipy() -> None:
    cohort = _cohort()
    result = biomarker_change(cohort, responder="responder", biomarker="Treg %")
    d = (cohort["follow_up"] - cohort["baseline"]).to_numpy()
    flags = cohort["responder"].to_numpy() == 1
    assert result.responders is not None and result.non_responders is not None
    for group, mask in ((result.responders, flags), (result.non_responders, ~flags)):
        expected = stats.wilcoxon(d[mask], method="exact")
        assert group.n_pairs == int(mask.sum())
        assert group.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)
        q1, med, q3 = np.quantile(d[mask], [0.25, 0.5, 0.75])
        assert (group.change.q1, group.change.median, group.change.q3) == pytest.approx(
            (q1, med, q3), abs=1e-12
        )
    mwu = stats.mannwhitneyu(d[flags], d[~flags], alternative="two-sided", method="exact")
    assert result.between_groups is not None
    assert result.between_groups.method == "exact"  # 7 per group, no ties: scipy's rule too
    assert result.between_groups.statistic == pytest.approx(float(mwu.statistic), abs=1e-9)
    assert result.between_groups.p_value == pytest.approx(float(mwu.pvalue), abs=1e-12)
    auto = stats.mannwhitneyu(d[flags], d[~flags], alternative="two-sided")
    assert result.between_groups.p_value == pytest.approx(float(auto.pvalue), abs=1e-12)


def test_mann_whitney_with_ties_matches_scipy_asymptotic() -> None:
    frame = _pairs(
        [0.0] * 8, [1.0, 2.0, 2.0, 3.0, 2.0, 4.0, 5.0, 5.0], responder=[1, 1, 1, 1, 0, 0, 0, 0]
    )
    between = biomarker_change(frame, responder="responder").between_groups
    expected = stats.mannwhitneyu(
        [1.0, 2.0, 2.0, 3.0], [2.0, 4.0, 5.0, 5.0], alternative="two-sided", method="asymptotic"
    )
    assert between is not None and between.method == "asymptotic"
    assert between.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_missing_responder_flag_counts_only_overall() -> None:
    frame = _pairs([0.0] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], responder=[1, 1, None, 0, 0])
    result = biomarker_change(frame, responder="responder")
    assert result.overall.n_pairs == 5
    assert result.responders is not None and result.responders.n_pairs == 2
    assert result.non_responders is not None and result.non_responders.n_pairs == 2


def test_empty_group_gives_reasons_not_errors() -> None:
    frame = _pairs([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], responder=[True, True, True])
    result = biomarker_change(frame, responder="responder")
    assert result.non_responders is not None and result.non_responders.n_pairs == 0
    assert result.non_responders.p_value is None and result.non_responders.reason
    assert result.between_groups is not None and result.between_groups.p_value is None
    assert result.between_groups.reason == "a group has no complete pair"


# --- Spearman -----------------------------------------------------------------------------------


def test_spearman_by_hand() -> None:
    # Ranks of x 1, 2, 3, 4 and of y 1, 3, 2, 4: Σd² = 2, ρ = 1 − 6·2 / (4·15) = 0.8.
    frame = _pairs(
        [0.0] * 5, [1.0, 2.0, 3.0, 4.0, 9.0], pasi_pchg=[-90.0, -50.0, -70.0, -10.0, None]
    )
    correlation = biomarker_change(frame, pasi_pchg="pasi_pchg").correlation
    assert correlation is not None
    assert (correlation.n, correlation.n_dropped) == (4, 1)
    assert correlation.rho == pytest.approx(0.8, abs=1e-12)


def test_spearman_matches_scipy() -> None:
    cohort = _cohort(seed=11, n=20)
    result = biomarker_change(cohort, responder="responder", pasi_pchg="pasi_pchg")
    d = (cohort["follow_up"] - cohort["baseline"]).to_numpy()
    expected = stats.spearmanr(d, cohort["pasi_pchg"].to_numpy())
    assert result.correlation is not None
    assert result.correlation.rho == pytest.approx(float(expected.statistic), abs=1e-12)
    assert result.correlation.p_value == pytest.approx(float(expected.pvalue), abs=1e-12)


def test_spearman_with_too_few_pairs() -> None:
    frame = _pairs([0.0, 0.0], [1.0, 2.0], pasi_pchg=[-80.0, -20.0])
    correlation = biomarker_change(frame, pasi_pchg="pasi_pchg").correlation
    assert correlation is not None and correlation.rho is None and correlation.p_value is None
    assert correlation.reason is not None and "at least 3" in correlation.reason


# --- tables -------------------------------------------------------------------------------------


def test_summary_and_tests_tables() -> None:
    cohort = _cohort()
    result = biomarker_change(
        cohort, biomarker="IL-17", responder="responder", pasi_pchg="pasi_pchg"
    )
    table = result.summary()
    assert table["group"].to_list() == ["all", "responders", "non-responders"]
    assert table["biomarker"].unique().to_list() == ["IL-17"]
    assert table["n_pairs"].to_list() == [14, 7, 7]
    assert table["wilcoxon_p"][0] == result.overall.p_value
    assert table["change_median"][1] == result.responders.change.median  # type: ignore[union-attr]
    tests = result.tests()
    assert tests.height == 5
    assert tests["p_value"][3] == result.between_groups.p_value  # type: ignore[union-attr]
    assert tests["statistic"][4] == result.correlation.rho  # type: ignore[union-attr]


# --- long frame → pairs -------------------------------------------------------------------------


def test_derive_pairs_picks_last_baseline_and_exact_day() -> None:
    long = pl.DataFrame(
        {
            "patient_id": ["A", "A", "A", "A", "B", "B", "C", "C"],
            "day": [0, 56, -14, 28, -3, 28, 5, 56],
            "value": [None, 7.0, 4.0, 6.0, 2.5, 3.0, 1.0, 2.0],
        }
    )
    pairs = derive_biomarker_pairs(long, 56)
    assert pairs.rows() == [("A", 4.0, 7.0), ("B", 2.5, None), ("C", None, 2.0)]
    overall = biomarker_change(pairs).overall
    assert (overall.n_pairs, overall.n_dropped) == (1, 2)


def test_derive_pairs_rejects_bad_input() -> None:
    long = pl.DataFrame({"patient_id": [1, 1], "day": [0, 0], "value": [1.0, 2.0]})
    with pytest.raises(ValidationError) as caught:
        derive_biomarker_pairs(long, 28)
    # The second row repeats (patient 1, day 0): "row 2", numbered from 1 as everywhere.
    assert caught.value.field == "day" and caught.value.problems[0].row == 2
    with pytest.raises(ValidationError) as caught:
        derive_biomarker_pairs(long, 0)
    assert caught.value.field == "follow_up_day"
    with pytest.raises(ValidationError) as caught:
        derive_biomarker_pairs(long.drop("value"), 28)
    assert caught.value.field == "value"


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "field", "value"),
    [
        (pl.DataFrame({"patient_id": [1], "baseline": [1.0]}), {}, "follow_up", None),
        (
            pl.DataFrame({"patient_id": [1], "baseline": ["high"], "follow_up": [1.0]}),
            {},
            "baseline",
            "String",
        ),
        (_pairs([1.0, 2.0], [1.0, 2.0], r=[1, 2]), {"responder": "r"}, "r", 2),
        (_pairs([1.0, 2.0], [1.0, float("inf")]), {}, "follow_up", float("inf")),
        (
            pl.DataFrame({"patient_id": [1, 1], "baseline": [1.0, 2.0], "follow_up": [1.0, 2.0]}),
            {},
            "patient_id",
            1,
        ),
        (_pairs([1.0], [2.0]), {"zero_method": "drop"}, "zero_method", "drop"),
        (_pairs([1.0], [2.0]), {"pasi_pchg": "pchg"}, "pchg", None),
    ],
)
def test_bad_input_names_field_and_value(
    frame: pl.DataFrame, kwargs: dict[str, object], field: str, value: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        biomarker_change(frame, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.value == value
