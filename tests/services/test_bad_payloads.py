"""Hypothesis-generated payloads: each call either stores a whole record or refuses cleanly.

Whatever arrives (bools for numbers, text, NaN, huge numbers, missing or extra keys, nested junk),
a service answers with success or one of psotrack's own errors, and a refusal leaves every table
exactly as it was.
"""

from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from psotrack.errors import PsotrackError
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
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
