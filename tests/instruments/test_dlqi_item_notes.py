"""How each DLQI item is shown: its label, the answer as ticked, the points and the note.

Pinned after the mutation run (docs/mutation.md). Scoring rules (Finlay & Khan 1994 and the
authors' instructions, reference instruments.md): two answers ticked → the higher is scored;
"not relevant" scores 0 and is not offered for questions 1 and 2; one blank question is scored 0,
two or more leave the DLQI unscored.
"""

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.dlqi import DlqiAnswer, DlqiInput, DlqiItemScore, Q7Answer, dlqi

A = DlqiAnswer
VM, AL, NO, NR = A.VERY_MUCH, A.A_LOT, A.NOT_AT_ALL, A.NOT_RELEVANT


def test_two_ticks_blank_and_zero_answers_are_each_described():
    # q1 very much + a lot → 3; q3 not relevant + not at all → 0; q7 yes → 3; q10 blank → 0
    # (the one blank allowed); total 6
    result = dlqi(
        DlqiInput(
            q1=(VM, AL), q2=NO, q3=(NR, NO), q4=NO, q5=NO, q6=NO, q7=Q7Answer.YES, q8=NO, q9=NO
        )
    )
    assert result.total == 6
    two = "two answers ticked: the higher scored"
    assert result.items[0] == DlqiItemScore(1, "skin symptoms", "very much + a lot", 3, two)
    assert result.items[1] == DlqiItemScore(2, "self-consciousness", "not at all", 0, "")
    assert result.items[2] == DlqiItemScore(
        3, "shopping and home", "not relevant + not at all", 0, two
    )
    assert result.items[6] == DlqiItemScore(7, "work or study", "yes", 3, "")
    blank = result.items[9]
    assert (blank.label, blank.answer, blank.points) == ("treatment burden", "blank", None)
    assert blank.note == "unanswered: scored 0 (one blank question allowed)"


def test_only_not_relevant_gets_the_not_relevant_note():
    result = dlqi(DlqiInput(NO, NO, NO, NO, NR, NO, Q7Answer.NO_NOT_AT_ALL, NO, NO, NO))
    assert [i.note for i in result.items] == [""] * 4 + ["not relevant: scored 0"] + [""] * 5


def test_blank_items_of_an_unscored_form_say_unanswered():
    # q8–q10 blank: three blanks, not scored; each blank keeps its label and says why
    result = dlqi(DlqiInput(NO, NO, NO, NO, NO, NO, Q7Answer.NO_NOT_AT_ALL))
    assert not result.valid
    assert result.items[7] == DlqiItemScore(8, "close relationships", "blank", None, "unanswered")
    assert result.invalid_reason == "3 questions unanswered (Q8, Q9, Q10); at most one allowed"
    assert str(result) == f"not scored: {result.invalid_reason}"


def test_anything_but_a_dlqi_input_is_refused():
    with pytest.raises(ValidationError) as info:
        dlqi([NO] * 10)  # type: ignore[arg-type]
    assert str(info.value).startswith("dlqi=[<DlqiAnswer.NOT_AT_ALL: 'not at all'>, ")
    assert str(info.value).endswith(" is not a DlqiInput")
    assert (info.value.field, info.value.value) == ("dlqi", [NO] * 10)
    assert info.value.problems[0].kind == "type"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            DlqiInput(q1=True),  # type: ignore[arg-type]
            "q1=True is not a DlqiAnswer, a pair of them (two ticked) or None (blank)",
        ),
        (
            DlqiInput(q7=AL),  # type: ignore[arg-type]
            "q7=DlqiAnswer.A_LOT is not a Q7Answer, a pair of them (two ticked) or None (blank)",
        ),
        (DlqiInput(q2=NR), "q2='not relevant': not offered on the form for questions 1 and 2"),
        (
            DlqiInput(q1=(NR, AL)),
            "q1='not relevant': not offered on the form for questions 1 and 2",
        ),
    ],
)
def test_item_refusal_lines(form, message):
    with pytest.raises(ValidationError) as info:
        dlqi(form)
    assert str(info.value) == message
    kind = "invalid" if "not offered" in message else "type"
    assert info.value.problems[0].kind == kind
