"""Responder-rate and difference intervals against statsmodels and published worked examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from psotrack.errors import ValidationError
from psotrack.stats import (
    DifferenceInterval,
    ProportionInterval,
    difference_interval,
    proportion_interval,
)

STATSMODELS_NAME = {"exact": "beta", "wilson": "wilson", "jeffreys": "jeffreys"}


def _jeffreys_boundary(
    method: str, responders: int, n: int, low: float, high: float
) -> tuple[float, float]:
    """statsmodels returns the plain Jeffreys interval; psotrack applies Brown–Cai–DasGupta's
    boundary rule (lower 0 at x = 0, upper 1 at x = n), elsewhere the two are identical."""
    if method != "jeffreys":
        return low, high
    return (0.0 if responders == 0 else low), (1.0 if responders == n else high)


@pytest.mark.parametrize("method", ["exact", "wilson", "jeffreys"])
@pytest.mark.parametrize(
    ("responders", "n"), [(0, 1), (1, 1), (0, 5), (5, 5), (8, 17), (1, 300), (150, 300), (299, 300)]
)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_interval_matches_statsmodels(method: str, responders: int, n: int, level: float) -> None:
    ours = proportion_interval(responders, n, method, level)  # type: ignore[arg-type]
    low, high = proportion_confint(responders, n, alpha=1 - level, method=STATSMODELS_NAME[method])
    low, high = _jeffreys_boundary(method, responders, n, low, high)
    assert ours.low == pytest.approx(low, abs=1e-9)
    assert ours.high == pytest.approx(high, abs=1e-9)
    assert ours.rate == responders / n
    assert (ours.responders, ours.n, ours.method, ours.level) == (responders, n, method, level)


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_every_count_matches_statsmodels(case: tuple[int, int]) -> None:
    responders, n = case
    for method, name in STATSMODELS_NAME.items():
        ours = proportion_interval(responders, n, method)  # type: ignore[arg-type]
        low, high = proportion_confint(responders, n, method=name)
        low, high = _jeffreys_boundary(method, responders, n, low, high)
        assert abs(ours.low - low) < 1e-9 and abs(ours.high - high) < 1e-9
        assert 0.0 <= ours.low <= ours.rate <= ours.high <= 1.0


def test_clopper_pearson_hand_case() -> None:
    # Known answer: 8/17 exact 95 % CI 0.2298–0.7219 (Clopper–Pearson tables; e.g. the
    # beta quantiles B(0.025; 8, 10) and B(0.975; 9, 9)).
    result = proportion_interval(8, 17)
    assert isinstance(result, ProportionInterval)
    assert result.low == pytest.approx(0.2298, abs=1e-4)
    assert result.high == pytest.approx(0.7219, abs=1e-4)
    assert result.summary() == "8/17 = 0.471 (95 % CI 0.230–0.722, exact)"


def test_clopper_pearson_edges_are_closed_form() -> None:
    # Hand computed: x = 0 gives upper = 1 − (α/2)^(1/n); x = n gives lower = (α/2)^(1/n).
    assert proportion_interval(0, 10).low == 0.0
    assert proportion_interval(0, 10).high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    assert proportion_interval(10, 10).high == 1.0
    assert proportion_interval(10, 10).low == pytest.approx(0.025 ** (1 / 10), abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        # Newcombe RG, Stat Med 1998;17:873–890, Table II, method 10 (hybrid score).
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.0582, 0.8062),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0000),
    ],
)
def test_newcombe_published_examples(
    counts: tuple[int, int, int, int], low: float, high: float
) -> None:
    result = difference_interval(*counts)
    assert isinstance(result, DifferenceInterval)
    assert result.low == pytest.approx(low, abs=5e-5)
    assert result.high == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(
    "counts", [(20, 30, 10, 30), (56, 70, 48, 80), (0, 12, 7, 15), (3, 3, 1, 9)]
)
@pytest.mark.parametrize(("ours", "theirs"), [("newcombe", "newcomb"), ("wald", "wald")])
def test_difference_matches_statsmodels(
    counts: tuple[int, int, int, int], ours: str, theirs: str
) -> None:
    result = difference_interval(*counts, method=ours)  # type: ignore[arg-type]
    low, high = confint_proportions_2indep(*counts, method=theirs, compare="diff")
    assert result.difference == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert result.low == pytest.approx(max(-1.0, low), abs=1e-9)
    assert result.high == pytest.approx(min(1.0, high), abs=1e-9)


def test_jeffreys_boundary_keeps_the_observed_rate() -> None:
    # Brown, Cai, DasGupta, Stat Sci 2001;16:101–133, §4.1.2: at x = 0 the lower limit is 0 and
    # the upper limit stays the beta(½, n + ½) quantile. Hand check: n = 1 → B(0.975; ½, 1½).
    from scipy.stats import beta

    zero = proportion_interval(0, 1, "jeffreys")
    assert zero.low == 0.0
    assert zero.high == pytest.approx(float(beta.ppf(0.975, 0.5, 1.5)), abs=1e-12)
    assert proportion_interval(7, 7, "jeffreys").high == 1.0


def test_no_patients_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        proportion_interval(0, 0)
    assert caught.value.field == "n"


@pytest.mark.parametrize(
    ("responders", "n", "method", "level", "fields"),
    [
        (5, 4, "exact", 0.95, ["responders"]),
        (-1, 4, "exact", 0.95, ["responders"]),
        (True, 4, "exact", 0.95, ["responders"]),
        (1, "4", "exact", 0.95, ["n"]),
        (1, 4, "wald", 0.95, ["method"]),
        (1, 4, "exact", 1.0, ["level"]),
        (9, 0, "probit", 0.0, ["n", "responders", "level", "method"]),
    ],
)
def test_bad_counts_list_every_problem(
    responders: object, n: object, method: str, level: float, fields: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        proportion_interval(responders, n, method, level)  # type: ignore[arg-type]
    assert [p.field for p in caught.value.problems] == fields


def test_difference_refuses_empty_arm() -> None:
    with pytest.raises(ValidationError) as caught:
        difference_interval(1, 5, 0, 0)
    assert [p.field for p in caught.value.problems] == ["second_n"]
