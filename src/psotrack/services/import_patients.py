"""The patients and program of an imported file: matched by MRN, or registered and enrolled.

A research export (REDCap, a trial's item file) carries no names or birth dates, so a record id
that is not yet an MRN becomes a patient registered the way ``import assessments`` registers one:
no identity beyond the MRN, sex unknown, enrolled (active) in the chosen program from the date of
its first visit, with the file's arm. A patient already on record is matched by MRN and enrolled
in the program if not yet; a deleted one, or a visit label already recorded for the patient, is
refused, naming the record. All of it is audited in the caller's transaction, written in bulk
(:func:`~psotrack.services.audit.insert_created`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import Problem, ValidationError
from psotrack.interop.redcap_files import LocatedProblem
from psotrack.services.audit import insert_created
from psotrack.services.context import Actor, Database
from psotrack.services.patients import create_program, new_research_ids
from psotrack.services.redcap_plan import Plan
from psotrack.store.models import Enrollment, Patient, PatientIdentity, Program, Visit
from psotrack.store.vocabulary import EnrollmentStatus, PsoriasisType, Sex


def import_program(
    unit: Database, session: Session, actor: Actor, name: str, create: bool, source: str
) -> int:
    found = session.scalar(
        select(Program.id).where(Program.name == name, Program.deleted_at.is_(None))
    )
    if found is not None:
        return int(found)
    if not create:
        raise ValidationError(
            "--program", name, "an existing program (or --create-program)", "invalid"
        )
    payload = {
        "name": name,
        "regimen": f"imported from {source}",
        "product_source": "other",
        "route": "IV",
    }
    return create_program(unit, actor, payload)


def import_patients(
    session: Session,
    actor: Actor,
    plan: Plan,
    program_id: int,
    source: str,
    synthetic: bool,
    problems: list[Problem],
) -> tuple[dict[str, int], set[str]]:
    """Each record's patient id: matched by MRN, or registered and enrolled (audited)."""
    ids = list(plan.records)
    before = len(problems)
    rows = session.execute(
        select(PatientIdentity.mrn, PatientIdentity.patient_id, Patient.deleted_at)
        .join(Patient, Patient.id == PatientIdentity.patient_id)
        .where(PatientIdentity.mrn.in_(ids))
    ).all()
    known = {mrn: pid for mrn, pid, gone in rows if gone is None}
    for mrn, _, gone in rows:
        if gone is not None:
            allowed = "a patient not deleted from the record"
            problems.append(
                LocatedProblem("record_id", mrn, allowed, "invalid", where=f"record {mrn}")
            )
    if known:
        visits_of = select(Visit.patient_id, Visit.label).where(
            Visit.patient_id.in_(list(known.values())), Visit.deleted_at.is_(None)
        )
        recorded = {(pid, label) for pid, label in session.execute(visits_of)}
        for mrn, pid in known.items():
            for visit in plan.records[mrn].visits.values():
                if (pid, visit.label) in recorded:
                    allowed = "a visit not recorded yet (a visit is imported once)"
                    problems.append(
                        LocatedProblem(
                            "redcap_event_name", visit.label, allowed, "invalid", where=visit.where
                        )
                    )
    if len(problems) > before:
        return known, set()
    reason = f"import {source}"
    unknown = [mrn for mrn in ids if mrn not in known]
    new_patients = [
        {
            "research_id": research_id,
            "sex": Sex.UNKNOWN,
            "birth_year": None,
            "psoriasis_type": PsoriasisType.PLAQUE,
            "history": f"imported from {source}",
            "synthetic": synthetic,
        }
        for research_id in new_research_ids(session, len(unknown))
    ]
    new = dict(
        zip(unknown, insert_created(session, actor, Patient, new_patients, reason), strict=True)
    )
    enrolled = set(
        session.scalars(
            select(Enrollment.patient_id).where(
                Enrollment.program_id == program_id,
                Enrollment.deleted_at.is_(None),
                Enrollment.patient_id.in_(list(known.values())),
            )
        )
    )
    identities = [{"patient_id": pid, "mrn": mrn} for mrn, pid in new.items()]
    insert_created(session, actor, PatientIdentity, identities, reason)
    patient_of = {**known, **new}
    enrollments = []
    for mrn, pid in patient_of.items():
        if pid in enrolled:
            continue
        record = plan.records[mrn]
        dates = [v.visit_date for v in record.visits.values()]
        enrollments.append(
            {
                "patient_id": pid,
                "program_id": program_id,
                "start_date": min(dates) if dates else date.today(),
                "status": EnrollmentStatus.ACTIVE,
                "arm": record.arm,
            }
        )
    insert_created(session, actor, Enrollment, enrollments, reason)
    return patient_of, set(new)
