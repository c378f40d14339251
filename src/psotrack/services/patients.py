"""Programs, enrollment, visits and withdrawal: who is followed, in which regimen, when.

User accounts live in :mod:`psotrack.services.users`; ``create_user`` and ``UserIn`` are
re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import Conflict, NotFound, ValidationError
from psotrack.services.audit import audit_changed, audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.payloads import (
    Bool,
    Float,
    Id,
    Int,
    Payload,
    Text,
    parse_payload,
    require_id,
    require_reason,
)
from psotrack.services.users import UserIn as UserIn
from psotrack.services.users import create_user as create_user
from psotrack.store.models import Enrollment, Patient, PatientIdentity, Program, User, Visit
from psotrack.store.vocabulary import (
    EnrollmentStatus,
    ProductSource,
    PsoriasisType,
    Route,
    Sex,
    VisitType,
)


class ProgramIn(Payload):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    regimen: Annotated[Text, Field(min_length=1)]
    product_source: ProductSource
    route: Route
    dose_min_per_kg: Annotated[Float, Field(gt=0)] | None = None
    dose_max_per_kg: Annotated[Float, Field(gt=0)] | None = None
    viability_threshold_pct: Annotated[Float, Field(ge=0, le=100)] = 70.0
    ctcae_version: Text = "5.0"


class PatientIn(Payload):
    """Enrollment form: identity, clinical background, and the program joined."""

    mrn: Annotated[Text, Field(min_length=1, max_length=64)]
    family_name: Annotated[Text, Field(min_length=1, max_length=200)]
    given_name: Annotated[Text, Field(min_length=1, max_length=200)]
    birth_date: date
    sex: Sex
    psoriasis_type: PsoriasisType = PsoriasisType.PLAQUE
    fitzpatrick: Annotated[Int, Field(ge=1, le=6)] | None = None
    onset_year: Annotated[Int, Field(ge=1900, le=2100)] | None = None
    history: Text | None = None
    program_id: Id
    start_date: date
    status: EnrollmentStatus = EnrollmentStatus.SCREENING
    clinician_id: Id | None = None
    arm: Annotated[Text, Field(max_length=80)] | None = None
    synthetic: Bool = False


class ImportedPatientIn(PatientIn):
    """A patient brought in by an import: names and birth date may be absent, as psotrack stores
    a patient imported from REDCap (by its record id alone) and as a FHIR export then writes
    it. What is given is held to the enrollment form's rules."""

    family_name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None  # type: ignore[assignment]
    given_name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None  # type: ignore[assignment]
    birth_date: date | None = None  # type: ignore[assignment]


class VisitIn(Payload):
    patient_id: Id
    visit_date: date
    visit_type: VisitType
    label: Annotated[Text, Field(min_length=1, max_length=80)]


def create_program(db: Database, actor: Actor, payload: Mapping[str, Any] | ProgramIn) -> int:
    data = parse_payload(ProgramIn, payload)
    low, high = data.dose_min_per_kg, data.dose_max_per_kg
    if low is not None and high is not None and low > high:
        raise ValidationError("dose_min_per_kg", low, f"at most dose_max_per_kg ({high})")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.MANAGE_PROGRAMS)
        if session.scalar(select(Program.id).where(Program.name == data.name)) is not None:
            raise Conflict(f"a program named {data.name!r} already exists")
        program = Program(**data.model_dump())
        session.add(program)
        audit_created(session, actor, program)
        return program.id


def enroll_patient(db: Database, actor: Actor, payload: Mapping[str, Any] | PatientIn) -> int:
    """Register a patient with identity and enrollment in one transaction; returns the id."""
    return _register(db, actor, parse_payload(PatientIn, payload))


def register_imported_patient(
    db: Database, actor: Actor, payload: Mapping[str, Any] | ImportedPatientIn
) -> int:
    """:func:`enroll_patient` for a patient brought in by an import, whose identity may lack the
    names and birth date the enrollment form requires (:class:`ImportedPatientIn`)."""
    return _register(db, actor, parse_payload(ImportedPatientIn, payload))


