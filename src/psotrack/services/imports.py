"""Importing a file of scores (long or wide) into the record: all rows or none.

The file carries totals scored elsewhere (``patient_id, visit, day, pasi`` and optionally
``arm, pga, bsa, dlqi, itch``), not item responses. psotrack checks every row first
(:func:`psotrack.endpoints.validate_assessments`: types, ranges, one decimal for PASI, duplicates)
and then writes everything in one transaction. An imported assessment keeps its provenance in
``responses`` (``{"imported_total": "12.3", "source": "file.csv"}``); its score is that checked
total — the one place where psotrack stores a score it did not compute from items, and it says so.

Patients are matched by the file's ``patient_id`` used as the MRN; unknown ones are created with
no name or birth date (research files carry none) and enrolled in the chosen program with the
file's arm. Visit dates are ``day_zero + day``; the enrollment starts at ``day_zero`` so the study
day derives back to the file's day.

A visit is imported once: a row whose patient already has a live visit with that label is refused
by a read before the insert (naming each row), and, for an import running at the same moment as
another, by the database's unique index on (patient, label), which fails the later one whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.endpoints import validate_assessments
from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.services.audit import audit_created_many
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import ProgramIn, new_research_id
from psotrack.services.payloads import (
    CONTROL_CHARACTERS,
    NO_CONTROL_CHARACTERS,
    parse_payload,
    require_date,
    require_id,
)
from psotrack.store.models import (
    Assessment,
    Enrollment,
    Patient,
    PatientIdentity,
    Program,
    Visit,
)
from psotrack.store.vocabulary import EnrollmentStatus, Instrument, PsoriasisType, Sex, VisitType

#: File column → instrument and how its checked value is written as the exact score text.
IMPORTED = {
    "pasi": Instrument.PASI,
    "pga": Instrument.PGA,
    "bsa": Instrument.BSA,
    "dlqi": Instrument.DLQI,
    "itch": Instrument.ITCH_NRS,
}


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    patients_created: int
    visits: int
    assessments: int


def import_assessments(
    db: Database,
    actor: Actor,
    frame: pl.DataFrame,
    *,
    program_id: int | None = None,
    program: str | None = None,
    create_program: bool = False,
    day_zero: date,
    source: str,
    synthetic: bool = False,
) -> ImportSummary:
    """Check every row, then store patients, visits and assessments in one transaction.

    The program is given by id or by name; with ``create_program`` an unknown name is created
    (product "other", route IV, regimen "imported from <source>") in the same transaction, so
    a refused file leaves no program behind.
    """
    day_zero = require_date("day_zero", day_zero)
    checked = validate_assessments(frame)
    _refuse_unstorable_labels(checked)
    try:
        return _store(
            db, actor, checked, program_id, program, create_program, day_zero, source, synthetic
        )
    except Conflict as clash:
        # Read-then-insert cannot see an import running at the same moment; the unique indexes
        # (MRN, one live visit per patient and label) can, and they refused this one whole.
        raise Conflict(
            f"nothing from {source} was stored: another change to the same patients or visits "
            f"was committed while it was being imported ({clash}); run it again to see which "
            "rows are already recorded"
        ) from None


def _store(
    db: Database,
    actor: Actor,
    checked: pl.DataFrame,
    program_id: int | None,
    program: str | None,
    create_program: bool,
    day_zero: date,
    source: str,
    synthetic: bool,
) -> ImportSummary:
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        actor.require(Permission.ENROLL)
        program_id = _program(session, actor, program_id, program, create_program, source)
        ids = checked.get_column("patient_id").unique().to_list()
        known = _known_patients(session, checked, ids)
        _refuse_visits_already_recorded(session, checked, known)
        reason = f"import {source}"
        patient_of = {
            external_id: known[external_id] for external_id in ids if external_id in known
        }
        arms: dict[str, str | None] = {}
        if "arm" in checked.columns:
            first_arm = pl.col("arm").drop_nulls().first()
            arms = dict(checked.group_by("patient_id").agg(first_arm).iter_rows())
        new_ids = sorted(set(ids) - set(known))
        patients = {
            external_id: Patient(
                research_id=new_research_id(session),
                sex=Sex.UNKNOWN,
                birth_year=None,
                psoriasis_type=PsoriasisType.PLAQUE,
                history=f"imported from {source}",
                synthetic=synthetic,
            )
            for external_id in new_ids
        }
        session.add_all(patients.values())
        audit_created_many(session, actor, patients.values(), reason)
        linked: list[PatientIdentity | Enrollment] = []
        for external_id, patient in patients.items():
            patient_of[external_id] = patient.id
            linked.append(PatientIdentity(patient_id=patient.id, mrn=external_id))
            linked.append(
                Enrollment(
                    patient_id=patient.id,
                    program_id=program_id,
                    start_date=day_zero,
                    status=EnrollmentStatus.ACTIVE,
                    arm=arms.get(external_id),
                )
            )
        # Patients already on record but not in this program are enrolled in it.
        enrolled = set(
            session.scalars(
                select(Enrollment.patient_id).where(
                    Enrollment.program_id == program_id,
                    Enrollment.deleted_at.is_(None),
                    Enrollment.patient_id.in_(list(known.values())),
                )
            )
        )
        linked.extend(
            Enrollment(
                patient_id=patient_id,
                program_id=program_id,
                start_date=day_zero,
                status=EnrollmentStatus.ACTIVE,
                arm=arms.get(external_id),
            )
            for external_id, patient_id in sorted(known.items())
            if patient_id not in enrolled
        )
        session.add_all(linked)
        audit_created_many(session, actor, linked, reason)
        columns = [c for c in IMPORTED if c in checked.columns]
        scored = [
            row for row in checked.iter_rows(named=True) if any(row[c] is not None for c in columns)
        ]
        visits = [
            Visit(
                patient_id=patient_of[row["patient_id"]],
                visit_date=day_zero + timedelta(days=row["day"]),
                visit_type=VisitType.BASELINE if row["day"] <= 0 else VisitType.FOLLOW_UP,
                label=row["visit"],
            )
            for row in scored
        ]
        session.add_all(visits)
        audit_created_many(session, actor, visits, reason)
        assessments = [
            Assessment(
                visit_id=visit.id,
                patient_id=visit.patient_id,
                instrument=IMPORTED[column],
                responses={"imported_total": text, "source": source},
                score=text,
                score_value=float(text),
            )
            for row, visit in zip(scored, visits, strict=True)
            for column in columns
            if row[column] is not None
            for text in [_score_text(column, row[column])]
        ]
        session.add_all(assessments)
        audit_created_many(session, actor, assessments, reason)
        return ImportSummary(
            rows=checked.height,
            patients_created=len(patients),
            visits=len(visits),
            assessments=len(assessments),
        )


def _program(
    session: Session,
    actor: Actor,
    program_id: int | None,
    name: str | None,
    create: bool,
    source: str,
) -> int:
    """The program's id, given by id or name; created by name when asked (same transaction)."""
    if (program_id is None) == (name is None):
        raise ValidationError("program", name, "a program id or a program name (one of them)")
    if program_id is not None:
        found = session.get(Program, require_id("program_id", program_id))
        if found is None:
            raise ValidationError("program_id", program_id, "an existing program", "invalid")
        return found.id
    existing = session.scalar(
        select(Program.id).where(Program.name == name, Program.deleted_at.is_(None))
    )
    if existing is not None:
        return int(existing)
    if not create:
        raise ValidationError("program", name, "an existing program (or create it)", "invalid")
    actor.require(Permission.MANAGE_PROGRAMS)
    data = parse_payload(
        ProgramIn,
        {
            "name": name,
            "regimen": f"imported from {source}",
            "product_source": "other",
            "route": "IV",
        },
    )
    created = Program(**data.model_dump())
    session.add(created)
    audit_created_many(session, actor, [created], f"import {source}")
    return created.id


