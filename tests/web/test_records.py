"""Corrections and deletions with a required reason, and the audit history page of a record."""

from __future__ import annotations

import html
import re

import pytest

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.history import record_history
from psotrack.services.labs import record_lab_result
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import Role
from tests.web.clinic import field_error, make_clinic
from tests.web.conftest import csrf_of


@pytest.fixture
def clinic(db, users):
    return make_clinic(db, users[Role.CLINICIAN])


@pytest.fixture
def lab_id(db, users, clinic):
    lab = {"patient_id": clinic.patient_id, "analyte": "crp", "value": 5.2, "unit": "mg/L"}
    return record_lab_result(db, users[Role.CLINICIAN], {**lab, "sampled_at": "2026-01-05"})


@pytest.fixture
def clinician(client_for):
    return client_for(Role.CLINICIAN)


def lab_value(db, users, clinic):
    (lab,) = load_timeline(db, users[Role.CLINICIAN], clinic.patient_id).labs
    return lab.value


def correct(client, lab_id, fields):
    url = f"/records/lab_results/{lab_id}/correct"
    token = csrf_of(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **fields})


def history_rows(page: str) -> list[list[str]]:
    body = page.split('<table class="list" id="history">')[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def test_a_correction_needs_a_reason(db, users, clinic, lab_id, clinician):
    response = correct(clinician, lab_id, {"field": "value", "value": "5.5", "reason": " "})
    assert response.status_code == 422
    assert field_error(response.text, "reason") == "reason is missing (a reason for the change)"
    assert lab_value(db, users, clinic) == 5.2


def test_a_correction_appears_in_the_history_with_old_and_new(db, users, clinic, lab_id, clinician):
    fields = {"field": "value", "value": "5.5", "reason": "transcription error"}
    response = correct(clinician, lab_id, fields)
    assert response.status_code == 303
    assert response.headers["location"] == f"/history/lab_results/{lab_id}"
    assert lab_value(db, users, clinic) == 5.5
    page = clinician.get(f"/history/lab_results/{lab_id}").text
    rows = history_rows(page)
    # who, action, field, old → new, reason (the time is the first cell)
    assert [row[1:] for row in rows if row[2] == "update"] == [
        ["Test clinician (clinician)", "update", "value", "5.2 → 5.5", "transcription error"]
    ]
    assert ["Test clinician (clinician)", "create", "value", "5.2", ""] in [r[1:] for r in rows]


def test_an_unreadable_corrected_number_is_named(db, users, clinic, lab_id, clinician):
    response = correct(clinician, lab_id, {"field": "value", "value": "٥", "reason": "typo"})
    assert response.status_code == 422
    assert field_error(response.text, "value") == (
        "value='٥' is not a decimal number in ASCII digits"
    )
    assert lab_value(db, users, clinic) == 5.2


def test_a_field_not_open_to_correction_is_refused(db, users, clinic, lab_id, clinician):
    response = correct(clinician, lab_id, {"field": "unit", "value": "mg/dL", "reason": "typo"})
    assert response.status_code == 422
    assert "field='unit': a correctable field of lab_results: value" in html.unescape(response.text)


def test_a_coded_field_is_corrected_from_its_list(db, users, clinic, clinician):
    url = f"/records/patients/{clinic.patient_id}/correct"
    page = clinician.get(url).text
    assert '<option value="male">male</option>' in page  # sex: the coded list
    token = csrf_of(page)
    fields = {"field": "sex", "value": "male", "reason": "entered for the wrong patient"}
    response = clinician.post(url, data={"csrf_token": token, **fields})
    assert response.status_code == 303
    found = record_history(db, users[Role.CLINICIAN], "patients", clinic.patient_id)
    update = [e for e in found.entries if e.action == "update"]
    assert [(e.field, e.old_value, e.new_value, e.reason) for e in update] == [
        ("sex", "female", "male", "entered for the wrong patient")
    ]


def test_a_deletion_needs_a_reason_and_is_shown_in_the_history(
    db, users, clinic, lab_id, clinician
):
    url = f"/records/lab_results/{lab_id}/delete"
    token = csrf_of(clinician.get(f"/records/lab_results/{lab_id}/correct").text)
    refused = clinician.post(url, data={"csrf_token": token, "delete_reason": ""})
    assert refused.status_code == 422
    assert field_error(refused.text, "delete_reason") == (
        "delete_reason is missing (a reason for the change)"
    )
    assert lab_value(db, users, clinic) == 5.2
    done = clinician.post(url, data={"csrf_token": token, "delete_reason": "wrong patient"})
    assert done.status_code == 303
    assert load_timeline(db, users[Role.CLINICIAN], clinic.patient_id).labs == ()
    page = clinician.get(f"/history/lab_results/{lab_id}").text
    assert '<span class="badge alert">deleted</span>' in page
    deletion = [row for row in history_rows(page) if row[2] == "delete"]
    assert len(deletion) == 1 and deletion[0][-1] == "wrong patient"


def test_history_of_an_unknown_table_or_row(clinic, clinician):
    assert clinician.get("/history/users/1").status_code == 422
    assert clinician.get("/history/lab_results/999").status_code == 404


def test_a_coordinator_reads_history_but_may_not_correct(clinic, lab_id, client_for):
    coordinator = client_for(Role.COORDINATOR)
    page = coordinator.get(f"/history/lab_results/{lab_id}")
    assert page.status_code == 200
    assert "correct or delete" not in page.text
    assert coordinator.get(f"/records/lab_results/{lab_id}/correct").status_code == 403


def test_record_history_service_rules(db, users, clinic, lab_id):
    with pytest.raises(PermissionDenied):
        record_history(db, users[Role.RESEARCHER], "lab_results", lab_id)
    with pytest.raises(ValidationError, match="table='users'"):
        record_history(db, users[Role.ADMIN], "users", 1)
    with pytest.raises(NotFound):
        record_history(db, users[Role.ADMIN], "visits", 999)
    found = record_history(db, users[Role.ADMIN], "lab_results", lab_id)
    assert found.patient_id == clinic.patient_id
    assert found.current == {"value": "5.2"}
    assert found.deletable and not found.deleted
    created = {e.field: e.new_value for e in found.entries if e.action == "create"}
    assert created["analyte"] == "crp" and created["unit"] == "mg/L"


def test_a_correction_that_clashes_keeps_the_form(db, users, clinic, clinician):
    from psotrack.services.patients import record_visit

    visit = {"patient_id": clinic.patient_id, "visit_date": "2026-02-02"}
    week_4 = record_visit(
        db, users[Role.CLINICIAN], {**visit, "visit_type": "treatment", "label": "Week 4"}
    )
    url = f"/records/visits/{week_4}/correct"
    token = csrf_of(clinician.get(url).text)
    fields = {"field": "label", "value": "Baseline", "reason": "relabel"}
    response = clinician.post(url, data={"csrf_token": token, **fields})
    assert response.status_code == 422
    assert "the change clashes with what is stored" in response.text
    assert 'value="relabel"' in response.text
    labels = [v.label for v in load_timeline(db, users[Role.CLINICIAN], clinic.patient_id).visits]
    assert labels == ["Baseline", "Week 4"]
