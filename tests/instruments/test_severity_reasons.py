"""The rule of tens says which measures it read, which were missing and why it decided.

Pinned after the mutation run (docs/mutation.md). Rule (Finlay 2005, reference instruments.md):
severe when BSA > 10 % or PASI > 10 or DLQI > 10; psotrack's "not severe" needs all three ≤ 10,
otherwise "undetermined".
"""

from decimal import Decimal

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.severity import RULE_OF_TENS, Band, SeverityRule, rule_of_tens


def test_severe_lists_every_measure_above_ten():
    result = rule_of_tens(bsa=12, pasi=11, dlqi=15)
    assert result.category == "severe"
    assert result.reason == "BSA 12 > 10, PASI 11 > 10, DLQI 15 > 10"
    assert result.values == (("BSA", Decimal(12)), ("PASI", Decimal(11)), ("DLQI", 15))
    assert result.missing == ()


def test_undetermined_names_what_was_not_given():
    result = rule_of_tens(bsa=2)
    assert (result.rule, result.category) == (RULE_OF_TENS, "undetermined")
    assert result.reason == "none of the given measures exceeds 10; pasi, dlqi not given"
    assert result.missing == ("pasi", "dlqi")
    assert rule_of_tens(pasi=3, bsa=4).missing == ("dlqi",)


def test_not_severe_needs_all_three_at_or_below_ten():
    result = rule_of_tens(bsa=10, pasi=10, dlqi=10)
    assert (result.category, result.reason) == ("not severe", "BSA, PASI and DLQI are all ≤ 10")
    assert result.values == (("BSA", Decimal(10)), ("PASI", Decimal(10)), ("DLQI", 10))


def test_refusal_lines():
    with pytest.raises(ValidationError) as info:
        rule_of_tens(dlqi=-1)
    assert str(info.value).startswith("dlqi=-1 is outside 0–")
    assert str(info.value).endswith(" (a DLQI total)")
    with pytest.raises(ValidationError) as info:
        rule_of_tens()
    assert str(info.value) == "bsa, pasi, dlqi is missing (give at least one)"
    assert (info.value.field, info.value.problems[0].kind) == ("bsa, pasi, dlqi", "missing")


def test_only_the_last_band_may_be_open_ended():
    with pytest.raises(ValidationError) as info:
        SeverityRule.from_cuts(
            "x", "PASI", (0, 72), [("a", None, True), ("b", 10, True), ("c", None, True)]
        )
    assert str(info.value) == "bands[0]='a': only the last band may be open-ended"
    assert (info.value.field, info.value.problems[0].kind) == ("bands[0]", "invalid")


def test_a_rule_without_a_source_has_an_empty_source():
    rule = SeverityRule.from_cuts("PASI 5", "PASI", (0, 72), [("a", 5, False), ("b", None, True)])
    assert rule.source == ""


def test_a_classification_records_the_value_and_the_bands_in_words():
    # PASI 20 is the included upper edge of "moderate" in the 10/20 bands
    result = SeverityRule.from_cuts(
        "PASI 10/20",
        "PASI",
        (0, 72),
        [("mild", 10, False), ("moderate", 20, True), ("severe", None, True)],
    ).classify(20)
    assert result.values == (("PASI", Decimal(20)),)
    assert result.reason == "PASI 20 → moderate (mild: < 10; moderate: ≤ 20; severe: above 20)"


def test_a_single_open_band_holds_any_value():
    rule = SeverityRule.from_cuts("one band", "PASI", (0, 72), [("any", None, True)])
    assert rule.describe() == "any: any value"
    assert rule.classify(3).reason == "PASI 3 → any (any: any value)"


def test_from_cuts_keeps_every_band_as_given():
    rule = SeverityRule.from_cuts(
        "PASI 5", "PASI", (0, 72), [("low", 5, False), ("high", None, False)], source="Smith 2020"
    )
    assert (rule.name, rule.measure, rule.low, rule.high, rule.source) == (
        "PASI 5",
        "PASI",
        Decimal(0),
        Decimal(72),
        "Smith 2020",
    )
    assert rule.bands == (Band("low", Decimal(5), False), Band("high", None, False))


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [("a", None, True), ("b", None, True), ("c", 10, True)],
            "bands[0]='a': only the last band may be open-ended; "
            "bands[1]='b': only the last band may be open-ended; "
            "bands='x': the last band must be open-ended (upper None)",
        ),
        ([("a", 80, True), ("b", None, True)], "bands[0].upper=80 is outside 0–72 (PASI)"),
        (
            [("a", 20, True), ("b", 10, True), ("c", None, True)],
            "bands[1].upper=10: band edges must increase",
        ),
        ([("a", 20, True)], "bands='x': the last band must be open-ended (upper None)"),
    ],
)
def test_from_cuts_refusal_lines(bands, message):
    with pytest.raises(ValidationError) as info:
        SeverityRule.from_cuts("x", "PASI", (0, 72), bands)
    assert str(info.value) == message
    kinds = {p.kind for p in info.value.problems}
    assert kinds == ({"range"} if "outside" in message else {"invalid"})


def test_every_band_edge_outside_the_range_is_named():
    with pytest.raises(ValidationError) as info:
        SeverityRule.from_cuts(
            "x", "PASI", (0, 72), [("a", 80, True), ("b", 90, True), ("c", None, True)]
        )
    assert [p.field for p in info.value.problems] == ["bands[0].upper", "bands[1].upper"]
