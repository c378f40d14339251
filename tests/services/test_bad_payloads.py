"""Hypothesis-generated payloads: each call either stores a whole record or refuses cleanly.

Whatever arrives (bools for numbers, text, NaN, huge numbers, missing or extra keys, nested junk),
a service answers with success or one of psotrack's own errors, and a refusal leaves every table
exactly as it was.
"""

import math
from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from psotrack.errors import PsotrackError, ValidationError
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.imports import import_assessments
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import enroll_patient
from psotrack.store.models import Base
from tests.services.conftest import add_visit, administration_form

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["3", "", "IV", "UC-MSC", "2026-01-05", "pasi", "female", "yes"]),
    st.lists(st.integers(0, 5), max_size=3),
    st.dictionaries(st.sampled_from(["erythema", "area", "x"]), st.integers(-1, 7), max_size=3),
)


def mutated(valid: dict) -> st.SearchStrategy[dict]:
    """A valid payload with some fields replaced by junk, dropped, or an extra key added."""
    keys = sorted(valid)
    return st.builds(
        lambda replace, drop, extra: {
            **{k: v for k, v in valid.items() if k not in drop},
            **replace,
            **extra,
        },
        st.dictionaries(st.sampled_from(keys), junk, max_size=3),
        st.sets(st.sampled_from(keys), max_size=2),
        st.dictionaries(st.sampled_from(["score", "unexpected"]), junk, max_size=1),
    )


def snapshot(db) -> dict[str, int]:
    with db.transaction() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


def check(db, call, payload) -> None:
    before = snapshot(db)
    try:
        call(payload)
    except PsotrackError:
        assert snapshot(db) == before, payload


SLOW = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def visit_id(db, clinician, patient_id) -> int:
    return add_visit(db, clinician, patient_id)


PASI = {
    r: {"erythema": 1, "induration": 2, "desquamation": 1, "area": 3}
    for r in ("head", "upper_limbs", "trunk", "lower_limbs")
}


def test_assessment_payloads(db, clinician, visit_id):
    @SLOW
    @given(mutated({"visit_id": visit_id, "instrument": "pasi", "responses": PASI}))
    def run(payload):
        check(db, lambda p: record_assessment(db, clinician, p), payload)

    run()


def test_administration_payloads(db, clinician, patient_id):
    valid = administration_form(patient_id, started_at=datetime(2026, 1, 5, 9, 0))

    @SLOW
    @given(mutated(valid))
    def run(payload):
        check(db, lambda p: log_administration(db, clinician, p), payload)

    run()


def test_adverse_event_lab_and_enrollment_payloads(db, clinician, patient_id, program_id):
    event = {
        "patient_id": patient_id,
        "term": "fever",
        "onset_date": date(2026, 1, 6),
        "grade": 1,
        "serious": False,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    lab = {
        "patient_id": patient_id,
        "analyte": "treg_pct_cd4",
        "value": 4.2,
        "unit": "%",
        "sampled_at": datetime(2026, 1, 5, 9, 0),
    }
    enrollment = {
        "mrn": "MRN-X",
        "family_name": "Doe",
        "given_name": "J",
        "birth_date": date(1980, 1, 1),
        "sex": "female",
        "program_id": program_id,
        "start_date": date(2026, 1, 5),
    }

    @SLOW
    @given(mutated(event), mutated(lab), mutated(enrollment))
    def run(event_payload, lab_payload, enrollment_payload):
        check(db, lambda p: report_adverse_event(db, clinician, p), event_payload)
        check(db, lambda p: record_lab_result(db, clinician, p), lab_payload)
        check(db, lambda p: enroll_patient(db, clinician, p), enrollment_payload)

    run()


# --- Issue 14: text the record cannot store is refused before the database, on both kinds ------
# On PostgreSQL a NUL byte or an overlong id or label used to raise a DataError (SQLite stored
# them). Each case must now be a ValidationError naming the row and field, with nothing stored.


def _long_file(**changes: list) -> pl.DataFrame:
    rows = {"patient_id": ["P1", "P1"], "visit": ["W0", "W4"], "day": [0, 28], "pasi": [12.0, 6.0]}
    return pl.DataFrame(rows | changes)


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        ({"patient_id": ["P1", "P\x001"]}, "patient_id", "without control characters"),
        ({"patient_id": ["P1", "P" * 65]}, "patient_id", "at most 64 characters"),
        ({"visit": ["W0", "V" * 81]}, "visit", "at most 80 characters"),
        ({"arm": ["A" * 81, "A" * 81]}, "arm", "at most 80 characters"),
        ({"visit": ["W0", "W\x004"]}, "visit", "without control characters"),
    ],
)
def test_import_refuses_ids_and_labels_the_record_cannot_store(
    db, clinician, program_id, changes, field, allowed
):
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        import_assessments(
            db,
            clinician,
            _long_file(**changes),
            program_id=program_id,
            day_zero=date(2026, 1, 5),
            source="bad.csv",
        )
    problem = caught.value.problems[0]
    assert (problem.field, problem.row) == (field, 2 if field != "arm" else 1)
    assert allowed in str(problem)
    assert snapshot(db) == before


