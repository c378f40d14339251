"""The patient role: their own record read-only, their own DLQI and itch, nothing else.

Known answers: PASI 20.0 on day 0 and 4.0 on day 84 is −80 %, PASI 75 reached on day 84 at the
latest visit (the status sentence of services.status); DLQI with every item "a little" (q7 "no,
a little") totals 10 (1 point × 10 items, Finlay 1994 scoring).
"""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from psotrack.errors import Conflict, NotFound, PermissionDenied, ValidationError
from psotrack.services.assessments import list_assessments
from psotrack.services.context import SYSTEM
from psotrack.services.own_record import own_record, record_own_outcome
from psotrack.services.users import create_user
from psotrack.store.models import Assessment, AuditEntry
from psotrack.store.vocabulary import Role
from tests.web.conftest import OWN_MRN, OWN_NAME, csrf_of
from tests.web.records import enroll, pasi_course, program_of

DLQI_A_LITTLE = {f"q{n}": "a little" for n in range(1, 11)} | {"q7": "no, a little"}


@pytest.fixture
def courses(db, users, own_patient) -> dict[str, int]:
    """The patient's own course (20.0 → 4.0) with a staff-written visit label, and another
    patient's (20.0 → 16.0)."""
    clinician = users[Role.CLINICIAN]
    labels = ("W0", "Week 12 - seen by Dr Staffnote")
    _, own_w12 = pasi_course(db, clinician, own_patient, (5, 1), labels)
    other = enroll(db, clinician, program_of(db, own_patient), "MRN-OTHER-9", "Otherperson")
    other_w0, _ = pasi_course(db, clinician, other, (5, 4))
    return {"own_w12": own_w12, "other": other, "other_w0": other_w0}


def test_the_patient_sees_their_own_status_scores_and_visits(client_for, courses):
    page = client_for(Role.PATIENT).get("/me")
    assert page.status_code == 200
    assert "PASI 75 reached on day 84, at the latest visit" in page.text
    assert OWN_NAME[1] in page.text and OWN_NAME[0] in page.text  # their own name
    assert "4.0" in page.text and "20.0" in page.text
    assert "2026-03-30" in page.text and "follow-up" in page.text
    assert "Dr Staffnote" not in page.text  # free text written by staff
    assert "Otherperson" not in page.text and "MRN-OTHER-9" not in page.text
    assert "16.0" not in page.text  # the other patient's score


@pytest.mark.parametrize(
    "path", ["/patients", "/alerts", "/cohort", "/cohort/waterfall.svg", "/admin/users"]
)
def test_the_patient_is_refused_every_staff_page(client_for, courses, path):
    assert client_for(Role.PATIENT).get(path).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLINICIAN, Role.RESEARCHER])
def test_staff_have_no_own_record_page(client_for, courses, role):
    assert client_for(role).get("/me").status_code == 403
    assert client_for(role).get("/me/dlqi").status_code == 403


def test_a_dlqi_the_patient_enters_is_stored_for_them_only(db, users, client_for, courses):
    client = client_for(Role.PATIENT)
    form = client.get("/me/dlqi")
    assert form.status_code == 200
    assert "1. skin symptoms" in form.text and "10. treatment burden" in form.text
    assert "© Dermatology Life Quality Index. A Y Finlay, G K Khan, April 1992" in form.text
    data = {"csrf_token": csrf_of(form.text), "visit_id": str(courses["own_w12"])}
    saved = client.post("/me/dlqi", data=data | DLQI_A_LITTLE)
    assert saved.status_code == 303 and saved.headers["location"] == "/me?saved=dlqi"
    clinician = users[Role.CLINICIAN]
    own = [
        a
        for a in list_assessments(db, clinician, users_patient(db, users))
        if a.instrument == "dlqi"
    ]
    assert [(a.score, a.visit_id) for a in own] == [("10", courses["own_w12"])]
    others = list_assessments(db, clinician, courses["other"])
    assert [a.instrument for a in others] == ["pasi", "pasi"]
    with db.transaction() as session:
        actor_ids = set(
            session.scalars(
                select(AuditEntry.actor_id).where(
                    AuditEntry.entity == "assessments", AuditEntry.entity_id == own[0].id
                )
            )
        )
    assert actor_ids == {users[Role.PATIENT].user_id}  # the patient, named in the audit log


