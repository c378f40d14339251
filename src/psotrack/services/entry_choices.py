"""What a data-entry form offers to choose from: the patient's visits and doses, the programs.

The entry pages show whose record is being written to (name and MRN, so identified records
only) and let the user pick one of the patient's live visits (an assessment, a lab, a photo) or
administrations (the dose an infusion reaction followed). Enrollment picks a program.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.store.models import Administration, PatientIdentity, Program, Visit


@dataclass(frozen=True)
class VisitChoice:
    id: int
    visit_date: date
    visit_type: str
    label: str


@dataclass(frozen=True)
class AdministrationChoice:
    id: int
    started_at: datetime
    product_source: str
    lot: str


@dataclass(frozen=True)
class EntryChoices:
    """One patient as an entry form names them, with their live visits and doses, newest first."""

    patient_id: int
    research_id: str
    name: str
    mrn: str
    synthetic: bool
    visits: tuple[VisitChoice, ...]
    administrations: tuple[AdministrationChoice, ...]


@dataclass(frozen=True)
class ProgramChoice:
    id: int
    name: str
    product_source: str
    route: str


def entry_choices(db: Database, actor: Actor, patient_id: int) -> EntryChoices:
    """The patient (NotFound if absent or deleted) with the visits and doses a form may name."""
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        patient = get_patient(session, patient_id)
        identity = session.get(PatientIdentity, patient_id)
        visits = session.scalars(
            select(Visit)
            .where(Visit.patient_id == patient_id, Visit.deleted_at.is_(None))
            .order_by(Visit.visit_date.desc(), Visit.id.desc())
        )
        doses = session.scalars(
            select(Administration)
            .where(Administration.patient_id == patient_id, Administration.deleted_at.is_(None))
            .order_by(Administration.started_at.desc(), Administration.id.desc())
        )
        name = ""
        if identity is not None:
            name = ", ".join(n for n in (identity.family_name, identity.given_name) if n)
        return EntryChoices(
            patient_id=patient.id,
            research_id=patient.research_id,
            name=name,
            mrn=identity.mrn if identity is not None else "",
            synthetic=patient.synthetic,
            visits=tuple(
                VisitChoice(v.id, v.visit_date, v.visit_type.value, v.label) for v in visits
            ),
            administrations=tuple(
                AdministrationChoice(a.id, a.started_at, a.product_source.value, a.lot)
                for a in doses
            ),
        )


def program_choices(db: Database, actor: Actor) -> tuple[ProgramChoice, ...]:
    """The programs a patient may be enrolled in, by name."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.ENROLL)
        programs = session.scalars(
            select(Program).where(Program.deleted_at.is_(None)).order_by(Program.name)
        )
        return tuple(
            ProgramChoice(p.id, p.name, p.product_source.value, p.route.value) for p in programs
        )
