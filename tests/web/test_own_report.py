"""The patient's own progress report (``/me/report.html``, ``/me/report.pdf``): theirs only.

Known answers (hand-computed, PASI by Fredriksson 1978, see :func:`tests.web.records.
pasi_with_lower_limb_area`): lower limbs E4 I4 D2, area score 5 on day 0 → 0.4 × 10 × 5 = 20.0;
area score 1 on day 84 → 4.0; −16.0 points, 80 % below baseline: PASI 75 reached (not 90) on
day 84, the latest visit (the status sentence of services.status). The other patient: 20.0 → 16.0.
A grade-3 adverse event raises an "adverse event grade ≥ 3" flag (services.adverse_events).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import unescape
from typing import Any

import pytest
from sqlalchemy import select

from psotrack.errors import PermissionDenied
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.context import Actor
from psotrack.services.demo import synthetic_photo
from psotrack.services.own_report import own_report
from psotrack.services.patient_report import ReportCopy
from psotrack.services.photos import attach_photo
from psotrack.store.models import AuditEntry, Patient
from psotrack.store.vocabulary import FlagKind, Role
from psotrack.web.middleware import REPORT_CSP
from tests.reports.pdf_pages import pdf_pages
from tests.web.conftest import OWN_MRN, OWN_NAME
from tests.web.records import W0, enroll, pasi_course, program_of

STAFF_NOTE = "Dr Staffnote"
VERBATIM = f"Headache after the visit with {STAFF_NOTE}"
OTHER_MRN, OTHER_NAME = "MRN-OTHER-9", "Otherperson"


@pytest.fixture
def record(db, users, own_patient) -> dict[str, Any]:
    """The patient's own course (20.0 → 4.0) with staff free text in a visit label and an
    adverse event's verbatim term, a photo and an open flag; another patient's (20.0 → 16.0)."""
    clinician = users[Role.CLINICIAN]
    pasi_course(db, clinician, own_patient, (5, 1), ("W0", f"Week 12 - seen by {STAFF_NOTE}"))
    event = {
        "patient_id": own_patient,
        "term": "headache",
        "verbatim_term": VERBATIM,
        "onset_date": date(2026, 2, 27),
        "grade": 3,
        "serious": False,
        "expected": True,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    report_adverse_event(db, clinician, event)
    attach_photo(
        db,
        clinician,
        patient_id=own_patient,
        image_bytes=synthetic_photo(),
        body_site="trunk",
        view="front",
        captured_at=datetime(W0.year, W0.month, W0.day, 10, 0, tzinfo=UTC),
    )
    other = enroll(db, clinician, program_of(db, own_patient), OTHER_MRN, OTHER_NAME)
    pasi_course(db, clinician, other, (5, 4))
    with db.transaction() as session:
        research = dict(session.execute(select(Patient.id, Patient.research_id)).all())
    return {
        "own": own_patient,
        "other": other,
        "own_research_id": research[own_patient],
        "other_research_id": research[other],
    }


def the_others(record: dict[str, Any]) -> list[str]:
    """What of the other patient must never reach the patient role."""
    return [OTHER_MRN, OTHER_NAME, record["other_research_id"]]


def test_me_links_to_the_own_report(client_for, record):
    page = client_for(Role.PATIENT).get("/me").text
    assert 'href="/me/report.html"' in page and 'href="/me/report.pdf"' in page


def test_the_patient_gets_their_own_report_as_html(client_for, record):
    answer = client_for(Role.PATIENT).get("/me/report.html")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == REPORT_CSP
    text = unescape(answer.text)
    assert "<h1>Patient progress report</h1>" in answer.text  # labelled as the staff report
    assert f'id="research-id">{record["own_research_id"]}</dd>' in answer.text
    assert f"{OWN_NAME[0]}, {OWN_NAME[1]}" in text
    assert "PASI 75 reached on day 84, at the latest visit" in text
    assert "20.0 → 4.0 (−16.0 points)" in text  # the region table's PASI total
    assert "Baseline PASI 20.0" in text
    assert "This report describes measurements recorded in psotrack" in text
    # The care team's copy's contents the patient's copy leaves out, saying so in their place.
    assert STAFF_NOTE not in text and OWN_MRN not in text
    assert FlagKind.GRADE_3_OR_MORE.value not in text
    assert "Safety flags are the care team's work list: they are not in your copy." in text
    assert "Photos are not in your copy" in text and "No photos were taken" not in text
    assert "headache" in text  # the adverse event, by its coded term
    for other in the_others(record):
        assert other not in text


def test_the_care_teams_copy_of_the_same_patient_has_what_the_patients_leaves_out(
    client_for, record
):
    """The fixture does hold what the patient's copy must leave out (so that test can fail)."""
    staff = unescape(client_for(Role.CLINICIAN).get(f"/patients/{record['own']}/report.html").text)
    assert STAFF_NOTE in staff and OWN_MRN in staff and VERBATIM in staff
    assert FlagKind.GRADE_3_OR_MORE.value in staff and "Photos are not in your copy" not in staff
    assert "20.0 → 4.0 (−16.0 points)" in staff


