"""Itch NRS: integer 0–10 and the 4-point meaningful reduction."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.itch import itch_change, itch_nrs


@pytest.mark.parametrize("score", [0, 4, 10])
def test_valid_scores(score):
    assert itch_nrs(score).score == score


@pytest.mark.parametrize("bad", [-1, 11, True, "3", 3.5, float("nan"), None])
def test_invalid_scores(bad):
    with pytest.raises(ValidationError) as info:
        itch_nrs(bad)
    assert info.value.field == "itch_nrs"


@pytest.mark.parametrize(
    ("baseline", "follow_up", "meaningful", "possible"),
    # hand computed: reduction = baseline − follow-up, meaningful at ≥ 4
    [
        (8, 4, True, True),
        (8, 5, False, True),
        (4, 0, True, True),
        (3, 0, False, False),
        (2, 9, False, False),
    ],
)
def test_meaningful_reduction(baseline, follow_up, meaningful, possible):
    change = itch_change(baseline, follow_up)
    assert change.reduction == baseline - follow_up
    assert change.meaningful_reduction is meaningful
    assert change.baseline_allows_response is possible


def test_change_lists_both_problems():
    with pytest.raises(ValidationError) as info:
        itch_change(11, True)
    assert [p.field for p in info.value.problems] == ["baseline_itch_nrs", "follow_up_itch_nrs"]


@given(st.integers(0, 10), st.integers(0, 10))
def test_reduction_within_range(baseline, follow_up):
    change = itch_change(baseline, follow_up)
    assert -10 <= change.reduction <= 10
    assert change.meaningful_reduction == (baseline - follow_up >= 4)
