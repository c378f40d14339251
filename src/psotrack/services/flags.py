"""Safety flags: raised by services at the moment something worrying is recorded, then listed.

A flag is stored in the same transaction as the record that raised it, with an audit row, so a
flag never exists without its cause nor a cause without its flag. Each flag carries two
messages: the care team's (which may quote free text, such as the verbatim adverse-event term)
and one built from coded values only, which is all a researcher is shown.

A flag's life (psotrack's choice): *open* when raised; *acknowledged* when a member of the care
team has seen it and it is in hand (:func:`acknowledge_alert`, with an optional note); *closed*
when it has been dealt with (:func:`close_alert`, with a required reason). Closing an open flag
acknowledges it too (nobody closes what they have not seen), so "unacknowledged" keeps meaning
"nobody has looked yet" everywhere open alerts are counted. Each step is audited; nothing is
deleted. The open list shows unacknowledged flags; ``include_acknowledged`` adds the ones in
hand; closed flags appear only with ``include_closed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import Conflict, NotFound, ValidationError
from psotrack.services.audit import audit_changed, audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.payloads import as_utc, require_id, require_reason
from psotrack.store.models import Patient, SafetyFlag
from psotrack.store.models.base import utcnow
from psotrack.store.vocabulary import FlagKind

#: The longest note an acknowledgement or a closing may carry.
NOTE_MAX: Final = 1000
#: How a list of alerts is ordered: newest raised first, or the oldest deadline first (flags
#: with a report due date first, earliest due first, then the others by when they were raised).
AlertOrder = Literal["newest", "deadline"]


def store_flag(session: Session, actor: Actor, flag: SafetyFlag) -> SafetyFlag:
    """Store a :func:`new_flag` and its audit rows inside the caller's transaction."""
    session.add(flag)
    audit_created(session, actor, flag)
    return flag


def new_flag(
    *,
    patient_id: int,
    kind: FlagKind,
    entity: str,
    entity_id: int,
    message: str,
    coded_message: str,
    due_date: date | None = None,
) -> SafetyFlag:
    """One open flag, not stored yet (:func:`store_flag` stores and audits it).

    ``coded_message`` must be built from coded values only (codes, numbers, dates): it is what
    researchers read.
    """
    return SafetyFlag(
        patient_id=patient_id,
        kind=kind,
        entity=entity,
        entity_id=entity_id,
        message=message,
        coded_message=coded_message,
        due_date=due_date,
    )


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
    closed: bool = False
    acknowledged_at: datetime | None = None
    #: The care team's notes (free text): empty for roles without identified access.
    acknowledged_note: str | None = None
    closed_note: str | None = None


def list_alerts(
    db: Database,
    actor: Actor,
    *,
    include_acknowledged: bool = False,
    patient_id: int | None = None,
    include_closed: bool = False,
    order: AlertOrder = "newest",
) -> list[Alert]:
    """Flags of patients still on record; unacknowledged (open) only unless asked.

    ``order``: ``"newest"`` raised first, or ``"deadline"`` (see :data:`AlertOrder`). A role
    without access to identified records gets each flag's coded message, no notes and the
    patient's research id only.
    """
    if order not in ("newest", "deadline"):
        raise ValidationError("order", order, "newest, or deadline", "invalid")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        identified = actor.may(Permission.READ_IDENTIFIED)
        query = (
            select(SafetyFlag, Patient.research_id)
            .join(Patient, Patient.id == SafetyFlag.patient_id)
            .where(Patient.deleted_at.is_(None))
        )
        if order == "deadline":
            query = query.order_by(
                SafetyFlag.due_date.is_(None),
                SafetyFlag.due_date,
                SafetyFlag.raised_at,
                SafetyFlag.id,
            )
        else:
            query = query.order_by(SafetyFlag.raised_at.desc(), SafetyFlag.id.desc())
        if not include_acknowledged and not include_closed:
            query = query.where(SafetyFlag.is_open)
        elif not include_acknowledged:
            query = query.where(SafetyFlag.acknowledged_at.is_(None))
        elif not include_closed:
            query = query.where(SafetyFlag.closed_at.is_(None))
        if patient_id is not None:
            query = query.where(SafetyFlag.patient_id == require_id("patient_id", patient_id))
        return [alert_of(f, research_id, identified) for f, research_id in session.execute(query)]


