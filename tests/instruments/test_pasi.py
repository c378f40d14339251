"""Scalar PASI: hand-computed totals, the area bands at every edge, strict types, properties.

Definition: Fredriksson & Pettersson 1978 (weights 0.1/0.2/0.3/0.4, signs 0–4, area 0–6), as
summarised in ../shared/reference/instruments.md.
"""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.pasi import PasiInput, RegionScore, area_score, pasi


def same(e: int, i: int, d: int, a: int) -> PasiInput:
    r = RegionScore(e, i, d, a)
    return PasiInput(head=r, upper_limbs=r, trunk=r, lower_limbs=r)


def test_hand_computed_total_and_region_parts():
    # head 0.1·(1+1+0)·1 = 0.2; upper 0.2·(2+2+1)·2 = 2.0; trunk 0.3·(3+2+2)·3 = 6.3;
    # lower 0.4·(2+1+1)·4 = 6.4; total 14.9
    result = pasi(
        PasiInput(
            head=RegionScore(1, 1, 0, 1),
            upper_limbs=RegionScore(2, 2, 1, 2),
            trunk=RegionScore(3, 2, 2, 3),
            lower_limbs=RegionScore(2, 1, 1, 4),
        )
    )
    assert result.total == Decimal("14.9")
    assert [str(r.value) for r in result.regions] == ["0.2", "2.0", "6.3", "6.4"]
    assert [r.severity_sum for r in result.regions] == [2, 5, 7, 4]
    assert result.summary()[-1]["contribution"] == "14.9"


def test_extremes_are_0_and_72():
    assert pasi(same(0, 0, 0, 0)).total == Decimal("0.0")
    assert pasi(same(4, 4, 4, 6)).total == Decimal("72.0")


def test_total_does_not_drift_where_a_float_sum_would():
    # E+I+D = 1 everywhere, areas 2,3,1,2: 0.2 + 0.6 + 0.3 + 0.8 = 1.9 exactly, while the float
    # sum 0.1·2 + 0.2·3 + 0.3·1 + 0.4·2 is 1.9000000000000001.
    assert 0.1 * 2 + 0.2 * 3 + 0.3 * 1 + 0.4 * 2 != 1.9
    result = pasi(
        PasiInput(
            head=RegionScore(1, 0, 0, 2),
            upper_limbs=RegionScore(0, 1, 0, 3),
            trunk=RegionScore(0, 0, 1, 1),
            lower_limbs=RegionScore(1, 0, 0, 2),
        )
    )
    assert str(result.total) == "1.9"


@pytest.mark.parametrize(
    ("percent", "score"),
    [
        (0, 0),
        (0.1, 1),
        (9.99, 1),
        (10, 2),
        (29.99, 2),
        (30, 3),
        (49.9, 3),
        (50, 4),
        (69.9, 4),
        (70, 5),
        (89.9, 5),
        (90, 6),
        (100, 6),
        (Decimal("9.9"), 1),
        (Decimal("10.0"), 2),
    ],
)
def test_area_percent_at_band_edges(percent, score):
    assert area_score(percent) == score


@pytest.mark.parametrize("percent", [-0.1, 100.1, float("nan"), float("inf"), True, "10", None])
def test_area_percent_out_of_range_or_wrong_type_is_refused(percent):
    with pytest.raises(ValidationError) as info:
        area_score(percent, "trunk_area_pct")
    assert info.value.field == "trunk_area_pct"


def test_every_bad_item_is_named_once():
    bad = PasiInput(
        head=RegionScore(5, 1, 1, 1),
        upper_limbs=RegionScore(True, 1, 1, 1),  # type: ignore[arg-type]
        trunk=RegionScore(1, 1, 1, 7),
        lower_limbs=RegionScore(1, "3", 1, -1),  # type: ignore[arg-type]
    )
    with pytest.raises(ValidationError) as info:
        pasi(bad)
    messages = [str(p) for p in info.value.problems]
    assert messages == [
        "head_erythema=5 is outside 0–4 (a grade of erythema)",
        "upper_limbs_erythema=True is not an integer 0–4 (a grade of erythema)",
        "trunk_area=7 is outside 0–6 (an area score)",
        "lower_limbs_induration='3' is not an integer 0–4 (a grade of induration)",
        "lower_limbs_area=-1 is outside 0–6 (an area score)",
    ]


def test_from_percent_builds_the_area_score():
    assert RegionScore.from_percent(2, 2, 1, 30).area == 3


signs = st.integers(0, 4)
areas = st.integers(0, 6)
regions = st.builds(RegionScore, signs, signs, signs, areas)
inputs = st.builds(PasiInput, regions, regions, regions, regions)


@given(inputs)
def test_total_is_within_0_and_72_with_one_decimal(scores):
    total = pasi(scores).total
    assert Decimal(0) <= total <= Decimal(72)
    assert total == total.quantize(Decimal("0.1"))


@given(
    inputs,
    st.sampled_from(["head", "upper_limbs", "trunk", "lower_limbs"]),
    st.sampled_from(["erythema", "induration", "desquamation", "area"]),
)
def test_total_is_monotone_in_every_component(scores, region, item):
    part = getattr(scores, region)
    high = 6 if item == "area" else 4
    if getattr(part, item) == high:
        return
    raised = RegionScore(**{**part.__dict__, item: getattr(part, item) + 1})
    bigger = PasiInput(**{**scores.__dict__, region: raised})
    assert pasi(bigger).total >= pasi(scores).total
