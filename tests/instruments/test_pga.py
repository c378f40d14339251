"""PGA: grade names on both scales, PGA 0/1 with and without the 2-grade rule, PGA×BSA ranges."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.pga import PgaScale, pga, pga_success, pga_x_bsa

FIVE, SIX = PgaScale.FIVE_POINT, PgaScale.SIX_POINT


@pytest.mark.parametrize(
    ("grade", "name"),
    # reference instruments.md: 0 clear, 1 almost clear, 2 mild, 3 moderate, 4 severe
    [(0, "clear"), (1, "almost clear"), (2, "mild"), (3, "moderate"), (4, "severe")],
)
def test_five_point_grade_names(grade, name):
    result = pga(grade, FIVE)
    assert result.name == name
    assert result.scale is FIVE


def test_six_point_adds_very_severe_and_five_point_refuses_it():
    assert pga(5, SIX).name == "very severe"
    with pytest.raises(ValidationError, match=r"pga=5 is outside 0–4"):
        pga(5, FIVE)
    with pytest.raises(ValidationError, match=r"pga=6 is outside 0–5"):
        pga(6, SIX)


@pytest.mark.parametrize("bad", [True, "3", 3.5, None, -1])
def test_pga_refuses_bad_grades(bad):
    with pytest.raises(ValidationError) as info:
        pga(bad, FIVE)
    assert info.value.field == "pga"


def test_pga_needs_a_scale():
    with pytest.raises(ValidationError, match="pga_scale=5 is not a PgaScale"):
        pga(2, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("grade", "success"), [(0, True), (1, True), (2, False), (4, False)])
def test_pga_0_1_without_baseline(grade, success):
    assert pga_success(pga(grade, FIVE)).success is success


@pytest.mark.parametrize(
    ("grade", "baseline", "success"),
    # hand computed: success needs grade ≤ 1 and baseline − grade ≥ 2
    [(1, 3, True), (1, 2, False), (0, 2, True), (0, 1, False), (2, 4, False)],
)
def test_pga_0_1_with_two_grade_improvement(grade, baseline, success):
    result = pga_success(pga(grade, FIVE), pga(baseline, FIVE), require_two_grade_improvement=True)
    assert result.success is success
    assert result.improvement == baseline - grade


def test_pga_baseline_without_the_rule_is_only_reported():
    result = pga_success(pga(1, FIVE), pga(2, FIVE))
    assert result.success is True and result.improvement == 1
    assert "success by PGA 0/1" in result.reason


def test_pga_success_errors():
    with pytest.raises(ValidationError, match="baseline_pga is missing"):
        pga_success(pga(1, FIVE), require_two_grade_improvement=True)
    with pytest.raises(ValidationError, match="same 5-point"):
        pga_success(pga(1, FIVE), pga(4, SIX))
    with pytest.raises(ValidationError, match="pga=1 is not a PgaResult"):
        pga_success(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grade", "scale", "bsa", "value", "maximum"),
    # hand computed: PGA × BSA
    [
        (3, FIVE, 12.5, Decimal("37.5"), 400),
        (4, FIVE, 100, Decimal(400), 400),
        (5, SIX, 100, Decimal(500), 500),
        (0, SIX, 50, Decimal(0), 500),
        (2, FIVE, 0.1, Decimal("0.2"), 400),
    ],
)
def test_pga_x_bsa(grade, scale, bsa, value, maximum):
    result = pga_x_bsa(pga(grade, scale), bsa)
    assert result.value == value
    assert result.maximum == maximum
    assert result.scale is scale


def test_pga_x_bsa_refuses_bad_bsa():
    with pytest.raises(ValidationError, match=r"bsa=100.5 is outside 0–100"):
        pga_x_bsa(pga(2, FIVE), 100.5)
    with pytest.raises(ValidationError, match="bsa=True is not a number"):
        pga_x_bsa(pga(2, FIVE), True)


@given(
    st.sampled_from([FIVE, SIX]).flatmap(
        lambda s: st.tuples(st.just(s), st.integers(0, s.max_grade))
    ),
    st.decimals(min_value=0, max_value=100, places=2),
)
def test_pga_x_bsa_within_scale_range(scale_grade, bsa):
    scale, grade = scale_grade
    result = pga_x_bsa(pga(grade, scale), bsa)
    assert 0 <= result.value <= result.maximum == 100 * scale.max_grade
