"""A patient's own record, read-only, and their own DLQI and itch entries (the patient role).

The patient is never taken from the request: it is the patient the signed-in account is linked
to (``users.patient_id``), read from the users table inside the transaction, after
:func:`~psotrack.services.context.resolve_actor` has checked the stored role. What a patient
sees of their record (psotrack's choice): their name, research id, the status sentence the
endpoint engine tells (:mod:`psotrack.services.status`), their scores by study day, and their
visits by date and type. Nothing the care team wrote in free text (visit labels, history,
adverse-event wording, flag messages) and nothing of any other patient.

A patient records only DLQI and itch NRS, for themselves, at one of their own visits; the
answers are read, scored, stored, audited and flare-checked by the same code as a clinician's
entry (:func:`~psotrack.services.assessments.store_assessment`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.assessments import live_visit, read_assessment, store_assessment
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.status import status_sentence, status_tables
from psotrack.services.study_days import day_zero, study_day
from psotrack.services.timeline import SCORE_COLUMNS, session_assessments_frame
from psotrack.store.models import Patient, PatientIdentity, User, Visit
from psotrack.store.vocabulary import Instrument

#: What a patient may record about themselves.
OWN_INSTRUMENTS: Final = (Instrument.DLQI, Instrument.ITCH_NRS)


@dataclass(frozen=True)
class OwnVisit:
    """One of the patient's visits as they see it: date, type and study day (no staff text)."""

    id: int
    visit_date: date
    visit_type: str
    day: int | None


@dataclass(frozen=True, eq=False)
class OwnRecord:
    """What a patient sees of their own record.

    ``scores``: one row per visit with a score (``day``, ``pasi``, ``bsa``, ``pga``, ``dlqi``,
    ``itch`` as exact decimal text), by study day.
    """

    research_id: str
    given_name: str | None
    family_name: str | None
    status_kind: str
    status_sentence: str
    scores: pl.DataFrame
    visits: tuple[OwnVisit, ...]

    def entry_visit(self, today: date) -> OwnVisit | None:
        """The visit an entry goes to by default: the latest one dated on or before ``today``."""
        past = [v for v in self.visits if v.visit_date <= today]
        return past[-1] if past else None


def own_record(db: Database, actor: Actor) -> OwnRecord:
    """The signed-in patient's own record (see the module text for what it holds)."""
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_OWN_RECORD)
        patient = own_patient(session, actor)
        identity = session.get(PatientIdentity, patient.id)
        frame = session_assessments_frame(session, None, False, [patient.id])
        visits = _own_visits(session, patient.id)
    rows, endpoints = status_tables(frame)
    kind, sentence = status_sentence(rows.drop("patient_id"), endpoints)
    return OwnRecord(
        research_id=patient.research_id,
        given_name=identity.given_name if identity else None,
        family_name=identity.family_name if identity else None,
        status_kind=kind,
        status_sentence=sentence,
        scores=frame.select("day", *SCORE_COLUMNS.values()),
        visits=visits,
    )


def record_own_outcome(
    db: Database, actor: Actor, visit_id: int, instrument: str, responses: Mapping[str, Any]
) -> int:
    """Store the signed-in patient's own DLQI or itch NRS at one of their visits; its id.

    Refused: any other instrument (:class:`ValidationError`), a visit of another patient
    (:class:`NotFound`, telling nothing of it), a patient-role account linked to no patient.
    """
    if instrument not in [i.value for i in OWN_INSTRUMENTS]:
        allowed = "dlqi or itch_nrs (what a patient records about themselves)"
        raise ValidationError("instrument", instrument, allowed, "invalid")
    payload = {"visit_id": visit_id, "instrument": instrument, "responses": dict(responses)}
    data, scored, stored = read_assessment(payload)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_OWN_OUTCOMES)
        patient = own_patient(session, actor)
        visit = live_visit(session, data.visit_id)
        if visit.patient_id != patient.id:
            raise NotFound(f"no visit with id {data.visit_id}")
        return store_assessment(session, actor, visit, data, scored, stored)


def own_patient(session: Session, actor: Actor) -> Patient:
    """The live patient the acting account is linked to, read from the users table."""
    linked = session.scalar(select(User.patient_id).where(User.id == actor.user_id))
    if linked is None:
        raise PermissionDenied(f"the account {actor.name!r} is linked to no patient")
    patient = session.get(Patient, linked)
    if patient is None or patient.deleted_at is not None:
        raise PermissionDenied(f"the account {actor.name!r} is linked to no patient on record")
    return patient


def _own_visits(session: Session, patient_id: int) -> tuple[OwnVisit, ...]:
    zero = day_zero(session, patient_id)
    visits = session.scalars(
        select(Visit)
        .where(Visit.patient_id == patient_id, Visit.deleted_at.is_(None))
        .order_by(Visit.visit_date, Visit.id)
    )
    return tuple(
        OwnVisit(
            id=v.id,
            visit_date=v.visit_date,
            visit_type=v.visit_type.value,
            day=None if zero is None else study_day(v.visit_date, zero),
        )
        for v in visits
    )
