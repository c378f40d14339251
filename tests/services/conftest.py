"""A migrated database of each kind with one program and one user of every role."""

from datetime import UTC, date, datetime

import pytest

from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, create_user, enroll_patient, record_visit
from psotrack.store.models import Patient
from psotrack.store.vocabulary import Role


@pytest.fixture
def db(engine, tmp_path) -> Database:
    return Database.from_engine(engine, photo_dir=tmp_path / "photos")


@pytest.fixture
def program_id(db) -> int:
    return create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV, 3 infusions 4 weeks apart",
            "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
            "viability_threshold_pct": 80.0,
        },
    )


class Actors(dict[Role, Actor]):
    """One user per role; the patient account is made on first use, with the patient it must
    be linked to (migration 0006), so tests that never use it hold no extra patient."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    def __missing__(self, role: Role) -> Actor:
        if role is not Role.PATIENT:
            raise KeyError(role)
        with self.db.transaction() as session:
            patient = Patient(
                research_id="PT-ACCOUNT1",
                sex="unknown",
                birth_year=None,
                psoriasis_type="plaque",
                synthetic=True,
            )
            session.add(patient)
            session.flush()
            patient_id = patient.id
        form = {"username": "patient", "display_name": "patient", "role": "patient"}
        user_id = create_user(self.db, SYSTEM, {**form, "patient_id": patient_id})
        self[role] = Actor(user_id=user_id, role=role, name=role.value)
        return self[role]


@pytest.fixture
def actors(db) -> dict[Role, Actor]:
    out = Actors(db)
    for role in Role:
        if role is Role.PATIENT:
            continue
        user_id = create_user(
            db, SYSTEM, {"username": role.value, "display_name": role.value, "role": role.value}
        )
        out[role] = Actor(user_id=user_id, role=role, name=role.value)
    return out


@pytest.fixture
def clinician(actors) -> Actor:
    return actors[Role.CLINICIAN]


def patient_form(program_id: int, **changes) -> dict:
    form = {
        "mrn": "MRN-0001",
        "family_name": "Doe",
        "given_name": "Jane",
        "birth_date": date(1980, 5, 17),
        "sex": "female",
        "fitzpatrick": 3,
        "program_id": program_id,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    form.update(changes)
    return form


@pytest.fixture
def patient_id(db, clinician, program_id) -> int:
    return enroll_patient(db, clinician, patient_form(program_id))


def administration_form(patient_id: int, **changes) -> dict:
    """A valid UC-MSC IV administration: 1.5 × 10⁶ cells/kg for 70 kg, viability 90 %."""
    form = {
        "patient_id": patient_id,
        "product_source": "UC-MSC",
        "manufacturer": "Lab",
        "lot": "L1",
        "cryopreserved": True,
        "total_cells": 105_000_000,
        "body_weight_kg": 70.0,
        "cells_per_kg": 1.5e6,
        "viability_pct": 90.0,
        "route": "IV",
        "started_at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    }
    form.update(changes)
    return form


def add_visit(
    db: Database,
    actor: Actor,
    patient_id: int,
    visit_date: date = date(2026, 1, 5),
    label: str = "W0",
    visit_type: str = "baseline",
) -> int:
    """Record one visit through the service (default: the baseline visit of 2026-01-05)."""
    return record_visit(
        db,
        actor,
        {
            "patient_id": patient_id,
            "visit_date": visit_date,
            "visit_type": visit_type,
            "label": label,
        },
    )
