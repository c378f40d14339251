"""Recording many visits and their assessments at once: the services' checks, bulk inserts.

An import of thousands of records cannot afford ``record_visit`` and ``record_assessment`` call
by call (each resolves the actor, re-reads the visit, and chains its own audit rows: about 15
statements per record). Here each visit is checked with the same payload model,
:class:`~psotrack.services.patients.VisitIn`, and each assessment arrives already checked and
scored by the instruments (:func:`~psotrack.services.assessments.score_entry`, once, when the
file was read); the rows and their audit entries are written with one multi-row INSERT per page
and kind (:func:`~psotrack.services.audit.insert_created`). The caller has resolved the actor
(``RECORD_CLINICAL``) in the same transaction.

Use it only for patients created in the same transaction with no administration: for them the
possible-flare check of ``store_assessment`` has no first dose to measure from and does nothing,
and no assessor is named, so the result is the same as entering each visit by hand. Everyone else
goes call by call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from psotrack.errors import Problem, ValidationError
from psotrack.interop.redcap_files import LocatedProblem
from psotrack.services.assessments import ScoredEntry
from psotrack.services.audit import insert_created
from psotrack.services.context import Actor, Permission
from psotrack.services.patients import VisitIn
from psotrack.services.payloads import parse_payload
from psotrack.store.models import Assessment, Visit


@dataclass(frozen=True)
class VisitEntry:
    """A visit to record: where it came from and the file's field names (for messages), its
    ``record_visit`` payload, and its assessments, scored."""

    where: str
    fields: Mapping[str, str]
    payload: Mapping[str, Any]
    assessments: Sequence[ScoredEntry] = ()


def record_visits_in_bulk(
    session: Session, actor: Actor, entries: Sequence[VisitEntry], problems: list[Problem]
) -> tuple[list[int | None], int]:
    """Check every visit as ``record_visit`` does; store the good ones and their assessments.

    The visits' ids in the order given (None for a refused one, its problems in ``problems``)
    and the number of assessments stored.
    """
    actor.require(Permission.RECORD_CLINICAL)
    checked: list[dict[str, Any] | None] = []
    for entry in entries:
        try:
            checked.append(parse_payload(VisitIn, entry.payload).model_dump())
        except ValidationError as exc:
            problems.extend(_located(entry.where, entry.fields, exc))
            checked.append(None)
    good = [values for values in checked if values is not None]
    made = iter(insert_created(session, actor, Visit, good))
    ids = [None if values is None else next(made) for values in checked]
    assessments = [
        {
            "visit_id": visit_id,
            "patient_id": values["patient_id"],
            "instrument": scored.instrument,
            "responses": scored.responses,
            "score": scored.scored.score,
            "score_value": scored.scored.score_value,
            "assessor_id": None,
        }
        for entry, values, visit_id in zip(entries, checked, ids, strict=True)
        if values is not None and visit_id is not None
        for scored in entry.assessments
    ]
    insert_created(session, actor, Assessment, assessments)
    return ids, len(assessments)


def _located(where: str, fields: Mapping[str, str], exc: ValidationError) -> list[Problem]:
    return [
        LocatedProblem(fields.get(p.field, p.field), p.value, p.allowed, p.kind, where=where)
        for p in exc.problems
    ]