def _register(db: Database, actor: Actor, data: PatientIn) -> int:
    born: date | None = data.birth_date  # None only for an ImportedPatientIn
    if data.onset_year is not None and born is not None and data.onset_year < born.year:
        raise ValidationError(
            "onset_year", data.onset_year, f"the birth year ({born.year}) or later"
        )
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.ENROLL)
        if session.get(Program, data.program_id) is None:
            raise ValidationError("program_id", data.program_id, "an existing program", "invalid")
        if data.clinician_id is not None:
            require_user(session, "clinician_id", data.clinician_id)
        taken = select(PatientIdentity.patient_id).where(PatientIdentity.mrn == data.mrn)
        if session.scalar(taken) is not None:
            raise Conflict("a patient with this MRN is already registered")
        patient = Patient(
            research_id=new_research_id(session),
            sex=data.sex,
            birth_year=born.year if born is not None else None,
            fitzpatrick=data.fitzpatrick,
            psoriasis_type=data.psoriasis_type,
            onset_year=data.onset_year,
            history=data.history,
            synthetic=data.synthetic,
        )
        session.add(patient)
        audit_created(session, actor, patient)
        identity = PatientIdentity(
            patient_id=patient.id,
            mrn=data.mrn,
            family_name=data.family_name,
            given_name=data.given_name,
            birth_date=born,
        )
        session.add(identity)
        audit_created(session, actor, identity)
        enrollment = Enrollment(
            patient_id=patient.id,
            program_id=data.program_id,
            start_date=data.start_date,
            status=data.status,
            clinician_id=data.clinician_id,
            arm=data.arm,
        )
        session.add(enrollment)
        audit_created(session, actor, enrollment)
        return patient.id


def record_visit(db: Database, actor: Actor, payload: Mapping[str, Any] | VisitIn) -> int:
    data = parse_payload(VisitIn, payload)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        get_patient(session, data.patient_id)
        visit = Visit(**data.model_dump())
        session.add(visit)
        audit_created(session, actor, visit)
        return visit.id


def withdraw_patient(db: Database, actor: Actor, patient_id: int, reason: str) -> None:
    """Mark every open enrollment of the patient withdrawn, with the reason (audited)."""
    why = require_reason(reason, "the withdrawal")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.ENROLL)
        get_patient(session, patient_id)
        open_statuses = [
            EnrollmentStatus.SCREENING,
            EnrollmentStatus.ACTIVE,
            EnrollmentStatus.FOLLOW_UP,
        ]
        enrollments = session.scalars(
            select(Enrollment).where(
                Enrollment.patient_id == patient_id, Enrollment.status.in_(open_statuses)
            )
        ).all()
        if not enrollments:
            raise Conflict(f"patient {patient_id} has no open enrollment to withdraw from")
        for enrollment in enrollments:
            changes = [
                ("status", enrollment.status, EnrollmentStatus.WITHDRAWN),
                ("withdrawal_reason", enrollment.withdrawal_reason, why),
            ]
            enrollment.status = EnrollmentStatus.WITHDRAWN
            enrollment.withdrawal_reason = why
            audit_changed(session, actor, enrollment, changes, why)


def require_user(session: Session, field: str, user_id: int) -> User:
    """The user, if it exists and is not deleted (else :class:`ValidationError` on ``field``)."""
    user = session.get(User, require_id(field, user_id))
    if user is None or user.deleted_at is not None:
        raise ValidationError(field, user_id, "an existing user", "invalid")
    return user


def get_patient(session: Session, patient_id: int) -> Patient:
    """The patient, unless missing or soft-deleted (then :class:`NotFound`)."""
    patient = session.get(Patient, require_id("patient_id", patient_id))
    if patient is None or patient.deleted_at is not None:
        raise NotFound(f"no patient with id {patient_id}")
    return patient


def get_visit(session: Session, visit_id: int) -> Visit:
    visit = session.get(Visit, require_id("visit_id", visit_id))
    if visit is None or visit.deleted_at is not None:
        raise NotFound(f"no visit with id {visit_id}")
    return visit


def new_research_id(session: Session) -> str:
    """A random code that carries no identifier (``PT-`` and 8 hex digits), unique in the table."""
    return new_research_ids(session, 1)[0]


def new_research_ids(session: Session, count: int) -> list[str]:
    """``count`` distinct research ids, none in the table yet: one query per 500 codes drawn."""
    chosen: list[str] = []
    taken: set[str] = set()
    while len(chosen) < count:
        drawn = {f"PT-{secrets.token_hex(4).upper()}" for _ in range(min(500, count - len(chosen)))}
        drawn -= taken
        found = session.scalars(select(Patient.research_id).where(Patient.research_id.in_(drawn)))
        fresh = drawn - set(found)
        chosen += sorted(fresh)
        taken |= drawn
    return chosen
