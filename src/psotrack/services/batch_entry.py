"""Recording many visits and their assessments at once: the services' checks, one audit insert.

An import of thousands of records cannot afford ``record_visit`` and ``record_assessment`` call
by call (each resolves the actor, re-reads the visit, and chains its own audit rows: about 15
statements per record). Here the same payload models and the same scoring are used —
:class:`~psotrack.services.patients.VisitIn` and
:func:`~psotrack.services.assessments.read_assessment` (which scores with the instruments and
refuses a supplied score) — and the rows and their audit entries are written with one flush and
one multi-row INSERT per kind, as ``import assessments`` does. The caller has resolved the actor
(``RECORD_CLINICAL``) in the same transaction.

Use it only for patients created in the same transaction with no administration: for them the
possible-flare check of ``store_assessment`` has no first dose to measure from and does nothing,
so the result is the same as entering each visit by hand. Everyone else goes call by call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from psotrack.errors import Problem, ValidationError
from psotrack.interop.redcap_files import LocatedProblem
from psotrack.services.assessments import read_assessment
from psotrack.services.audit import audit_created_many
from psotrack.services.context import Actor, Permission
from psotrack.services.patients import VisitIn
from psotrack.services.payloads import parse_payload
from psotrack.store.models import Assessment, Visit

#: One thing to record: where it came from (for messages), the file's field names, the payload.
Entry = tuple[str, Mapping[str, str], Mapping[str, Any]]


def record_visits_in_bulk(
    session: Session, actor: Actor, entries: Sequence[Entry], problems: list[Problem]
) -> list[Visit | None]:
    """Check every visit as ``record_visit`` does, store the good ones with their audit rows."""
    actor.require(Permission.RECORD_CLINICAL)
    visits: list[Visit | None] = []
    for where, fields, payload in entries:
        try:
            visits.append(Visit(**parse_payload(VisitIn, payload).model_dump()))
        except ValidationError as exc:
            problems.extend(_located(where, fields, exc))
            visits.append(None)
    made = [visit for visit in visits if visit is not None]
    session.add_all(made)
    audit_created_many(session, actor, made)
    return visits


def record_assessments_in_bulk(
    session: Session, actor: Actor, entries: Sequence[Entry], problems: list[Problem]
) -> int:
    """Check and score every assessment as ``record_assessment`` does; store the good ones."""
    actor.require(Permission.RECORD_CLINICAL)
    rows: list[Assessment] = []
    patients = dict(
        session.query(Visit.id, Visit.patient_id).filter(
            Visit.id.in_([payload["visit_id"] for _, _, payload in entries])
        )
    )
    for where, fields, payload in entries:
        try:
            data, scored, responses = read_assessment(payload)
        except ValidationError as exc:
            problems.extend(_located(where, fields, exc))
            continue
        rows.append(
            Assessment(
                visit_id=data.visit_id,
                patient_id=patients[data.visit_id],
                instrument=data.instrument,
                responses=responses,
                score=scored.score,
                score_value=scored.score_value,
                assessor_id=None,
            )
        )
    session.add_all(rows)
    audit_created_many(session, actor, rows)
    return len(rows)


def _located(where: str, fields: Mapping[str, str], exc: ValidationError) -> list[Problem]:
    return [
        LocatedProblem(fields.get(p.field, p.field), p.value, p.allowed, p.kind, where=where)
        for p in exc.problems
    ]
