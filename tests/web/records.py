"""Small hand-made clinical records for the page tests, recorded through the services."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from psotrack.services.assessments import record_assessment
from psotrack.services.context import Actor, Database
from psotrack.services.patients import enroll_patient, record_visit
from psotrack.store.models import Enrollment

W0 = date(2026, 1, 5)  # the enrollment start of every patient here: study day 0 (no infusion)
W12 = date(2026, 3, 30)  # study day 84


def pasi_with_lower_limb_area(area: int) -> dict:
    """PASI responses with only the lower limbs affected: (4 + 4 + 2) × area × 0.4 = 4 × area
    (Fredriksson 1978 weights), so area 5 → 20.0, area 4 → 16.0, area 1 → 4.0."""
    clear = {"erythema": 0, "induration": 0, "desquamation": 0, "area": 0}
    lower = {"erythema": 4, "induration": 4, "desquamation": 2, "area": area}
    return {"head": clear, "upper_limbs": clear, "trunk": clear, "lower_limbs": lower}


def program_of(db: Database, patient_id: int) -> int:
    with db.transaction() as session:
        found = session.scalar(
            select(Enrollment.program_id).where(Enrollment.patient_id == patient_id)
        )
    assert found is not None
    return found


def enroll(db: Database, clinician: Actor, program_id: int, mrn: str, family: str) -> int:
    form = {
        "mrn": mrn,
        "family_name": family,
        "given_name": "Test",
        "birth_date": date(1970, 1, 1),
        "sex": "male",
        "program_id": program_id,
        "start_date": W0,
        "status": "active",
    }
    return enroll_patient(db, clinician, form)


def pasi_course(
    db: Database,
    clinician: Actor,
    patient_id: int,
    areas: tuple[int, int],
    labels: tuple[str, str] = ("W0", "W12"),
) -> tuple[int, int]:
    """A baseline PASI on day 0 and one on day 84 (lower-limb areas as given); the visit ids."""
    visits = []
    for label, when, area, kind in zip(
        labels, (W0, W12), areas, ("baseline", "follow-up"), strict=True
    ):
        visit = record_visit(
            db,
            clinician,
            {"patient_id": patient_id, "visit_date": when, "visit_type": kind, "label": label},
        )
        payload = {
            "visit_id": visit,
            "instrument": "pasi",
            "responses": pasi_with_lower_limb_area(area),
        }
        record_assessment(db, clinician, payload)
        visits.append(visit)
    return visits[0], visits[1]


def at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