def test_the_patient_gets_their_own_report_as_pdf(client_for, record):
    answer = client_for(Role.PATIENT).get("/me/report.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    name = f'attachment; filename="progress-report-{record["own_research_id"]}.pdf"'
    assert answer.headers["content-disposition"] == name
    text = " ".join(pdf_pages(answer.content))
    assert "Patient progress report" in text and record["own_research_id"] in text
    assert "PASI 75 reached on day 84" in text
    assert STAFF_NOTE not in text and OWN_MRN not in text
    for other in the_others(record):
        assert other not in text


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{other}/report.html",
        "/patients/{other}/report.pdf",
        "/patients/{own}/report.html",  # not even their own, by the staff route
        "/patients/{other}",
        "/api/v1/patients/{other}",
    ],
)
def test_the_staff_routes_refuse_the_patient_and_tell_nothing(client_for, record, path):
    answer = client_for(Role.PATIENT).get(path.format(**record))
    assert answer.status_code == 403
    for other in the_others(record):
        assert other not in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/me/report.html?patient_id={other}",
        "/me/report.html?research_id={other_research_id}",
        "/me/{other}/report.html",
        "/me/report.html/{other}",
        "/api/v1/me/report.html",
        "/api/v1/patients/{other}/report.pdf",
    ],
)
def test_no_variant_of_the_own_route_reaches_another_patient(client_for, record, path):
    """A patient id anywhere in the request changes nothing: the own report or nothing."""
    answer = client_for(Role.PATIENT).get(path.format(**record))
    assert answer.status_code in (200, 403, 404)
    if answer.status_code == 200:
        assert f'id="research-id">{record["own_research_id"]}</dd>' in answer.text
    for other in the_others(record):
        assert other not in answer.text


@pytest.mark.parametrize("path", ["/me/report.html", "/me/report.pdf"])
def test_anonymous_is_sent_to_sign_in(anonymous, path):
    answer = anonymous.get(path)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLINICIAN, Role.COORDINATOR, Role.RESEARCHER])
def test_staff_have_no_own_report(client_for, record, role):
    assert client_for(role).get("/me/report.pdf").status_code == 403


def test_the_service_takes_the_patient_from_the_users_table(db, users, record):
    patient = users[Role.PATIENT]
    report = own_report(db, patient)
    assert report.copy is ReportCopy.PATIENT
    assert report.overview.timeline.patient.research_id == record["own_research_id"]
    assert report.overview.alerts == () and report.photos == ()
    assert report.latest is not None and report.latest.pasi == "4.0"
    # The role is read from the users table, not from the actor the caller built.
    clinician = users[Role.CLINICIAN]
    with pytest.raises(PermissionDenied):
        own_report(db, Actor(clinician.user_id, Role.PATIENT, "clinician"))
    with pytest.raises(PermissionDenied):
        own_report(db, Actor(None, Role.PATIENT, "patient"))


def test_a_download_is_not_audited_as_staff_downloads_are_not(db, client_for, record):
    """Reading changes nothing: neither copy of the report writes to the audit log."""

    def audit_rows() -> int:
        with db.transaction() as session:
            return len(session.scalars(select(AuditEntry.id)).all())

    patient, clinician = client_for(Role.PATIENT), client_for(Role.CLINICIAN)
    before = audit_rows()
    assert patient.get("/me/report.html").status_code == 200
    assert clinician.get(f"/patients/{record['own']}/report.html").status_code == 200
    assert audit_rows() == before
