"""DLQI answers given as a list (the CLI and the scoring service): ten, in order, or one clear line.

Pinned after the mutation run (docs/mutation.md): the field name, the rejected value and the
wording of the two refusals, and that each answer lands on its own question.
"""

import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.dlqi import DlqiAnswer, DlqiInput, Q7Answer, dlqi

A = DlqiAnswer
VM, AL, LI, NO = A.VERY_MUCH, A.A_LOT, A.A_LITTLE, A.NOT_AT_ALL


def test_each_answer_lands_on_its_question():
    answers = [VM, AL, LI, NO, VM, AL, Q7Answer.NO_A_LITTLE, LI, NO, VM]
    form = DlqiInput.from_answers(answers)
    assert [item for _, item in form.items()] == answers
    assert [number for number, _ in form.items()] == list(range(1, 11))
    # 3+2+1+0+3+2 + Q7 "no, a little" 1 + 1+0+3 = 16
    assert dlqi(form).total == 16
    assert DlqiInput.from_answers(tuple(answers)) == form


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("abcdefghij", "answers='abcdefghij' is not a sequence of 10 answers"),
        (b"abcdefghij", "answers=b'abcdefghij' is not a sequence of 10 answers"),
        (5, "answers=5 is not a sequence of 10 answers"),
        (None, "answers=None is not a sequence of 10 answers"),
        ({}, "answers={} is not a sequence of 10 answers"),
    ],
)
def test_something_that_is_not_a_list_of_answers_is_refused(answers, message):
    with pytest.raises(ValidationError) as info:
        DlqiInput.from_answers(answers)
    assert str(info.value) == message
    assert (info.value.field, info.value.problems[0].kind) == ("answers", "type")


@pytest.mark.parametrize("count", [0, 9, 11])
def test_a_list_of_other_than_ten_answers_is_refused(count):
    with pytest.raises(ValidationError) as info:
        DlqiInput.from_answers([NO] * count)
    assert str(info.value) == f"answers={count}: 10 answers, one per question"
    assert (info.value.field, info.value.value) == ("answers", count)
    assert info.value.problems[0].kind == "invalid"