def _known_patients(session: Session, checked: pl.DataFrame, ids: list[str]) -> dict[str, int]:
    """Patients already on record, by the file's id used as MRN; deleted ones are refused."""
    rows = session.execute(
        select(PatientIdentity.mrn, PatientIdentity.patient_id, Patient.deleted_at)
        .join(Patient, Patient.id == PatientIdentity.patient_id)
        .where(PatientIdentity.mrn.in_(ids))
    ).all()
    deleted = {mrn for mrn, _, gone in rows if gone is not None}
    if deleted:
        problems = [
            Problem(
                "patient_id",
                row["patient_id"],
                "a patient not deleted from the record",
                kind="invalid",
                row=index + 1,
            )
            for index, row in enumerate(checked.iter_rows(named=True))
            if row["patient_id"] in deleted
        ]
        raise ValidationError(problems=problems[:50])
    return {mrn: patient_id for mrn, patient_id, _ in rows}


def _refuse_unstorable_labels(checked: pl.DataFrame) -> None:
    """Ids and labels longer than their columns, or holding control characters, are refused.

    Checked here, before the database, so that SQLite (which stores anything) and PostgreSQL
    (which raises on a NUL byte or an overlong value) refuse the same rows the same way.
    """
    limits = {
        "patient_id": _length(PatientIdentity.__table__.c.mrn),
        "visit": _length(Visit.__table__.c.label),
        "arm": _length(Enrollment.__table__.c.arm),
    }
    problems: list[Problem] = []
    for name, limit in limits.items():
        if name not in checked.columns:
            continue
        values = checked.get_column(name)
        too_long = (values.str.len_chars() > limit).fill_null(False)
        control = values.str.contains(CONTROL_CHARACTERS).fill_null(False)
        for index in (too_long | control).arg_true().head(50).to_list():
            allowed = f"at most {limit} characters" if too_long[index] else NO_CONTROL_CHARACTERS
            problems.append(Problem(name, values[index], allowed, "invalid", index + 1))
    if problems:
        problems.sort(key=lambda problem: problem.row or 0)
        raise ValidationError(problems=problems[:50])


def _length(column: Any) -> int:
    """The declared length of a VARCHAR column of the record."""
    return int(column.type.length)


def _score_text(column: str, value: Any) -> str:
    if column == "pasi":
        return f"{value:.1f}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _refuse_visits_already_recorded(
    session: Any, checked: pl.DataFrame, known: dict[str, int]
) -> None:
    """A second import of the same visits would double them: refuse, naming each row."""
    if not known:
        return
    recorded = {
        (pid, label)
        for pid, label in session.execute(
            select(Visit.patient_id, Visit.label).where(
                Visit.patient_id.in_(list(known.values())), Visit.deleted_at.is_(None)
            )
        )
    }
    problems = [
        Problem(
            "visit",
            row["visit"],
            f"already recorded for patient {row['patient_id']}; a visit is imported once",
            kind="invalid",
            row=index + 1,
        )
        for index, row in enumerate(checked.iter_rows(named=True))
        if row["patient_id"] in known and (known[row["patient_id"]], row["visit"]) in recorded
    ]
    if problems:
        raise ValidationError(problems=problems[:50])