def test_import_at_the_limits_is_stored(db, clinician, program_id):
    # 64-character id, 80-character visit and arm: exactly what the columns hold.
    frame = _long_file(
        patient_id=["P" * 64, "P" * 64], visit=["W0", "V" * 80], arm=["A" * 80, "A" * 80]
    )
    summary = import_assessments(
        db, clinician, frame, program_id=program_id, day_zero=date(2026, 1, 5), source="ok.csv"
    )
    assert (summary.patients_created, summary.visits) == (1, 2)


def test_import_day_zero_outside_1900_2100_is_refused(db, clinician, program_id):
    # Issue 14: day zero 9999-12-31 plus day 28 overflowed Python's dates (OverflowError).
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        import_assessments(
            db,
            clinician,
            _long_file(),
            program_id=program_id,
            day_zero=date(9999, 12, 31),
            source="late.csv",
        )
    assert str(caught.value) == "day_zero='9999-12-31' is outside 1900-01-01–2100-12-31"
    assert snapshot(db) == before


@pytest.mark.parametrize("text", ["Fe\x00ver", "Fever\x1b[31m", "\x7f"])
def test_control_characters_in_any_text_field_are_refused(db, clinician, patient_id, text):
    event = {
        "patient_id": patient_id,
        "term": "fever",
        "verbatim_term": text,
        "onset_date": date(2026, 1, 6),
        "grade": 1,
        "serious": False,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        report_adverse_event(db, clinician, event)
    assert caught.value.field == "verbatim_term"
    assert "without control characters" in str(caught.value)
    assert snapshot(db) == before


def test_tab_and_line_breaks_stay_allowed_in_free_text(db, clinician, patient_id):
    event = {
        "patient_id": patient_id,
        "term": "fever",
        "verbatim_term": "Fever\tafter the infusion",
        "onset_date": date(2026, 1, 6),
        "grade": 1,
        "serious": False,
        "relatedness": "possible",
        "outcome": "recovered",
        "action_taken": "paracetamol\n\tthen observed",
    }
    assert report_adverse_event(db, clinician, event) >= 1


def test_an_mrn_with_a_nul_byte_is_refused_on_enrollment(db, clinician, program_id):
    form = {
        "mrn": "MRN\x00-1",
        "family_name": "Doe",
        "given_name": "J",
        "birth_date": date(1980, 1, 1),
        "sex": "female",
        "program_id": program_id,
        "start_date": date(2026, 1, 5),
    }
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        enroll_patient(db, clinician, form)
    assert caught.value.field == "mrn"
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        # Year 1 at UTC+5 has no UTC time at all: converting it raised OverflowError (a 500).
        (
            {"started_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))},
            "started_at",
            "started_at=0001-01-01 00:00:00+05:00: a date from 1900-01-01 to 2100-12-31",
        ),
        (
            {"stopped_at": datetime(2101, 1, 1, tzinfo=UTC)},
            "stopped_at",
            "stopped_at=2101-01-01 00:00:00+00:00: a date from 1900-01-01 to 2100-12-31",
        ),
        # Python's JSON reader takes Infinity; it was stored and no answer could carry it back.
        ({"volume_ml": math.inf}, "volume_ml", "volume_ml=inf: Input should be a finite number"),
    ],
)
def test_dates_outside_1900_2100_and_infinite_numbers_are_refused(
    db, clinician, patient_id, changes, field, message
):
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        log_administration(db, clinician, administration_form(patient_id, **changes))
    assert (caught.value.field, str(caught.value)) == (field, message)
    assert snapshot(db) == before