def users_patient(db, users) -> int:
    from psotrack.store.models import User

    with db.transaction() as session:
        found = session.scalar(select(User.patient_id).where(User.username == "patient"))
    assert found is not None
    return found


def test_another_patients_visit_is_refused_and_nothing_is_stored(db, client_for, courses):
    client = client_for(Role.PATIENT)
    token = csrf_of(client.get("/me/itch").text)
    before = count_assessments(db)
    answer = client.post(
        "/me/itch",
        data={"csrf_token": token, "visit_id": str(courses["other_w0"]), "score": "3"},
    )
    assert answer.status_code == 422
    assert f"visit_id='{courses['other_w0']}': one of your visits" in unescape(answer.text)
    assert count_assessments(db) == before


def test_a_bad_itch_score_is_shown_beside_the_field_and_nothing_is_stored(db, client_for, courses):
    client = client_for(Role.PATIENT)
    token = csrf_of(client.get("/me/itch").text)
    before = count_assessments(db)
    data = {"csrf_token": token, "visit_id": str(courses["own_w12"]), "score": "11"}
    answer = client.post("/me/itch", data=data)
    assert answer.status_code == 422
    assert "responses.score=11 is outside 0–10 (worst itch in the last 24 h)" in answer.text
    assert count_assessments(db) == before
    saved = client.post("/me/itch", data=data | {"score": "7"})
    assert saved.status_code == 303
    assert count_assessments(db) == before + 1


def count_assessments(db) -> int:
    with db.transaction() as session:
        return len(session.scalars(select(Assessment.id)).all())


def test_the_service_records_only_dlqi_and_itch_for_the_linked_patient(db, users, courses):
    patient = users[Role.PATIENT]
    pasi = {"head": {}, "upper_limbs": {}, "trunk": {}, "lower_limbs": {}}
    with pytest.raises(ValidationError, match="instrument='pasi': dlqi or itch_nrs"):
        record_own_outcome(db, patient, courses["own_w12"], "pasi", pasi)
    with pytest.raises(NotFound):
        record_own_outcome(db, patient, courses["other_w0"], "itch_nrs", {"score": 2})
    with pytest.raises(PermissionDenied):  # a clinician records through record_assessment
        record_own_outcome(db, users[Role.CLINICIAN], courses["own_w12"], "itch_nrs", {"score": 2})
    with pytest.raises(PermissionDenied):
        own_record(db, users[Role.ADMIN])
    assert own_record(db, patient).research_id != ""


def test_a_patient_account_names_exactly_one_patient(db, users, own_patient, courses):
    form = {"username": "p2", "display_name": "P2", "role": "patient"}
    with pytest.raises(ValidationError, match="patient_id is missing"):
        create_user(db, SYSTEM, form)
    with pytest.raises(Conflict, match="already has an account"):
        create_user(db, SYSTEM, form | {"patient_id": own_patient})
    with pytest.raises(NotFound):
        create_user(db, SYSTEM, form | {"patient_id": 999_999})
    staff = {"username": "c2", "display_name": "C2", "role": "clinician", "patient_id": own_patient}
    with pytest.raises(ValidationError, match="only a patient account is linked"):
        create_user(db, SYSTEM, staff)
    assert create_user(db, SYSTEM, form | {"patient_id": courses["other"]}) > 0


def test_the_patient_is_never_taken_from_the_request(client_for, courses):
    """A patient id in the query changes nothing: /me is always the linked patient."""
    page = client_for(Role.PATIENT).get(f"/me?patient_id={courses['other']}")
    assert page.status_code == 200
    assert OWN_MRN not in page.text  # the MRN is not shown, even their own
    assert "Otherperson" not in page.text


def test_every_page_of_another_patient_is_refused(app, client_for, courses):
    """Every route that names a patient answers 403 to the patient role for another patient
    (and the patient search too): the patient's own data come only from /me."""
    from fastapi.routing import APIRoute

    client = client_for(Role.PATIENT)
    assert client.get("/patients?q=Otherperson").status_code == 403
    for route in app.routes:
        if isinstance(route, APIRoute) and "{patient_id}" in route.path and "GET" in route.methods:
            path = route.path.replace("{patient_id}", str(courses["other"]))
            if "{" in path:
                continue  # needs other values; the route×role walk covers it
            answer = client.get(path)
            assert answer.status_code == 403, f"GET {path}: {answer.status_code}"
            assert "Otherperson" not in answer.text
