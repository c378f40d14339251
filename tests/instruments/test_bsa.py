"""BSA: percentages, handprints (hand 1 %, palm 0.5 %), NPF/AAD bands at each edge, strict types."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.bsa import bsa, bsa_from_handprints, bsa_severity
from psotrack.instruments.severity import BSA_NPF_AAD, PASI_BANDS_10_20


@pytest.mark.parametrize(
    ("percent", "band"),
    # NPF/AAD (reference instruments.md): mild < 3, moderate 3–10 (both edges), severe > 10
    [
        (0, "mild"),
        (2.9, "mild"),
        (3, "moderate"),
        (10, "moderate"),
        (10.1, "severe"),
        (100, "severe"),
        (Decimal("2.99"), "mild"),
    ],
)
def test_bsa_bands_at_npf_aad_edges(percent, band):
    result = bsa(percent)
    assert result.category == band
    assert result.severity.rule == BSA_NPF_AAD.name


def test_bsa_keeps_the_typed_decimal():
    # 2.9 as a float would be 2.899999…; exact() reads it as typed
    assert bsa(2.9).percent == Decimal("2.9")
    assert str(bsa(12.5)) == "12.5 %"


@pytest.mark.parametrize(
    ("count", "unit", "percent"),
    # hand computed: hand × 1 %, palm × 0.5 %
    [
        (8, "hand", Decimal(8)),
        (7, "palm", Decimal("3.5")),
        (2.5, "hand", Decimal("2.5")),
        (0, "palm", Decimal(0)),
        (200, "palm", Decimal(100)),
        (5, "palm", Decimal("2.5")),
    ],
)
def test_bsa_from_handprints(count, unit, percent):
    result = bsa_from_handprints(count, unit=unit)
    assert result.percent == percent
    assert result.unit == unit
    assert result.summary()[0]["measured_as"] == f"{result.handprints} × {unit}"


def test_handprints_band_edge_six_palms_is_moderate():
    # hand computed: 6 palms × 0.5 % = 3.0 % → moderate (3 is the lower edge of moderate)
    assert bsa_from_handprints(6, unit="palm").category == "moderate"
    assert bsa_from_handprints(5.8, unit="palm").category == "mild"  # 2.9 %


@pytest.mark.parametrize("value", [True, "3", None, float("nan"), float("inf"), Decimal("NaN")])
def test_bsa_refuses_non_numbers(value):
    with pytest.raises(ValidationError) as info:
        bsa(value)
    assert info.value.field == "bsa"
    assert info.value.problems[0].kind == "type"


@pytest.mark.parametrize("value", [-0.1, 100.1, 101])
def test_bsa_out_of_range(value):
    with pytest.raises(ValidationError, match=r"bsa=.* is outside 0–100"):
        bsa(value)


def test_handprints_too_many_and_bad_unit_listed_together():
    with pytest.raises(ValidationError) as info:
        bsa_from_handprints(101, unit="hand")
    assert "handprints=101 is outside 0–100" in str(info.value)
    with pytest.raises(ValidationError) as info:
        bsa_from_handprints(True, unit="foot")  # type: ignore[arg-type]
    fields = [p.field for p in info.value.problems]
    assert fields == ["unit", "handprints"]


def test_bsa_refuses_a_pasi_rule():
    with pytest.raises(ValidationError, match="rule"):
        bsa(5, rule=PASI_BANDS_10_20)


def test_bsa_severity_shortcut():
    assert [bsa_severity(p).category for p in (2.9, 3, 10, 10.1)] == [
        "mild",
        "moderate",
        "moderate",
        "severe",
    ]


@given(st.decimals(min_value=0, max_value=200, places=1), st.sampled_from(["hand", "palm"]))
def test_handprint_percent_is_exact_product_and_within_range(count, unit):
    per = Decimal(1) if unit == "hand" else Decimal("0.5")
    if count * per > 100:
        with pytest.raises(ValidationError):
            bsa_from_handprints(count, unit=unit)
        return
    result = bsa_from_handprints(count, unit=unit)
    assert result.percent == count * per
    assert 0 <= result.percent <= 100
