"""TPSS: one named plaque's E + I + scaling (0–12), with its size kept exactly."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.tpss import TpssInput, tpss


def test_known_total_with_size():
    # hand computed: 3 + 2 + 2 = 7
    result = tpss(TpssInput(" left elbow ", 3, 2, 2, diameter_mm=35, area_cm2=9.6))
    assert result.total == 7
    assert result.site == "left elbow"
    assert result.diameter_mm == Decimal(35) and result.area_cm2 == Decimal("9.6")
    assert result.summary()[0]["area_cm2"] == "9.6"


def test_extremes():
    assert tpss(TpssInput("knee", 4, 4, 4)).total == 12
    assert tpss(TpssInput("knee", 0, 0, 0)).total == 0


def test_every_problem_listed():
    with pytest.raises(ValidationError) as info:
        tpss(TpssInput("  ", 5, True, 3.5, diameter_mm=-1, area_cm2=float("nan")))  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == [
        "site",
        "erythema",
        "induration",
        "scaling",
        "diameter_mm",
        "area_cm2",
    ]
    assert "erythema=5 is outside 0–4" in str(info.value)


def test_size_limits():
    with pytest.raises(ValidationError, match="diameter_mm=2001 is outside 0–2000"):
        tpss(TpssInput("shin", 1, 1, 1, diameter_mm=2001))
    with pytest.raises(ValidationError, match="area_cm2='9' is not a number"):
        tpss(TpssInput("shin", 1, 1, 1, area_cm2="9"))  # type: ignore[arg-type]


grade = st.integers(0, 4)


@given(grade, grade, grade)
def test_total_in_range(e, i, s):
    assert 0 <= tpss(TpssInput("scalp", e, i, s)).total == e + i + s <= 12
