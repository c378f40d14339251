"""A small clinical record recorded through the services, and helpers to compare whole databases."""

from datetime import date

import pytest
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.engine import URL

from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, create_user, enroll_patient, record_visit
from psotrack.store.vocabulary import Role

#: Hand-computed PASI (weights head 0.1, upper 0.2, trunk 0.3, lower 0.4; Fredriksson 1978):
#: lower limbs (4 + 4 + 2) × area 1 × 0.4 = 4.0.
PASI_4 = {
    "head": {"erythema": 0, "induration": 0, "desquamation": 0, "area": 0},
    "upper_limbs": {"erythema": 0, "induration": 0, "desquamation": 0, "area": 0},
    "trunk": {"erythema": 0, "induration": 0, "desquamation": 0, "area": 0},
    "lower_limbs": {"erythema": 4, "induration": 4, "desquamation": 2, "area": 1},
}


def record_a_patient(db: Database, mrn: str = "MRN-1") -> int:
    """A program (if none), a clinician, a patient, a visit and a PASI; the assessment's id."""
    with db.transaction() as session:
        program_id = session.scalar(text("SELECT min(id) FROM programs"))
    if program_id is None:
        program_id = create_program(
            db,
            SYSTEM,
            {
                "name": "UC-MSC IV",
                "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
                "product_source": "UC-MSC",
                "route": "IV",
                "viability_threshold_pct": 80.0,
            },
        )
    name = f"clinician-{mrn.lower()}"
    user_id = create_user(db, SYSTEM, {"username": name, "display_name": name, "role": "clinician"})
    clinician = Actor(user_id, Role.CLINICIAN, name)
    form = {
        "mrn": mrn,
        "family_name": "Doe",
        "given_name": "Jane",
        "birth_date": date(1980, 5, 17),
        "sex": "female",
        "program_id": program_id,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    patient_id = enroll_patient(db, clinician, form)
    visit = {
        "patient_id": patient_id,
        "visit_date": date(2026, 1, 5),
        "visit_type": "baseline",
        "label": "W0",
    }
    visit_id = record_visit(db, clinician, visit)
    payload = {"visit_id": visit_id, "instrument": "pasi", "responses": PASI_4}
    return record_assessment(db, clinician, payload)


@pytest.fixture
def recorded(engine, tmp_path) -> Database:
    """A migrated database of each kind holding two patients recorded through the services."""
    db = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    record_a_patient(db, "MRN-1")
    record_a_patient(db, "MRN-2")
    return db


def every_row(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table (the schema revision included), in primary-key order."""
    metadata = MetaData()
    with engine.connect() as conn:
        metadata.reflect(conn)
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    select(table).order_by(*(table.primary_key.columns or table.columns))
                )
            ]
            for table in metadata.sorted_tables
        }


def url_of(engine: Engine) -> str:
    """A URL the command line can use for this engine (on PostgreSQL: with its schema)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url: URL = engine.url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)
