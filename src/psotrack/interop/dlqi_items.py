"""DLQI items coded as numbers 0–3 (trial files, CDISC QS ``DLQI101``–``DLQI110``) as answers.

Trial data sets and CDISC QS code each DLQI item as one number: 3/2/1/0 = very much / a lot /
a little / not at all ("not relevant" is coded 0 like "not at all": it scores 0). Question 7
(``DLQI107``) folds its two halves into one number: 3 = "yes, prevented work or study", and
2/1/0 = "no", then "a lot" / "a little" / "not at all" (instruments.md, DLQI). This module turns
such a cell — or a REDCap export of the same item as a choice label ("Very much", "Yes") — into
the answer text the instrument takes (:mod:`psotrack.services.scoring`, shape ``dlqi``), so that
:func:`psotrack.instruments.dlqi` recomputes the total from the items; a supplied total is only
ever compared with that, never stored.

>>> dlqi_answer(1, "3"), dlqi_answer(7, "3"), dlqi_answer(7, "1"), dlqi_answer(4, "Not relevant")
('very much', 'yes', 'no, a little', 'not relevant')
>>> dlqi_answer(2, " "), dlqi_answer(2, "4")
(None, Ellipsis)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Final

from psotrack.errors import Problem
from psotrack.instruments import DlqiAnswer, Q7Answer
from psotrack.number_text import parse_integer

#: CDISC QS item codes, question n ↔ ``DLQI1nn``.
ITEM_CODES: Final = tuple(f"DLQI{100 + n}" for n in range(1, 11))

_ANSWER_OF_CODE: Final = {
    3: DlqiAnswer.VERY_MUCH.value,
    2: DlqiAnswer.A_LOT.value,
    1: DlqiAnswer.A_LITTLE.value,
    0: DlqiAnswer.NOT_AT_ALL.value,
}
_Q7_OF_CODE: Final = {
    3: Q7Answer.YES.value,
    2: Q7Answer.NO_A_LOT.value,
    1: Q7Answer.NO_A_LITTLE.value,
    0: Q7Answer.NO_NOT_AT_ALL.value,
}
#: Labels a REDCap "labels" export may carry instead of the code (compared case-insensitively).
_LABELS: Final = {a.value: a.value for a in DlqiAnswer}
_Q7_LABELS: Final = {
    **{a.value: a.value for a in Q7Answer},
    "yes": Q7Answer.YES.value,
    "yes, prevented work or study": Q7Answer.YES.value,
}

ALLOWED: Final = "a DLQI item coded 0–3 (3 very much … 0 not at all), its answer, or blank"
ALLOWED_Q7: Final = "DLQI question 7 coded 0–3 (3 yes; 2/1/0 no, a lot/a little/not at all)"


def dlqi_answer(question: int, cell: str | None) -> str | EllipsisType | None:
    """The answer text of one item cell: ``None`` when blank, ``...`` when unreadable."""
    if cell is None or not cell.strip():
        return None
    code = parse_integer(cell)
    if code is not None:
        table = _Q7_OF_CODE if question == 7 else _ANSWER_OF_CODE
        return table.get(code, ...)
    labels = _Q7_LABELS if question == 7 else _LABELS
    return labels.get(cell.strip().lower(), ...)


def dlqi_responses(
    cells: Sequence[str | None], fields: Sequence[str]
) -> tuple[dict[str, str | None], list[Problem]]:
    """The ``dlqi`` responses (``q1``…``q10``) of ten item cells, and a problem per bad cell.

    ``fields`` names the ten cells as the file does (``DLQI101`` or ``dlqi_q1``), for messages.
    """
    responses: dict[str, str | None] = {}
    problems: list[Problem] = []
    for question, (cell, name) in enumerate(zip(cells, fields, strict=True), start=1):
        answer = dlqi_answer(question, cell)
        if answer is ...:
            allowed = ALLOWED_Q7 if question == 7 else ALLOWED
            problems.append(Problem(name, cell, allowed, kind="type"))
            answer = None
        responses[f"q{question}"] = answer
    return responses, problems


def item_cells(row: Mapping[str, str | None], fields: Sequence[str]) -> list[str | None]:
    """The ten item cells of a row, in question order (absent columns read as blank)."""
    return [row.get(name) for name in fields]
