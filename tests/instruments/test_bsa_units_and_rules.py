"""BSA: the default handprint unit, a caller's own BSA rule, and the refusal lines.

Pinned after the mutation run (docs/mutation.md). Handprint sizes from the reference
(instruments.md): a whole hand ≈ 1 % of body surface, a palm alone ≈ 0.5 %.
"""

from decimal import Decimal

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.bsa import bsa, bsa_from_handprints, bsa_severity
from psotrack.instruments.severity import SeverityRule

# a rule of the caller's own: 5 % and above is "extensive" (edge included in the upper band)
FIVE_PERCENT = SeverityRule.from_cuts(
    "BSA 5 %", "BSA", (0, 100), [("limited", 5, False), ("extensive", None, True)]
)


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


def test_handprints_count_whole_hands_unless_told_otherwise():
    # 8 handprints × 1 % = 8 % (a palm would give 4 %)
    result = bsa_from_handprints(8)
    assert (result.percent, result.unit, result.handprints) == (Decimal(8), "hand", Decimal(8))


def test_the_callers_rule_is_used_everywhere():
    # 6 % is "moderate" under NPF/AAD but "extensive" under the 5 % rule; 10 palms = 5 % is on
    # the edge, which this rule puts in the upper band
    assert bsa(6, FIVE_PERCENT).category == "extensive"
    assert bsa(4.9, FIVE_PERCENT).category == "limited"
    assert bsa_severity(6, FIVE_PERCENT).rule == "BSA 5 %"
    from_palms = bsa_from_handprints(10, unit="palm", rule=FIVE_PERCENT)
    assert (from_palms.percent, from_palms.category) == (Decimal(5), "extensive")
    assert from_palms.severity.rule == "BSA 5 %"


def test_bsa_refusal_lines():
    assert (
        str(refusal(lambda: bsa(101))) == "bsa=101 is outside 0–100 (a percentage of body surface)"
    )
    pasi_rule = SeverityRule.from_cuts(
        "PASI 5", "PASI", (0, 72), [("a", 5, False), ("b", None, True)]
    )
    error = refusal(lambda: bsa(5, pasi_rule))
    assert str(error) == f"rule={pasi_rule} is not a SeverityRule over BSA"
    assert (error.field, error.value, error.problems[0].kind) == ("rule", pasi_rule, "type")


def test_unknown_unit_is_refused_with_the_count_checked_against_whole_hands():
    # an unknown unit is reported, and the count is still checked (against 100 hands = 100 %)
    error = refusal(lambda: bsa_from_handprints(150, unit="foot"))  # type: ignore[arg-type]
    assert str(error.problems[0]) == "unit='foot' is not 'hand' (≈ 1 %) or 'palm' (≈ 0.5 %)"
    assert str(error.problems[1]).startswith("handprints=150 is outside 0–100 (")
    assert [(p.field, p.kind) for p in error.problems] == [
        ("unit", "type"),
        ("handprints", "range"),
    ]
    # a unit that is not even a string (a list cannot be looked up) is the same clear line
    error = refusal(lambda: bsa_from_handprints(2, unit=["palm"]))  # type: ignore[arg-type]
    assert str(error) == "unit=['palm'] is not 'hand' (≈ 1 %) or 'palm' (≈ 0.5 %)"


def test_palm_count_is_bounded_by_200():
    # 200 palms × 0.5 % = 100 %: the most there can be
    assert bsa_from_handprints(200, unit="palm").percent == Decimal(100)
    error = refusal(lambda: bsa_from_handprints(201, unit="palm"))
    assert str(error) == "handprints=201 is outside 0–200 (palmprints (100 % at most))"
