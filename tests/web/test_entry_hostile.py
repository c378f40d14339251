"""Hostile input on the entry pages: markup typed into every free-text field comes back escaped
on every page that shows it, and roles without the right get 403 on every entry route.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import Role
from psotrack.web.routes import assessment_entry, record_entry, records, safety_entry
from tests.web.clinic import make_clinic
from tests.web.conftest import PASSWORD, csrf_of

#: Breaks out of an attribute and opens a script, if anything were printed unescaped.
TAG = '"><script>alert(1)</script>'
ESCAPED = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
ENTRY_MODULES = {m.__name__ for m in (assessment_entry, record_entry, records, safety_entry)}


def assert_escaped(page: str, times: int = 1) -> None:
    assert "<script>alert(1)" not in page
    assert page.count(ESCAPED) >= times, "the typed markup is not shown (escaped)"


@pytest.fixture
def clinic(db, users):
    return make_clinic(db, users[Role.CLINICIAN])


def post(client, url, fields, files=None):
    token = csrf_of(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **fields}, files=files)


def test_markup_in_every_free_text_field_is_escaped_on_every_page(db, users, clinic, client_for):
    client = client_for(Role.CLINICIAN)
    enrolled = post(
        client,
        "/enrollments/new",
        {
            "mrn": TAG,
            "family_name": TAG,
            "given_name": TAG,
            "birth_date": "1970-01-01",
            "sex": "male",
            "history": TAG,
            "arm": TAG,
            "program_id": str(clinic.program_id),
            "start_date": "2026-01-05",
            "status": "active",
        },
    )
    assert enrolled.status_code == 303
    pid = int(enrolled.headers["location"].rsplit("/", 1)[1])
    base = f"/patients/{pid}"
    visit = {"visit_date": "2026-01-05", "visit_type": "baseline", "label": TAG}
    assert post(client, f"{base}/visits/new", visit).status_code == 303
    record = load_timeline(db, users[Role.CLINICIAN], pid)
    visit_id = str(record.visits[0].id)
    dose = {
        "product_source": "UC-MSC",
        "manufacturer": TAG,
        "lot": TAG,
        "premedication": TAG,
        "cryopreserved": "no",
        "total_cells": "100000000",
        "body_weight_kg": "50",
        "viability_pct": "95",
        "route": "IV",
        "started_at": "2026-01-05T10:00",
        "action": "save",
    }
    assert post(client, f"{base}/administrations/new", dose).status_code == 303
    event = {
        "term": "other",
        "verbatim_term": TAG,
        "action_taken": TAG,
        "onset_date": "2026-01-06",
        "grade": "2",
        "serious": "no",
        "relatedness": "unlikely",
        "outcome": "recovered",
        "action": "save",
    }
    assert post(client, f"{base}/adverse-events/new", event).status_code == 303
    therapy = {"therapy_class": "other", "agent": TAG, "dose": TAG, "start_date": "2025-01-01"}
    assert post(client, f"{base}/therapies/new", therapy).status_code == 303
    photo = ("a.png", _png(), "image/png")
    shot = post(client, f"{base}/photos/new", {"body_site": TAG, "view": TAG}, {"photo": photo})
    assert shot.status_code == 303
    plaque = {"visit_id": visit_id, "site": TAG, "erythema": "1", "induration": "1"}
    plaque["scaling"] = "1"
    tpss = post(client, f"{base}/assessments/new?instrument=tpss", plaque)
    assert tpss.status_code == 303
    record = load_timeline(db, users[Role.CLINICIAN], pid)
    correction = {"field": "history", "value": "plain text", "reason": TAG}
    assert post(client, f"/records/patients/{pid}/correct", correction).status_code == 303

    # The entry pages name the patient, the visit and the dose.
    assert_escaped(client.get(f"{base}/assessments/new").text, 3)  # name ×2, MRN, visit
    assert_escaped(client.get(f"{base}/adverse-events/new").text, 3)  # name, MRN, lot
    histories = {
        "patients": (pid, 3),  # history (old), the correction's old value and reason
        "patient_identities": (pid, 3),
        "enrollments": (record.enrollments[0].id, 1),
        "visits": (record.visits[0].id, 1),
        "administrations": (record.administrations[0].id, 3),
        "adverse_events": (record.adverse_events[0].id, 2),
        "concomitant_therapies": (record.therapies[0].id, 2),
        "photos": (record.photos[0].id, 2),
        "assessments": (record.assessments[0].id, 1),
    }
    for table, (row_id, times) in histories.items():
        page = client.get(f"/history/{table}/{row_id}")
        assert page.status_code == 200, table
        assert_escaped(page.text, times)
    assert_escaped(client.get(f"/records/patient_identities/{pid}/correct").text, 3)


def test_markup_typed_into_a_refused_form_comes_back_escaped(clinic, client_for):
    client = client_for(Role.CLINICIAN)
    base = f"/patients/{clinic.patient_id}"
    refused = {
        f"{base}/visits/new": {"label": TAG, "visit_type": "baseline", "visit_date": "bad"},
        f"{base}/therapies/new": {"agent": TAG, "dose": TAG, "therapy_class": "x"},
        f"{base}/administrations/new": {"lot": TAG, "manufacturer": TAG, "premedication": TAG},
        f"{base}/adverse-events/new": {"verbatim_term": TAG, "action_taken": TAG},
        f"{base}/photos/new": {"body_site": TAG, "view": TAG},
        f"{base}/labs/new": {"value": TAG},
        f"{base}/assessments/new?instrument=tpss": {"site": TAG, "erythema": TAG},
        "/enrollments/new": {"mrn": TAG, "family_name": TAG, "history": TAG},
    }
    for url, fields in refused.items():
        response = post(client, url, fields)
        assert response.status_code == 422, url
        assert_escaped(response.text)


def entry_routes(app) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, APIRoute) and context.endpoint.__module__ in ENTRY_MODULES:
            found += [(method, context.path) for method in sorted(context.methods)]
    return found


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_researchers_and_patients_get_403_on_every_entry_route(app, clinic, client_for, role):
    client = client_for(role)
    token = csrf_of(client.get("/account/password").text)
    values = {"patient_id": clinic.patient_id, "table": "visits", "row_id": clinic.visit_id}
    routes = entry_routes(app)
    assert len(routes) >= 20
    for method, path in routes:
        url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
        response = client.request(
            method, url, data={"csrf_token": token} if method == "POST" else None
        )
        assert response.status_code == 403, f"{method} {path} as {role.value}"
        assert "Doe" not in response.text and "MRN-0001" not in response.text


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_not_found_page_keeps_the_session(anonymous, client_for):
    # Browsers ask /favicon.ico: its 404 page must not replace the session cookie, or the
    # sign-in form's CSRF token expires (and a signed-in user is signed out).
    token = csrf_of(anonymous.get("/login").text)
    assert anonymous.get("/favicon.ico").status_code == 404
    form = {"username": "clinician", "password": PASSWORD, "csrf_token": token}
    assert anonymous.post("/login", data=form).status_code == 303
    clinician = client_for(Role.CLINICIAN)
    assert clinician.get("/favicon.ico").status_code == 404
    assert clinician.get("/enrollments/new").status_code == 200
