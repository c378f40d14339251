"""Severity: rule of tens, PASI bands (10–20 and single cut), BSA bands, custom rules, names."""

import doctest
import importlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.severity import (
    BSA_NPF_AAD,
    PASI_BANDS_10_20,
    PASI_SINGLE_CUT_10,
    RULE_OF_TENS,
    SeverityRule,
    classify_severity,
    rule_of_tens,
)


@pytest.mark.parametrize(
    ("pasi", "band"),
    # bands mild < 10 / moderate 10–20 / severe > 20 (reference instruments.md)
    [
        (0, "mild"),
        (9.9, "mild"),
        (10, "moderate"),
        (20, "moderate"),
        (20.1, "severe"),
        (72, "severe"),
    ],
)
def test_pasi_bands_10_20(pasi, band):
    result = PASI_BANDS_10_20.classify(pasi)
    assert result.category == band and result.rule == PASI_BANDS_10_20.name


@pytest.mark.parametrize(
    ("pasi", "band"), [(10, "mild"), (Decimal("10.0"), "mild"), (10.1, "moderate-to-severe")]
)
def test_pasi_single_cut_10(pasi, band):
    assert PASI_SINGLE_CUT_10.classify(pasi).category == band


def test_bsa_rule_edges():
    assert [BSA_NPF_AAD.classify(p).category for p in (2.9, 3, 10, 10.1)] == [
        "mild",
        "moderate",
        "moderate",
        "severe",
    ]
    assert BSA_NPF_AAD.describe() == "mild: < 3; moderate: ≤ 10; severe: above 10"


def test_classify_refuses_out_of_range_and_types():
    with pytest.raises(ValidationError, match=r"pasi=72.1 is outside 0–72"):
        PASI_BANDS_10_20.classify(72.1)
    with pytest.raises(ValidationError, match="pasi=True is not a number"):
        PASI_BANDS_10_20.classify(True)


@pytest.mark.parametrize(
    ("bsa", "pasi", "dlqi", "category"),
    # Finlay 2005: severe if BSA > 10 or PASI > 10 or DLQI > 10
    [
        (10, 10, 10, "not severe"),
        (10.1, 0, 0, "severe"),
        (0, 10.1, 0, "severe"),
        (0, 0, 11, "severe"),
        (3, 4, None, "undetermined"),
        (None, 12, None, "severe"),
    ],
)
def test_rule_of_tens(bsa, pasi, dlqi, category):
    result = rule_of_tens(bsa=bsa, pasi=pasi, dlqi=dlqi)
    assert result.category == category
    assert result.rule == RULE_OF_TENS


def test_rule_of_tens_says_why_and_what_is_missing():
    result = rule_of_tens(pasi=12, dlqi=3)
    assert result.reason == "PASI 12 > 10" and result.missing == ("bsa",)
    assert "bsa not given" in rule_of_tens(pasi=3, dlqi=3).reason


def test_rule_of_tens_lists_every_problem():
    with pytest.raises(ValidationError) as info:
        rule_of_tens(bsa=101, pasi="3", dlqi=3.5)  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == ["bsa", "pasi", "dlqi"]
    with pytest.raises(ValidationError, match="give at least one"):
        rule_of_tens()


def test_classify_severity_reports_each_rule():
    report = classify_severity(pasi=12, bsa=2.9, dlqi=3)
    assert [(r.rule, r.category) for r in report.results] == [
        (RULE_OF_TENS, "severe"),
        (PASI_BANDS_10_20.name, "moderate"),
        (BSA_NPF_AAD.name, "mild"),
    ]
    single = classify_severity(pasi=12, pasi_rule=PASI_SINGLE_CUT_10)
    assert single.results[1].category == "moderate-to-severe"
    assert len(report.summary()) == 3


def test_classify_severity_does_not_repeat_a_problem():
    with pytest.raises(ValidationError) as info:
        classify_severity(pasi=80, bsa=-1)
    assert [p.field for p in info.value.problems] == ["bsa", "pasi"]


def test_custom_rule_and_its_checks():
    rule = SeverityRule.from_cuts(
        "PASI 5/12", "PASI", (0, 72), [("low", 5, False), ("mid", 12, True), ("high", None, True)]
    )
    assert [rule.classify(v).category for v in (4.9, 5, 12, 12.1)] == ["low", "mid", "mid", "high"]
    with pytest.raises(ValidationError) as info:
        SeverityRule.from_cuts("bad", "PASI", (0, 72), [("a", 20, True), ("b", 10, True)])
    assert "band edges must increase" in str(info.value)
    assert "last band must be open-ended" in str(info.value)


def test_equal_band_edges_make_a_band_of_one_value():
    # Edges must not decrease; an equal edge is allowed: "< 10" then "≤ 10" leaves a band that
    # holds exactly 10 (a rule that treats the cut value on its own).
    rule = SeverityRule.from_cuts(
        "PASI at 10",
        "PASI",
        (0, 72),
        [("below", 10, False), ("at", 10, True), ("above", None, True)],
    )
    assert [rule.classify(v).category for v in (9.9, 10, 10.1)] == ["below", "at", "above"]
    assert rule.describe() == "below: < 10; at: ≤ 10; above: above 10"


def test_rule_of_tens_accepts_the_top_of_each_scale_and_nothing_above():
    # PASI runs 0–72 and DLQI 0–30: the maxima are valid, one tenth or one point above is not.
    assert rule_of_tens(pasi=72).category == "severe"
    assert rule_of_tens(dlqi=30).category == "severe"
    assert rule_of_tens(bsa=100).category == "severe"
    with pytest.raises(ValidationError) as info:
        rule_of_tens(bsa=100.1, pasi=72.1, dlqi=31)
    assert [str(p) for p in info.value.problems] == [
        "bsa=100.1 is outside 0–100 (BSA)",
        "pasi=72.1 is outside 0–72 (PASI)",
        "dlqi=31 is outside 0–30 (a DLQI total)",
    ]


@given(st.decimals(min_value=0, max_value=72, places=1))
def test_every_pasi_gets_exactly_one_band(pasi):
    category = PASI_BANDS_10_20.classify(pasi).category
    expected = "mild" if pasi < 10 else "moderate" if pasi <= 20 else "severe"
    assert category == expected


@pytest.mark.parametrize(
    "name", ["bsa", "dlqi", "itch", "napsi", "pga", "pssi", "severity", "tpss"]
)
def test_docstring_examples_hold(name):
    # the package re-exports functions named like their modules, so import the module itself
    result = doctest.testmod(importlib.import_module(f"psotrack.instruments.{name}"))
    assert result.attempted > 0 and result.failed == 0