def alert_of(flag: SafetyFlag, research_id: str, identified: bool) -> Alert:
    """``flag`` as an alert list shows it; ``identified`` false: the coded message, no notes."""
    return Alert(
        id=flag.id,
        patient_id=flag.patient_id if identified else None,
        research_id=research_id,
        kind=flag.kind.value,
        message=flag.message if identified else flag.coded_message,
        entity=flag.entity,
        entity_id=flag.entity_id,
        raised_at=flag.raised_at,
        due_date=flag.due_date,
        acknowledged=flag.acknowledged_at is not None,
        closed=flag.closed_at is not None,
        acknowledged_at=flag.acknowledged_at,
        acknowledged_note=flag.acknowledged_note if identified else None,
        closed_note=flag.closed_note if identified else None,
    )


def open_alerts(flags: Iterable[SafetyFlag], research_id: str, identified: bool) -> list[Alert]:
    """The open ones of one patient's ``flags`` (already read), newest first: what
    :func:`list_alerts` gives for that patient by default."""
    found = sorted((f for f in flags if f.is_open), key=lambda f: (f.raised_at, f.id), reverse=True)
    return [alert_of(flag, research_id, identified) for flag in found]


def acknowledge_alert(
    db: Database, actor: Actor, flag_id: int, note: str = "", now: datetime | None = None
) -> None:
    """Mark an open flag as seen and in hand, by the acting person, with an optional note.

    Refused (:class:`Conflict`) when it is already acknowledged or closed.
    """
    text = _note(note, required=False)
    moment = utcnow() if now is None else as_utc(now)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.ACKNOWLEDGE_ALERTS)
        flag = _get_flag(session, flag_id)
        if flag.closed_at is not None:
            raise Conflict(f"alert {flag.id} is closed")
        if flag.acknowledged_at is not None:
            raise Conflict(f"alert {flag.id} is already acknowledged")
        changes = _acknowledge(flag, actor, moment, text)
        audit_changed(session, actor, flag, changes, text or "alert acknowledged")


def close_alert(
    db: Database, actor: Actor, flag_id: int, note: str, now: datetime | None = None
) -> None:
    """Close a flag that has been dealt with; the reason is required and audited.

    An open flag is acknowledged by the same act. Refused (:class:`Conflict`) when closed already.
    """
    why = _note(note, required=True)
    moment = utcnow() if now is None else as_utc(now)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.ACKNOWLEDGE_ALERTS)
        flag = _get_flag(session, flag_id)
        if flag.closed_at is not None:
            raise Conflict(f"alert {flag.id} is already closed")
        changes = [] if flag.acknowledged_at is not None else _acknowledge(flag, actor, moment, "")
        changes += [
            ("closed_at", None, moment),
            ("closed_by", None, actor.user_id),
            ("closed_note", None, why),
        ]
        flag.closed_at, flag.closed_by, flag.closed_note = moment, actor.user_id, why
        audit_changed(session, actor, flag, changes, why)


def _acknowledge(
    flag: SafetyFlag, actor: Actor, moment: datetime, note: str
) -> list[tuple[str, Any, Any]]:
    flag.acknowledged_at, flag.acknowledged_by = moment, actor.user_id
    changes: list[tuple[str, Any, Any]] = [
        ("acknowledged_at", None, moment),
        ("acknowledged_by", None, actor.user_id),
    ]
    if note:
        flag.acknowledged_note = note
        changes.append(("acknowledged_note", None, note))
    return changes


def _note(note: object, *, required: bool) -> str:
    """The note trimmed: required (a reason) for closing, optional for acknowledging."""
    field = "reason" if required else "note"
    if not required and (note is None or (isinstance(note, str) and not note.strip())):
        return ""
    try:
        text = require_reason(note, "closing the alert")
    except ValidationError as exc:
        (problem,) = exc.problems
        raise ValidationError(field, note, problem.allowed, problem.kind) from None
    if len(text) > NOTE_MAX:
        raise ValidationError(field, f"{text[:40]}…", f"at most {NOTE_MAX} characters", "invalid")
    return text


def _get_flag(session: Session, flag_id: int) -> SafetyFlag:
    flag = session.get(SafetyFlag, require_id("flag_id", flag_id))
    if flag is None:
        raise NotFound(f"no alert with id {flag_id}")
    patient = session.get(Patient, flag.patient_id)
    if patient is None or patient.deleted_at is not None:
        raise NotFound(f"no alert with id {flag_id}")
    return flag
