"""What a role without access to identified records (a researcher) may read: coded values only.

Free text can name a person ("called Jane Doe at 555-0100"), so research views keep only coded
fields. Which columns are free text is decided in the schema (:func:`free_text_columns`: every
text or JSON column that is neither an enum nor marked coded), so a new column is hidden from
researchers until someone marks it coded. Assessment responses are a JSON mix of scores, coded
answers and free text (a TPSS ``site``, an import's file name): :func:`coded_responses` keeps
only numbers, booleans and answers from the instruments' closed lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from psotrack.instruments import DlqiAnswer, Q7Answer
from psotrack.store.models import Assessment, Base
from psotrack.store.models.base import free_text_columns

_Row = TypeVar("_Row", bound=Base)

#: Texts an instrument's responses may hold that come from a closed list (DLQI answers, BSA units).
CODED_ANSWERS: frozenset[str] = frozenset(
    {a.value for a in DlqiAnswer} | {a.value for a in Q7Answer} | {"hand", "palm"}
)
#: A number written as text (an imported total such as "12.3"): cannot name anyone.
_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def coded_responses(value: Any) -> Any:
    """``value`` with every text that is not a number or a coded answer left out.

    >>> coded_responses({"site": "left elbow, Jane's", "erythema": 2, "q1": "a lot"})
    {'erythema': 2, 'q1': 'a lot'}
    >>> coded_responses({"imported_total": "12.3", "source": "jane-doe.csv"})
    {'imported_total': '12.3'}
    """
    if isinstance(value, dict):
        kept = {key: coded_responses(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item is not _DROPPED}
    if isinstance(value, list):
        items = [coded_responses(item) for item in value]
        return [item if item is not _DROPPED else None for item in items]
    if isinstance(value, str):
        return value if value in CODED_ANSWERS or _NUMBER_TEXT.fullmatch(value) else _DROPPED
    return value


_DROPPED = object()


def research_copies(session: Session, rows: Iterable[_Row]) -> tuple[_Row, ...]:
    """Detached copies of ``rows`` with every free-text column emptied (stored rows untouched).

    An assessment keeps its coded responses (scores and closed-list answers).
    """
    copies = []
    for row in rows:
        session.expunge(row)
        for name in free_text_columns(type(row)):
            if isinstance(row, Assessment) and name == "responses":
                row.responses = coded_responses(row.responses)
            else:
                setattr(row, name, None)
        copies.append(row)
    return tuple(copies)
