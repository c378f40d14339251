"""Administration of users (admin only): list, add with a password or a patient link, set a
password, deactivate; every refusal is one line next to its field."""

from __future__ import annotations

from html import unescape

from psotrack.services.users import list_users
from psotrack.store.vocabulary import Role
from tests.web.conftest import csrf_of, sign_in
from tests.web.records import enroll, program_of

NEW_PASSWORD = "a new password 42"


def by_name(db, users) -> dict:
    return {u.username: u for u in list_users(db, users[Role.ADMIN])}


def test_the_list_shows_users_roles_and_the_patient_link(db, users, client_for, own_patient):
    page = client_for(Role.ADMIN).get("/admin/users")
    assert page.status_code == 200
    research_id = by_name(db, users)["patient"].research_id
    assert research_id and research_id in page.text
    for role in Role:
        assert f"<td>{role.value}</td><td>Test {role.value}</td><td>{role.value}</td>" in page.text


def test_an_added_user_with_a_password_can_sign_in(db, users, client_for, app):
    client = client_for(Role.ADMIN)
    token = csrf_of(client.get("/admin/users").text)
    form = {"csrf_token": token, "username": "newclin", "role": "clinician"}
    added = client.post("/admin/users", data=form | {"password": NEW_PASSWORD})
    assert added.status_code == 303
    assert by_name(db, users)["newclin"].role is Role.CLINICIAN
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as fresh:
        assert sign_in(fresh, "newclin", NEW_PASSWORD).status_code == 303


def test_a_patient_account_needs_its_patient_and_gets_it(db, users, client_for, own_patient):
    client = client_for(Role.ADMIN)
    token = csrf_of(client.get("/admin/users").text)
    form = {"csrf_token": token, "username": "pat2", "role": "patient", "password": NEW_PASSWORD}
    missing = client.post("/admin/users", data=form)
    assert missing.status_code == 422
    assert (
        "patient_id is missing (the id of the patient this account belongs to "
        "(a patient account needs one))" in unescape(missing.text)
    )
    assert 'value="pat2"' in missing.text  # what was typed is kept
    bad = client.post("/admin/users", data=form | {"patient_id": "twelve"})
    assert bad.status_code == 422
    assert (
        "patient_id='twelve': a patient id (a whole number), or empty for a staff account"
        in unescape(bad.text)
    )
    taken = client.post("/admin/users", data=form | {"patient_id": str(own_patient)})
    assert taken.status_code == 409
    other = enroll(db, users[Role.CLINICIAN], program_of(db, own_patient), "MRN-A2", "Adminfam")
    added = client.post("/admin/users", data=form | {"patient_id": str(other)})
    assert added.status_code == 303
    assert by_name(db, users)["pat2"].patient_id == other


def test_setting_a_password_and_deactivating(db, users, client_for, app):
    from fastapi.testclient import TestClient

    client = client_for(Role.ADMIN)
    token = csrf_of(client.get("/admin/users").text)
    researcher = users[Role.RESEARCHER].user_id
    short = client.post(
        f"/admin/users/{researcher}/password", data={"csrf_token": token, "new_password": "short"}
    )
    assert short.status_code == 422
    assert "password=(hidden, 5 characters) is outside 12–128 characters" in unescape(short.text)
    done = client.post(
        f"/admin/users/{researcher}/password",
        data={"csrf_token": token, "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 303
    with TestClient(app, follow_redirects=False) as fresh:
        assert sign_in(fresh, "researcher", NEW_PASSWORD).status_code == 303
    gone = client.post(
        f"/admin/users/{researcher}/deactivate", data={"csrf_token": token, "reason": "left"}
    )
    assert gone.status_code == 303
    assert by_name(db, users)["researcher"].active is False
    with TestClient(app, follow_redirects=False) as fresh:
        assert sign_in(fresh, "researcher", NEW_PASSWORD).status_code == 401
    own = users[Role.ADMIN].user_id
    self_off = client.post(
        f"/admin/users/{own}/deactivate", data={"csrf_token": token, "reason": "oops"}
    )
    assert self_off.status_code == 422
    assert "a user other than yourself" in unescape(self_off.text)
