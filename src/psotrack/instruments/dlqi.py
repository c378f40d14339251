"""DLQI, the Dermatology Life Quality Index: ten answers scored 0–3 into a total 0–30 with bands.

Sources: Finlay AY, Khan GK. Dermatology Life Quality Index (DLQI) — a simple practical measure
for routine clinical use. Clin Exp Dermatol 1994;19:210–216, and the authors' published scoring
instructions (Cardiff University, Department of Dermatology, "DLQI Instructions for use and
scoring", with the DLQI FAQ "How do you handle missing data from DLQI?",
https://www.cardiff.ac.uk/dermatology/quality-of-life/dermatology-quality-of-life-index-dlqi/dlqi-instructions-for-use-and-scoring/
); bands: Hongbo Y et al. J Invest Dermatol 2005;125:659–664; minimal
clinically important difference 4 points: Basra MKA et al. Dermatology 2015;230:27–33.

Copyright: the DLQI is © A. Y. Finlay, G. K. Khan, April 1992. psotrack ships the scoring only —
item numbers and short neutral labels, never the question wording.

Scoring: very much 3, a lot 2, a little 1, not at all 0, not relevant 0. Question 7: "yes" 3;
"no" then a lot 2, a little 1, not at all 0. Question 7 answered "no" with its second half (the
follow-up) left incomplete scores 0: the instructions say the score then remains 0, so the item is
answered, not missing. One unanswered question is scored 0; two or more make the questionnaire
invalid (not scored). Two answers ticked for one question: the higher scores.

psotrack's choices, where the instructions are silent:
- An invalid questionnaire is a result (``valid=False``, ``total=None``, ``invalid_reason``), not
  an exception: it is what the patient returned. Wrong types or impossible answers raise
  :class:`~psotrack.errors.ValidationError`.
- "Not relevant" is offered on the form for questions 3–10 only; on question 1 or 2 it is refused.
- Question 7 "no" with the follow-up blank keeps a note on its item saying that it was scored 0
  by that rule, so a reader sees where the 0 came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum
from functools import cache
from operator import attrgetter
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import integer_problem

DLQI_MAX: Final = 30
#: A change of at least 4 points is the minimal clinically important difference (Basra 2015).
DLQI_MCID: Final = 4
COPYRIGHT: Final = "© Dermatology Life Quality Index. A Y Finlay, G K Khan, April 1992"


class DlqiAnswer(Enum):
    """An answer to questions 1–6 and 8–10."""

    VERY_MUCH = "very much"
    A_LOT = "a lot"
    A_LITTLE = "a little"
    NOT_AT_ALL = "not at all"
    NOT_RELEVANT = "not relevant"

    @property
    def points(self) -> int:
        return _ANSWER_POINTS[self]


class Q7Answer(Enum):
    """An answer to question 7 (work or study): "yes", or "no" with its follow-up."""

    YES = "yes"
    NO_A_LOT = "no, a lot"
    NO_A_LITTLE = "no, a little"
    NO_NOT_AT_ALL = "no, not at all"
    NO_FOLLOW_UP_BLANK = "no, follow-up blank"
    NOT_RELEVANT = "not relevant"

    @property
    def points(self) -> int:
        """3 / 2 / 1 / 0 / 0; "no" with the follow-up blank also 0 (the authors' instructions)."""
        return _Q7_POINTS[self]


_ANSWER_POINTS: Final = {
    DlqiAnswer.VERY_MUCH: 3,
    DlqiAnswer.A_LOT: 2,
    DlqiAnswer.A_LITTLE: 1,
    DlqiAnswer.NOT_AT_ALL: 0,
    DlqiAnswer.NOT_RELEVANT: 0,
}
_Q7_POINTS: Final[dict[Q7Answer, int]] = {
    Q7Answer.YES: 3,
    Q7Answer.NO_A_LOT: 2,
    Q7Answer.NO_A_LITTLE: 1,
    Q7Answer.NO_NOT_AT_ALL: 0,
    # "If question 7 is answered 'no' but the second half is left incomplete, the score
    # remains 0" (the authors' scoring instructions): answered, not a missing item.
    Q7Answer.NO_FOLLOW_UP_BLANK: 0,
    Q7Answer.NOT_RELEVANT: 0,
}

#: One answer, two ticked answers (the higher scores), or None when the question was left blank.
Item = DlqiAnswer | tuple[DlqiAnswer, DlqiAnswer] | None
Q7Item = Q7Answer | tuple[Q7Answer, Q7Answer] | None

#: Short neutral labels (not the copyrighted wording), by item number.
ITEM_LABELS: Final = {
    1: "skin symptoms",
    2: "self-consciousness",
    3: "shopping and home",
    4: "clothing",
    5: "social and leisure",
    6: "sport",
    7: "work or study",
    8: "close relationships",
    9: "sexual life",
    10: "treatment burden",
}
#: Subscales (name, item numbers); each item is worth at most 3.
SUBSCALES: Final = (
    ("symptoms and feelings", (1, 2)),
    ("daily activities", (3, 4)),
    ("leisure", (5, 6)),
    ("work and school", (7,)),
    ("personal relationships", (8, 9)),
    ("treatment", (10,)),
)
#: Bands of the total (Hongbo 2005): (lowest, highest, meaning).
BANDS: Final = (
    (0, 1, "no effect on patient's life"),
    (2, 5, "small effect"),
    (6, 10, "moderate effect"),
    (11, 20, "very large effect"),
    (21, 30, "extremely large effect"),
)
_NO_NOT_RELEVANT: Final = (1, 2)


@dataclass(frozen=True)
class DlqiInput:
    """The ten answers as returned: an answer, a pair of ticked answers, or None (blank)."""

    q1: Item = None
    q2: Item = None
    q3: Item = None
    q4: Item = None
    q5: Item = None
    q6: Item = None
    q7: Q7Item = None
    q8: Item = None
    q9: Item = None
    q10: Item = None

    @classmethod
    def from_answers(cls, answers: Sequence[Item | Q7Item]) -> DlqiInput:
        """Build from ten answers in question order (the seventh is a :class:`Q7Answer`)."""
        if not isinstance(answers, list | tuple) and (
            not isinstance(answers, Sequence) or isinstance(answers, str | bytes)
        ):
            raise ValidationError("answers", answers, "a sequence of 10 answers", kind="type")
        if len(answers) != 10:
            raise ValidationError(
                "answers", len(answers), "10 answers, one per question", kind="invalid"
            )
        return cls(*answers)  # each item is checked in problems()

    def items(self) -> tuple[tuple[int, Item | Q7Item], ...]:
        """(question number, item) pairs in question order."""
        return tuple(enumerate(_ANSWERS_OF(self), start=1))

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for number, item in self.items():
            found.extend(_item_problems(number, item))
        return found


#: The fields of :class:`DlqiInput` in question order (read once, not per questionnaire).
_QUESTIONS: Final = tuple(f.name for f in fields(DlqiInput))
_ANSWERS_OF: Final = attrgetter(*_QUESTIONS)


def _item_problems(number: int, item: object) -> list[Problem]:
    kind: type[Enum] = Q7Answer if number == 7 else DlqiAnswer
    field = f"q{number}"
    if item is None or isinstance(item, kind):
        answers: tuple[object, ...] = (item,)
    elif isinstance(item, tuple) and len(item) == 2 and all(isinstance(a, kind) for a in item):
        answers = item
    else:
        allowed = f"a {kind.__name__}, a pair of them (two ticked) or None (blank)"
        return [Problem(field, item, allowed, kind="type")]
    if number in _NO_NOT_RELEVANT and DlqiAnswer.NOT_RELEVANT in answers:
        return [
            Problem(
                field,
                "not relevant",
                "not offered on the form for questions 1 and 2",
                kind="invalid",
            )
        ]
    return []


@dataclass(frozen=True)
class DlqiItemScore:
    """How one question was scored: points (None when blank) and a note on any rule applied."""

    number: int
    label: str
    answer: str
    points: int | None
    note: str = ""


@dataclass(frozen=True)
class DlqiSubscale:
    name: str
    items: tuple[int, ...]
    score: int
    maximum: int


@dataclass(frozen=True)
class DlqiResult:
    """A scored DLQI. ``valid`` is False (and ``total`` None) when two or more items are blank."""

    valid: bool
    total: int | None
    items: tuple[DlqiItemScore, ...]
    unanswered: tuple[int, ...]
    invalid_reason: str | None = None

    @property
    def band(self) -> str | None:
        """The meaning of the total (Hongbo 2005), or None when not scored."""
        return None if self.total is None else dlqi_band(self.total)

    @property
    def subscales(self) -> tuple[DlqiSubscale, ...]:
        """The six subscales; empty when the questionnaire is invalid."""
        if not self.valid:
            return ()
        points = {i.number: i.points or 0 for i in self.items}
        return tuple(
            DlqiSubscale(name, numbers, sum(points[n] for n in numbers), 3 * len(numbers))
            for name, numbers in SUBSCALES
        )

    def __str__(self) -> str:
        if self.total is None:
            return f"not scored: {self.invalid_reason}"
        return f"{self.total} ({self.band})"

    def summary(self) -> list[dict[str, object]]:
        """One row per item, then the total (or why it was not scored)."""
        rows: list[dict[str, object]] = [
            {
                "item": i.number,
                "label": i.label,
                "answer": i.answer,
                "points": "" if i.points is None else i.points,
                "note": i.note,
            }
            for i in self.items
        ]
        rows.append(
            {
                "item": "total",
                "label": "DLQI 0–30",
                "answer": "",
                "points": "" if self.total is None else self.total,
                "note": self.band if self.valid else f"invalid: {self.invalid_reason}",
            }
        )
        return rows


@cache  # a checked item is an answer, a pair or None: a few hundred (number, item) in all
def _score_item(number: int, item: Item | Q7Item) -> DlqiItemScore:
    label = ITEM_LABELS[number]
    if item is None:
        return DlqiItemScore(number, label, "blank", None, "unanswered")
    answers = item if isinstance(item, tuple) else (item,)
    text = " + ".join(a.value for a in answers)
    scored = [a.points for a in answers]
    note = "two answers ticked: the higher scored" if len(answers) == 2 else ""
    if any(a.value == "not relevant" for a in answers) and max(scored) == 0:
        note = note or "not relevant: scored 0"
    if Q7Answer.NO_FOLLOW_UP_BLANK in answers and max(scored) == 0:
        note = note or "no, follow-up blank: scored 0 (authors' scoring instructions)"
    return DlqiItemScore(number, label, text, max(scored), note)


def dlqi(answers: DlqiInput) -> DlqiResult:
    """Score a DLQI by the published rules (see the module docstring for psotrack's choices).

    >>> a = DlqiAnswer
    >>> r = dlqi(DlqiInput(a.A_LOT, a.A_LITTLE, a.NOT_AT_ALL, a.NOT_RELEVANT, a.VERY_MUCH,
    ...                    a.A_LITTLE, Q7Answer.NO_A_LOT, a.NOT_AT_ALL, None, a.A_LITTLE))
    >>> (r.total, r.band, r.unanswered)
    (10, 'moderate effect', (9,))
    """
    if not isinstance(answers, DlqiInput):
        raise ValidationError("dlqi", answers, "a DlqiInput", kind="type")
    problems = answers.problems()
    if problems:
        raise ValidationError(problems=problems)
    items = [_score_item(n, item) for n, item in answers.items()]
    blank = tuple(i.number for i in items if i.points is None)
    if len(blank) >= 2:
        reason = f"{len(blank)} questions unanswered ({', '.join(f'Q{n}' for n in blank)})"
        return DlqiResult(False, None, tuple(items), blank, reason + "; at most one allowed")
    if blank:
        n = blank[0] - 1
        items[n] = DlqiItemScore(
            items[n].number,
            items[n].label,
            items[n].answer,
            None,
            items[n].note + ": scored 0 (one blank question allowed)",
        )
    total = sum(i.points or 0 for i in items)
    return DlqiResult(True, total, tuple(items), blank)


def dlqi_band(total: int) -> str:
    """The meaning of a DLQI total (Hongbo 2005): 0–1 no effect … 21–30 extremely large.

    >>> [dlqi_band(t) for t in (1, 2, 5, 6, 10, 11, 20, 21)]  # doctest: +NORMALIZE_WHITESPACE
    ["no effect on patient's life", 'small effect', 'small effect', 'moderate effect',
     'moderate effect', 'very large effect', 'very large effect', 'extremely large effect']
    """
    problem = integer_problem("dlqi", total, 0, DLQI_MAX, "a DLQI total")
    if problem is not None:
        raise ValidationError(problems=[problem])
    return next(label for low, high, label in BANDS if low <= total <= high)


def _total(field: str, value: DlqiResult | int) -> tuple[int | None, Problem | None]:
    if isinstance(value, DlqiResult):
        if value.total is None:
            reason = f"an invalid DLQI has no total ({value.invalid_reason})"
            return None, Problem(field, "invalid DLQI", reason, kind="invalid")
        return value.total, None
    problem = integer_problem(field, value, 0, DLQI_MAX, "a DLQI total")
    return (None, problem) if problem is not None else (value, None)


def dlqi_0_1(value: DlqiResult | int) -> bool:
    """The "DLQI 0/1" endpoint: no effect of the skin on the patient's life (total ≤ 1)."""
    total, problem = _total("dlqi", value)
    if problem is not None:
        raise ValidationError(problems=[problem])
    return total is not None and total <= 1


@dataclass(frozen=True)
class DlqiChange:
    """Change from baseline; ``improvement`` = baseline − follow-up (positive = better)."""

    baseline: int
    follow_up: int

    @property
    def improvement(self) -> int:
        return self.baseline - self.follow_up

    @property
    def meaningful_improvement(self) -> bool:
        """At least the minimal clinically important difference (4 points) better."""
        return self.improvement >= DLQI_MCID

    @property
    def meaningful_worsening(self) -> bool:
        return -self.improvement >= DLQI_MCID


def dlqi_change(baseline: DlqiResult | int, follow_up: DlqiResult | int) -> DlqiChange:
    """Compare two DLQI totals against the 4-point MCID (Basra 2015).

    >>> dlqi_change(12, 8).meaningful_improvement, dlqi_change(12, 9).meaningful_improvement
    (True, False)
    """
    base, p1 = _total("baseline_dlqi", baseline)
    later, p2 = _total("follow_up_dlqi", follow_up)
    problems = [p for p in (p1, p2) if p is not None]
    if problems or base is None or later is None:
        raise ValidationError(problems=problems)
    return DlqiChange(base, later)
