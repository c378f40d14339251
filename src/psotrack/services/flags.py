"""Safety flags: raised by services at the moment something worrying is recorded, then listed.

A flag is stored in the same transaction as the record that raised it, with an audit row, so a
flag never exists without its cause nor a cause without its flag. Each flag carries two
messages: the care team's (which may quote free text, such as the verbatim adverse-event term)
and one built from coded values only, which is all a researcher is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.services.audit import audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.payloads import require_id
from psotrack.store.models import Patient, SafetyFlag
from psotrack.store.vocabulary import FlagKind


def raise_flag(
    session: Session,
    actor: Actor,
    *,
    patient_id: int,
    kind: FlagKind,
    entity: str,
    entity_id: int,
    message: str,
    coded_message: str,
    due_date: date | None = None,
) -> SafetyFlag:
    """Store one flag (and its audit rows) inside the caller's transaction.

    ``coded_message`` must be built from coded values only (codes, numbers, dates): it is what
    researchers read.
    """
    flag = SafetyFlag(
        patient_id=patient_id,
        kind=kind,
        entity=entity,
        entity_id=entity_id,
        message=message,
        coded_message=coded_message,
        due_date=due_date,
    )
    session.add(flag)
    audit_created(session, actor, flag)
    return flag


@dataclass(frozen=True)
class Alert:
    """A flag as a list shows it; ``patient_id`` (the internal id) is ``None`` for a role without
    access to identified records, who find patients by ``research_id`` only."""

    id: int
    patient_id: int | None
    research_id: str
    kind: str
    message: str
    entity: str
    entity_id: int
    raised_at: datetime
    due_date: date | None
    acknowledged: bool


def list_alerts(
    db: Database, actor: Actor, *, include_acknowledged: bool = False, patient_id: int | None = None
) -> list[Alert]:
    """Flags of patients still on record, newest first; unacknowledged only unless asked.

    A role without access to identified records gets each flag's coded message and the
    patient's research id only.
    """
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        identified = actor.may(Permission.READ_IDENTIFIED)
        query = (
            select(SafetyFlag, Patient.research_id)
            .join(Patient, Patient.id == SafetyFlag.patient_id)
            .where(Patient.deleted_at.is_(None))
            .order_by(SafetyFlag.raised_at.desc(), SafetyFlag.id.desc())
        )
        if not include_acknowledged:
            query = query.where(SafetyFlag.acknowledged_at.is_(None))
        if patient_id is not None:
            query = query.where(SafetyFlag.patient_id == require_id("patient_id", patient_id))
        return [
            Alert(
                id=f.id,
                patient_id=f.patient_id if identified else None,
                research_id=research_id,
                kind=f.kind.value,
                message=f.message if identified else f.coded_message,
                entity=f.entity,
                entity_id=f.entity_id,
                raised_at=f.raised_at,
                due_date=f.due_date,
                acknowledged=f.acknowledged_at is not None,
            )
            for f, research_id in session.execute(query)
        ]
