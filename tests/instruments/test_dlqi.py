"""DLQI: item scoring, question 7, not relevant, missing items, two ticks, bands, MCID, types."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.dlqi import (
    DlqiAnswer,
    DlqiInput,
    Q7Answer,
    dlqi,
    dlqi_0_1,
    dlqi_band,
    dlqi_change,
)

A = DlqiAnswer
VM, AL, LI, NO, NR = A.VERY_MUCH, A.A_LOT, A.A_LITTLE, A.NOT_AT_ALL, A.NOT_RELEVANT


def form(q7=Q7Answer.NO_NOT_AT_ALL, **others):
    """Every item 'not at all' unless given."""
    items = {f"q{n}": NO for n in range(1, 11) if n != 7}
    items.update(others)
    return DlqiInput(q7=q7, **items)


def test_worked_example_total_band_and_subscales():
    # hand computed: 3+2+1+0+0 (NR) +1 + Q7 no/a lot 2 + 3+0+1 = 13 → very large effect
    answers = DlqiInput(VM, AL, LI, NO, NR, LI, Q7Answer.NO_A_LOT, VM, NO, LI)
    result = dlqi(answers)
    assert result.valid and result.total == 13
    assert result.band == "very large effect"
    assert [(s.name, s.score, s.maximum) for s in result.subscales] == [
        ("symptoms and feelings", 5, 6),
        ("daily activities", 1, 6),
        ("leisure", 1, 6),
        ("work and school", 2, 3),
        ("personal relationships", 3, 6),
        ("treatment", 1, 3),
    ]
    assert result.summary()[-1]["points"] == 13


def test_all_very_much_and_yes_is_30():
    # hand computed: nine items × 3 + Q7 yes 3 = 30
    result = dlqi(DlqiInput(*([VM] * 6), Q7Answer.YES, VM, VM, VM))
    assert result.total == 30 and result.band == "extremely large effect"


@pytest.mark.parametrize(
    ("q7", "points"),
    # instructions: yes 3; no then a lot 2 / a little 1 / not at all 0; not relevant 0
    [
        (Q7Answer.YES, 3),
        (Q7Answer.NO_A_LOT, 2),
        (Q7Answer.NO_A_LITTLE, 1),
        (Q7Answer.NO_NOT_AT_ALL, 0),
        (Q7Answer.NO_FOLLOW_UP_BLANK, 0),
        (Q7Answer.NOT_RELEVANT, 0),
    ],
)
def test_question_7_scoring(q7, points):
    result = dlqi(form(q7=q7))
    assert result.total == points
    assert result.items[6].points == points


def test_question_7_no_with_blank_follow_up_scores_0_and_is_not_a_blank():
    # The authors' scoring instructions: question 7 answered "no" with the second half left
    # incomplete keeps the score 0; it is an answered item, so one other blank is still allowed.
    # Hand computed: q1 a lot 2 + q7 "no", follow-up blank 0 + q3 blank (0) + rest 0 = 2.
    result = dlqi(form(q7=Q7Answer.NO_FOLLOW_UP_BLANK, q1=AL, q3=None))
    assert result.valid and result.total == 2 and result.unanswered == (3,)
    assert result.items[6].points == 0
    assert result.items[6].note == "no, follow-up blank: scored 0 (authors' scoring instructions)"
    assert [(s.name, s.score) for s in result.subscales][3] == ("work and school", 0)
    # Two real blanks beside it still make the questionnaire invalid (and Q7 is not among them).
    invalid = dlqi(form(q7=Q7Answer.NO_FOLLOW_UP_BLANK, q3=None, q9=None))
    assert not invalid.valid and invalid.unanswered == (3, 9)
    # Ticked together with a follow-up answer, the higher scores: "no" + "a little" → 1.
    both = dlqi(form(q7=(Q7Answer.NO_FOLLOW_UP_BLANK, Q7Answer.NO_A_LITTLE)))
    assert both.total == 1 and both.items[6].note == "two answers ticked: the higher scored"


def test_not_relevant_scores_zero():
    result = dlqi(form(q3=NR, q4=NR, q10=NR, q1=LI))
    assert result.total == 1
    assert result.items[2].note == "not relevant: scored 0"


def test_no_item_missing_is_valid_with_nothing_flagged():
    result = dlqi(form(q1=AL))
    assert result.valid and result.unanswered == () and result.invalid_reason is None


def test_one_item_missing_is_scored_zero_and_flagged():
    # hand computed: q1 a lot 2 + q2 blank (0) + rest 0 = 2
    result = dlqi(form(q1=AL, q2=None))
    assert result.valid and result.total == 2
    assert result.unanswered == (2,)
    assert result.items[1].points is None
    assert "scored 0 (one blank question allowed)" in result.items[1].note
    assert result.subscales[0].score == 2


def test_two_items_missing_make_the_questionnaire_invalid():
    result = dlqi(form(q1=AL, q2=None, q9=None))
    assert not result.valid
    assert result.total is None and result.band is None and result.subscales == ()
    assert result.unanswered == (2, 9)
    assert "2 questions unanswered (Q2, Q9)" in (result.invalid_reason or "")
    assert str(result).startswith("not scored")
    with pytest.raises(ValidationError, match="invalid DLQI"):
        dlqi_0_1(result)


def test_all_blank_is_invalid():
    result = dlqi(DlqiInput())
    assert not result.valid and len(result.unanswered) == 10


def test_two_answers_ticked_score_the_higher():
    # instructions: two answers ticked → score the higher; here a little (1) + a lot (2) → 2
    result = dlqi(form(q5=(LI, AL), q7=(Q7Answer.NO_A_LITTLE, Q7Answer.YES), q8=(NR, NO)))
    assert result.items[4].points == 2
    assert result.items[6].points == 3
    assert result.items[7].points == 0
    assert result.total == 5
    assert "higher" in result.items[4].note


def test_not_relevant_refused_for_questions_1_and_2():
    with pytest.raises(ValidationError) as info:
        dlqi(form(q1=NR, q2=(NR, LI)))
    assert [p.field for p in info.value.problems] == ["q1", "q2"]
    assert "questions 1 and 2" in str(info.value)


@pytest.mark.parametrize("bad", [True, 3, "3", 3.5, float("nan"), (LI,), (LI, AL, VM), "a lot"])
def test_invalid_item_types_are_refused(bad):
    with pytest.raises(ValidationError) as info:
        dlqi(form(q4=bad))
    assert info.value.field == "q4" and info.value.problems[0].kind == "type"


def test_q7_must_use_q7_answers_and_every_problem_is_listed():
    with pytest.raises(ValidationError) as info:
        dlqi(DlqiInput(q1=True, q7=VM, q10=2))  # type: ignore[arg-type]
    assert [p.field for p in info.value.problems] == ["q1", "q7", "q10"]


def test_from_answers_needs_ten():
    assert dlqi(DlqiInput.from_answers([AL] * 6 + [Q7Answer.YES] + [NO] * 3)).total == 15
    with pytest.raises(ValidationError, match="10 answers"):
        DlqiInput.from_answers([AL] * 9)


@pytest.mark.parametrize(
    ("total", "band"),
    # Hongbo 2005 bands: 0–1, 2–5, 6–10, 11–20, 21–30
    [
        (0, "no effect on patient's life"),
        (1, "no effect on patient's life"),
        (2, "small effect"),
        (5, "small effect"),
        (6, "moderate effect"),
        (10, "moderate effect"),
        (11, "very large effect"),
        (20, "very large effect"),
        (21, "extremely large effect"),
        (30, "extremely large effect"),
    ],
)
def test_band_edges(total, band):
    assert dlqi_band(total) == band


@pytest.mark.parametrize("bad", [-1, 31, True, "5", 5.0])
def test_band_refuses_bad_totals(bad):
    with pytest.raises(ValidationError, match="dlqi="):
        dlqi_band(bad)


def test_dlqi_0_1_endpoint():
    assert dlqi_0_1(0) and dlqi_0_1(1) and not dlqi_0_1(2)
    assert dlqi_0_1(dlqi(form(q10=LI)))


@pytest.mark.parametrize(
    ("baseline", "follow_up", "better", "worse"),
    # Basra 2015: MCID 4 points; hand computed differences
    [
        (12, 8, True, False),
        (12, 9, False, False),
        (4, 0, True, False),
        (5, 9, False, True),
        (5, 8, False, False),
    ],
)
def test_mcid(baseline, follow_up, better, worse):
    change = dlqi_change(baseline, follow_up)
    assert change.improvement == baseline - follow_up
    assert change.meaningful_improvement is better
    assert change.meaningful_worsening is worse


def test_change_refuses_invalid_inputs_listing_both():
    with pytest.raises(ValidationError) as info:
        dlqi_change(31, dlqi(DlqiInput()))
    assert [p.field for p in info.value.problems] == ["baseline_dlqi", "follow_up_dlqi"]


item = st.one_of(
    st.none(),
    st.sampled_from(list(DlqiAnswer)),
    st.tuples(*[st.sampled_from(list(DlqiAnswer))] * 2),
)
q7_item = st.one_of(
    st.none(), st.sampled_from(list(Q7Answer)), st.tuples(*[st.sampled_from(list(Q7Answer))] * 2)
)
no_nr = st.one_of(st.none(), st.sampled_from([VM, AL, LI, NO]))


@given(st.tuples(no_nr, no_nr, item, item, item, item, q7_item, item, item, item))
def test_total_in_range_and_equals_subscales(answers):
    result = dlqi(DlqiInput(*answers))
    assert result.valid is (len(result.unanswered) <= 1)
    if result.valid:
        assert result.total is not None and 0 <= result.total <= 30
        assert sum(s.score for s in result.subscales) == result.total
    else:
        assert result.total is None
