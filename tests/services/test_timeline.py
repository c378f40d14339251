"""One patient's record in one read: ordered, deleted rows left out, identity by role."""

from datetime import date

import polars as pl
import pytest

from psotrack.errors import NotFound, PermissionDenied
from psotrack.services.corrections import delete_record
from psotrack.services.imports import import_assessments
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import Role


@pytest.fixture
def imported(db, clinician, program_id) -> int:
    frame = pl.DataFrame(
        {
            "patient_id": ["MRN-9"] * 3,
            "visit": ["W12", "W0", "W4"],
            "day": [84, 0, 28],
            "pasi": ["3.0", "12.0", "8.0"],
        }
    )
    import_assessments(
        db, clinician, frame, program_id=program_id, day_zero=date(2026, 3, 2), source="t"
    )
    from sqlalchemy import select

    from psotrack.store.models import PatientIdentity

    with db.transaction() as session:
        return session.scalar(
            select(PatientIdentity.patient_id).where(PatientIdentity.mrn == "MRN-9")
        )


def test_timeline_orders_visits_and_derives_study_days(db, clinician, imported):
    timeline = load_timeline(db, clinician, imported)
    assert [v.label for v in timeline.visits] == ["W0", "W4", "W12"]
    assert [timeline.study_day(v) for v in timeline.visits] == [0, 28, 84]
    assert sorted(a.score for a in timeline.assessments) == ["12.0", "3.0", "8.0"]
    assert timeline.identity is not None and timeline.identity.mrn == "MRN-9"


def test_researchers_see_no_identity_and_patients_nothing(db, actors, imported):
    assert load_timeline(db, actors[Role.RESEARCHER], imported).identity is None
    with pytest.raises(PermissionDenied):
        load_timeline(db, actors[Role.PATIENT], imported)


def test_deleted_rows_are_left_out(db, clinician, imported):
    timeline = load_timeline(db, clinician, imported)
    delete_record(db, clinician, "visits", timeline.visits[1].id, "entered twice")
    assert [v.label for v in load_timeline(db, clinician, imported).visits] == ["W0", "W12"]
    delete_record(db, clinician, "patients", imported, "test patient")
    with pytest.raises(NotFound):
        load_timeline(db, clinician, imported)
