"""PSSI: (E + I + D) × scalp area score, area bands shared with PASI, strict validation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.pssi import PssiInput, pssi


def test_known_total():
    # hand computed: (3 + 2 + 4) × 3 = 27
    result = pssi(PssiInput(3, 2, 4, 3))
    assert (result.severity_sum, result.area, result.total) == (9, 3, 27)
    assert result.summary()[0]["pssi"] == 27


def test_maximum_is_72_and_no_area_is_zero():
    assert pssi(PssiInput(4, 4, 4, 6)).total == 72  # 12 × 6
    assert pssi(PssiInput(4, 4, 4, 0)).total == 0


@pytest.mark.parametrize(
    ("percent", "area"),
    # PASI bands (Fredriksson 1978), half-open as psotrack reads them
    [
        (0, 0),
        (0.1, 1),
        (9.9, 1),
        (10, 2),
        (29.9, 2),
        (30, 3),
        (49.9, 3),
        (50, 4),
        (69.9, 4),
        (70, 5),
        (89.9, 5),
        (90, 6),
        (100, 6),
    ],
)
def test_area_percent_at_band_edges(percent, area):
    # hand computed: E+I+D = 1+1+1 = 3, so the total is 3 × area
    result = pssi(PssiInput.from_percent(1, 1, 1, percent))
    assert result.area == area and result.total == 3 * area


@pytest.mark.parametrize("percent", [-1, 100.1, float("nan"), True, "50"])
def test_area_percent_out_of_range_or_wrong_type(percent):
    with pytest.raises(ValidationError, match="scalp_area_pct="):
        PssiInput.from_percent(1, 1, 1, percent)


def test_every_bad_item_is_listed():
    with pytest.raises(ValidationError) as info:
        pssi(PssiInput(5, True, "3", 7))  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == [
        "scalp_erythema",
        "scalp_induration",
        "scalp_desquamation",
        "scalp_area",
    ]
    assert "scalp_area=7 is outside 0–6" in str(info.value)


def test_float_grade_refused():
    with pytest.raises(ValidationError, match=r"scalp_erythema=3\.5 is not an integer"):
        pssi(PssiInput(3.5, 1, 1, 1))  # type: ignore[arg-type]


grade = st.integers(0, 4)


@given(grade, grade, grade, st.integers(0, 6))
def test_total_in_range_and_product(e, i, d, a):
    result = pssi(PssiInput(e, i, d, a))
    assert result.total == (e + i + d) * a
    assert 0 <= result.total <= 72
