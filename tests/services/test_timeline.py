"""One patient's record in one read: ordered, deleted rows left out, identity by role."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import select

from psotrack.errors import NotFound, PermissionDenied
from psotrack.services.corrections import delete_record
from psotrack.services.imports import import_assessments
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import Role
from tests.services.conftest import add_visit, administration_form


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


def test_study_day_zero_is_the_dose_visits_date_everywhere(db, clinician, patient_id):
    # Found in review: an evening infusion (21:00 at UTC−5) fell on the next UTC day, so the
    # table, the timeline and the flare check disagreed about day 0 and the baseline.
    from datetime import datetime, timedelta, timezone

    from psotrack.services.administrations import log_administration
    from psotrack.services.assessments import record_assessment
    from psotrack.services.timeline import assessments_frame

    pasi = {
        r: {"erythema": 2, "induration": 2, "desquamation": 2, "area": 3}
        for r in ("head", "upper_limbs", "trunk", "lower_limbs")
    }
    visits = {}
    for label, day in (("W0", date(2026, 1, 5)), ("D1", date(2026, 1, 6))):
        visits[label] = add_visit(
            db, clinician, patient_id, visit_date=day, label=label, visit_type="follow-up"
        )
        record_assessment(
            db, clinician, {"visit_id": visits[label], "instrument": "pasi", "responses": pasi}
        )
    evening = datetime(2026, 1, 5, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    log_administration(
        db,
        clinician,
        administration_form(patient_id, visit_id=visits["W0"], started_at=evening),
    )
    frame = assessments_frame(db, clinician)
    assert dict(zip(frame["visit"], frame["day"], strict=True)) == {"W0": 0, "D1": 1}
    assert load_timeline(db, clinician, patient_id).day_zero == date(2026, 1, 5)


def test_a_second_enrollment_gives_the_arm_and_moves_no_study_day(
    db, clinician, program_id, patient_id
):
    # The newest enrollment's arm is the one a visit is analysed in. Found in review: without an
    # administration, day 0 is the first enrollment's start (services.study_days), but the long
    # table counted from the newest enrollment's start, so the status rows and the timeline
    # named one visit by two study days.
    from psotrack.services.assessments import record_assessment
    from psotrack.services.status import patient_status
    from psotrack.services.timeline import assessments_frame
    from psotrack.store.models import Enrollment

    first_start = load_timeline(db, clinician, patient_id).day_zero
    assert first_start is not None
    with db.transaction() as session:
        session.add(
            Enrollment(
                patient_id=patient_id,
                program_id=program_id,
                start_date=date(2027, 1, 4),
                status="active",
                arm="NEW-ARM",
            )
        )
    visit = add_visit(db, clinician, patient_id, visit_date=date(2027, 1, 4))
    region = {"erythema": 1, "induration": 1, "desquamation": 1, "area": 2}
    pasi = dict.fromkeys(("head", "upper_limbs", "trunk", "lower_limbs"), region)
    record_assessment(db, clinician, {"visit_id": visit, "instrument": "pasi", "responses": pasi})
    expected = (date(2027, 1, 4) - first_start).days
    assert expected > 0
    timeline = load_timeline(db, clinician, patient_id)
    assert timeline.day_zero == first_start
    assert [timeline.study_day(v) for v in timeline.visits] == [expected]
    frame = assessments_frame(db, clinician)
    assert (frame["arm"].to_list(), frame["day"].to_list()) == (["NEW-ARM"], [expected])
    assert patient_status(db, clinician, patient_id).rows["day"].to_list() == [expected]


def test_researchers_get_no_photos_or_free_text_and_nothing_stored_changes(db, actors, imported):
    # Found in review: photo rows and free-text history reached the researcher role.
    from io import BytesIO

    from PIL import Image

    from psotrack.services.photos import attach_photo

    image = BytesIO()
    Image.new("RGB", (8, 6), (200, 100, 90)).save(image, "PNG")
    clinician = actors[Role.CLINICIAN]
    attach_photo(
        db,
        clinician,
        patient_id=imported,
        image_bytes=image.getvalue(),
        body_site="trunk",
        view="front",
    )
    seen = load_timeline(db, actors[Role.RESEARCHER], imported)
    assert seen.photos == () and seen.patient.history is None and seen.identity is None
    full = load_timeline(db, clinician, imported)
    assert len(full.photos) == 1 and full.patient.history == "imported from t"


def test_the_timeline_gives_the_long_table_the_store_gives(db, actors, clinician, imported):
    """The patient page tells the status from the rows its timeline read
    (``timeline_frame``); they are the long table the store's query gives, for both views,
    after a deletion, a visit with only a score outside the table, and a first dose that moves
    day 0."""
    from psotrack.services.administrations import log_administration
    from psotrack.services.assessments import record_assessment
    from psotrack.services.context import Database
    from psotrack.services.timeline import (
        read_timeline,
        session_assessments_frame,
        timeline_frame,
    )
    from psotrack.store.models import Assessment

    def both(database: Database, identified: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
        with database.transaction() as session:
            stored = session_assessments_frame(session, None, identified, [imported])
            told = timeline_frame(read_timeline(session, imported, identified), identified)
            return stored, told

    _, w4, _ = (v.id for v in load_timeline(db, clinician, imported).visits)
    with db.transaction() as session:
        w4_pasi = session.scalar(select(Assessment.id).where(Assessment.visit_id == w4))
    delete_record(db, clinician, "assessments", w4_pasi, "entered for the wrong visit")
    tpss = {"site": "left elbow", "erythema": 2, "induration": 1, "scaling": 1}
    record_assessment(db, clinician, {"visit_id": w4, "instrument": "tpss", "responses": tpss})
    log_administration(db, clinician, administration_form(imported, visit_id=w4))
    for identified in (True, False):
        stored, told = both(db, identified)
        assert told.schema == stored.schema
        assert told.rows() == stored.rows()
        assert told["day"].to_list() == [-28, 56]  # W0 and W12, counted from the dose at W4
    assert both(db, False)[1]["visit"].to_list() == ["day -28", "day 56"]


def test_the_timelines_day_zero_follows_the_dose_rule_as_the_tables_do(db, clinician, patient_id):
    """The timeline tells day 0 from the rows it read (services.study_days.first_dose_of);
    the tables from their own query (day_zero_dates). Both, at each step, against the day
    worked out by hand."""
    from datetime import UTC, datetime

    from psotrack.services.administrations import log_administration
    from psotrack.services.study_days import day_zero_dates

    def both() -> tuple[date | None, date | None]:
        with db.transaction() as session:
            found = day_zero_dates(session, [patient_id]).get(patient_id)
        return load_timeline(db, clinician, patient_id).day_zero, found and found[0]

    assert both() == (date(2026, 1, 5), date(2026, 1, 5))  # no dose: the enrollment's start
    late = datetime(2026, 2, 3, 23, 30, tzinfo=UTC)
    log_administration(db, clinician, administration_form(patient_id, started_at=late))
    assert both() == (date(2026, 2, 3), date(2026, 2, 3))  # no visit: the start's UTC date
    visit = add_visit(db, clinician, patient_id, visit_date=date(2026, 2, 1), label="V")
    early = log_administration(
        db, clinician, administration_form(patient_id, visit_id=visit, started_at=late)
    )
    assert both() == (date(2026, 2, 1), date(2026, 2, 1))  # on a visit: the visit's date
    delete_record(db, clinician, "visits", visit, "entered in error")
    assert both() == (date(2026, 2, 3), date(2026, 2, 3))  # its visit deleted: the start's date
    delete_record(db, clinician, "administrations", early, "entered twice")
    delete_record(
        db, clinician, "administrations", _only_live_dose(db, patient_id), "entered in error"
    )
    assert both() == (date(2026, 1, 5), date(2026, 1, 5))  # every dose deleted


def _only_live_dose(db, patient_id: int) -> int:
    from psotrack.store.models import Administration

    with db.transaction() as session:
        return session.scalars(
            select(Administration.id).where(
                Administration.patient_id == patient_id, Administration.deleted_at.is_(None)
            )
        ).one()
