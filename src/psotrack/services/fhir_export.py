"""Reading patients' whole records for a FHIR Bundle: identified data, audited as an export.

A FHIR Bundle carries names, MRN, birth date and photos, so exporting one needs the permission to
read identified records (clinician, coordinator, admin); a researcher is refused. The Bundle
itself is built by :mod:`psotrack.interop.fhir_bundle`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select

from psotrack.errors import PsotrackError
from psotrack.services.audit import append
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.services.photos import read_photo
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    ConcomitantTherapy,
    Enrollment,
    LabResult,
    Patient,
    PatientIdentity,
    Photo,
    Program,
    Visit,
)
from psotrack.store.models.base import utcnow


@dataclass(frozen=True)
class FhirSource:
    """One patient's whole record for a Bundle (deleted rows left out), oldest first.

    The rows are those of :func:`psotrack.services.timeline.load_timeline`, read for many
    patients at once (one query per table), with the programs enrolled in and, when asked,
    each photo's bytes.
    """

    patient: Patient
    identity: PatientIdentity | None
    programs: dict[int, Program]
    enrollments: tuple[Enrollment, ...] = ()
    visits: tuple[Visit, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    administrations: tuple[Administration, ...] = ()
    therapies: tuple[ConcomitantTherapy, ...] = ()
    labs: tuple[LabResult, ...] = ()
    adverse_events: tuple[AdverseEvent, ...] = ()
    photos: tuple[Photo, ...] = ()
    photo_bytes: dict[int, bytes] = field(default_factory=dict)


#: The tables of a patient's record, each with the columns its rows are ordered by.
RECORD_TABLES: Final = {
    "enrollments": (Enrollment, Enrollment.start_date),
    "visits": (Visit, Visit.visit_date),
    "assessments": (Assessment, Assessment.visit_id),
    "administrations": (Administration, Administration.started_at),
    "therapies": (ConcomitantTherapy, ConcomitantTherapy.start_date),
    "labs": (LabResult, LabResult.sampled_at),
    "adverse_events": (AdverseEvent, AdverseEvent.onset_date),
}


def fhir_sources(
    db: Database,
    actor: Actor,
    patient_id: int | None = None,
    *,
    include_photos: bool = False,
) -> list[FhirSource]:
    """Each patient's record (one, or every patient not deleted), audited as one export.

    One read transaction and one query per table for all patients (a thousand patients read one
    at a time cost a thousand transactions). The actor must read identified records.
    """
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        if patient_id is not None:
            get_patient(session, patient_id)

        def rows(model: Any, *order: Any) -> dict[int, list[Any]]:
            query = select(model).where(model.deleted_at.is_(None))
            if patient_id is not None:
                query = query.where(model.patient_id == patient_id)
            grouped: dict[int, list[Any]] = {}
            for row in session.scalars(query.order_by(model.patient_id, *order, model.id)):
                grouped.setdefault(row.patient_id, []).append(row)
            return grouped

        query = select(Patient).where(Patient.deleted_at.is_(None)).order_by(Patient.id)
        if patient_id is not None:
            query = query.where(Patient.id == patient_id)
        patients = list(session.scalars(query))
        who = select(PatientIdentity)
        if patient_id is not None:
            who = who.where(PatientIdentity.patient_id == patient_id)
        identities = {i.patient_id: i for i in session.scalars(who)}
        programs = {p.id: p for p in session.scalars(select(Program))}
        tables = {name: rows(*spec) for name, spec in RECORD_TABLES.items()}
        photos = rows(Photo, Photo.captured_at) if include_photos else {}
        _audit_export(session, actor, include_photos, len(patients))
    sources = []
    for patient in patients:
        mine = {name: tuple(grouped.get(patient.id, ())) for name, grouped in tables.items()}
        used = sorted({e.program_id for e in mine["enrollments"]})
        pictures = tuple(photos.get(patient.id, ()))
        sources.append(
            FhirSource(
                patient=patient,
                identity=identities.get(patient.id),
                programs={k: programs[k] for k in used},
                photos=pictures,
                photo_bytes={p.id: read_photo(db, actor, p.id) for p in pictures},
                **mine,
            )
        )
    return sources


def count_patients_to_export(db: Database, actor: Actor, patient_id: int | None = None) -> int:
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        if patient_id is not None:
            return 1
        query = select(Patient.id).where(Patient.deleted_at.is_(None))
        return len(session.scalars(query).all())


def _audit_export(session: Any, actor: Actor, photos: bool, patients: int) -> None:
    """One audit row naming who exported what (the export changes nothing in the record)."""
    if actor.user_id is None:
        raise PsotrackError("the exporting user was not resolved")
    entry = {
        "at": utcnow(),
        "actor_id": actor.user_id,
        "action": "export",
        "entity": "users",
        "entity_id": actor.user_id,
        "field": "fhir_export",
        "old_value": None,
        "new_value": f"photos={'yes' if photos else 'no'}; patients={patients}",
        "reason": "identified FHIR R4 export",
    }
    append(session, [entry])
