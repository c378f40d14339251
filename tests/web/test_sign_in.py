"""Signing in and out, sessions, CSRF, bearer tokens and the security headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from psotrack.services.auth import MAX_FAILED_SIGN_INS, SIGN_IN_REFUSED
from psotrack.services.users import deactivate_user, set_password
from psotrack.store.vocabulary import Role
from psotrack.web.sessions import COOKIE
from tests.web.conftest import PASSWORD, csrf_of, sign_in


def test_a_clinician_signs_in_and_lands_on_the_patient_list(anonymous):
    response = sign_in(anonymous, "clinician")
    assert response.status_code == 303
    assert response.headers["location"] == "/patients"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = anonymous.get("/patients")
    assert page.status_code == 200
    assert "Test clinician" not in page.text  # the display name is not shown; the username is
    assert "clinician (clinician)" in page.text


def test_each_role_starts_where_its_work_is(anonymous, app):
    starts = {Role.RESEARCHER: "/cohort", Role.PATIENT: "/me", Role.ADMIN: "/patients"}
    for role, page in starts.items():
        with TestClient(app, follow_redirects=False) as client:
            assert sign_in(client, role.value).headers["location"] == page


def test_a_wrong_password_gets_the_one_refusal_and_no_session(anonymous):
    response = sign_in(anonymous, "clinician", "not the password at all")
    assert response.status_code == 401
    assert SIGN_IN_REFUSED in response.text
    assert anonymous.get("/patients").status_code == 303  # still signed out


def test_an_unknown_user_reads_exactly_like_a_wrong_password(anonymous):
    unknown = sign_in(anonymous, "nobody-here", PASSWORD)
    wrong = sign_in(anonymous, "clinician", "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert SIGN_IN_REFUSED in unknown.text and SIGN_IN_REFUSED in wrong.text


def test_the_account_locks_after_repeated_failures_even_for_the_right_password(anonymous):
    for _ in range(MAX_FAILED_SIGN_INS):
        assert sign_in(anonymous, "coordinator", "wrong password again").status_code == 401
    assert sign_in(anonymous, "coordinator", PASSWORD).status_code == 401


def test_signed_out_pages_send_the_visitor_to_sign_in_and_back(anonymous):
    response = anonymous.get("/patients?q=Doe")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/patients"
    token = csrf_of(anonymous.get("/login?next=/patients").text)
    back = anonymous.post(
        "/login",
        data={
            "username": "clinician",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/patients",
        },
    )
    assert back.headers["location"] == "/patients"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil", "x"])
def test_sign_in_never_redirects_off_site(anonymous, target):
    token = csrf_of(anonymous.get("/login").text)
    response = anonymous.post(
        "/login",
        data={"username": "clinician", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["location"] == "/patients"


def test_a_form_without_its_csrf_token_is_refused(anonymous):
    anonymous.get("/login")
    response = anonymous.post("/login", data={"username": "clinician", "password": PASSWORD})
    assert response.status_code == 403
    assert "the form has expired" in response.text


def test_a_csrf_token_from_before_sign_in_is_dead_after_it(anonymous):
    old = csrf_of(anonymous.get("/login").text)
    assert sign_in(anonymous, "clinician").status_code == 303
    response = anonymous.post("/logout", data={"csrf_token": old})
    assert response.status_code == 403
    token = csrf_of(anonymous.get("/patients").text)
    assert anonymous.post("/logout", data={"csrf_token": token}).status_code == 303


def test_a_replayed_csrf_token_of_an_ended_session_is_refused(app):
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, "clinician")
        token = csrf_of(client.get("/patients").text)
        client.post("/logout", data={"csrf_token": token})
        sign_in(client, "clinician")
        response = client.post("/logout", data={"csrf_token": token})
        assert response.status_code == 403


def test_a_forged_or_expired_cookie_is_no_session(app, anonymous):
    anonymous.cookies.set(COOKIE, "eyJmb3JnZWQiOnRydWV9.forged.signature")
    assert anonymous.get("/patients").status_code == 303
    with TestClient(app, follow_redirects=False) as client:
        assert sign_in(client, "clinician").status_code == 303
        assert client.get("/patients").status_code == 200
        app.state.signer.session_seconds = -1  # the cookie is now older than a session lasts
        assert client.get("/patients").status_code == 303


def test_deactivating_a_user_ends_their_session_at_once(db, users, client_for):
    client = client_for(Role.CLINICIAN)
    assert client.get("/patients").status_code == 200
    deactivate_user(db, users[Role.ADMIN], users[Role.CLINICIAN].user_id, "left the clinic")
    assert client.get("/patients").status_code == 303


def test_a_new_password_ends_older_sessions(db, users, client_for):
    client = client_for(Role.CLINICIAN)
    set_password(db, users[Role.ADMIN], users[Role.CLINICIAN].user_id, "another good password 9")
    assert client.get("/patients").status_code == 303


def test_changing_ones_own_password_keeps_this_session_and_checks_the_policy(client_for):
    client = client_for(Role.RESEARCHER)
    token = csrf_of(client.get("/account/password").text)
    short = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "csrf_token": token},
    )
    assert short.status_code == 422
    assert "new_password=(hidden, 5 characters)" in short.text
    done = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a much longer one 42",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303
    assert "Your password was changed" in client.get(done.headers["location"]).text


def test_security_headers_on_every_page(anonymous):
    for path in ("/login", "/static/psotrack.css", "/nope"):
        headers = anonymous.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
    assert anonymous.get("/login").headers["cache-control"] == "no-store"


def test_the_api_token_flow(anonymous):
    refused = anonymous.post("/api/v1/token", data={"username": "clinician", "password": "x"})
    assert refused.status_code == 401
    assert refused.json() == {"detail": SIGN_IN_REFUSED}
    granted = anonymous.post("/api/v1/token", data={"username": "clinician", "password": PASSWORD})
    assert granted.status_code == 200
    body = granted.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    scored = anonymous.post(
        "/api/v1/score/itch_nrs",
        json={"score": 7},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert scored.status_code == 200 and scored.json()["score"] == "7"
    forged = anonymous.post(
        "/api/v1/score/itch_nrs", json={"score": 7}, headers={"Authorization": "Bearer abc.def"}
    )
    assert forged.status_code == 401
    assert forged.headers["www-authenticate"] == "Bearer"


def test_an_oversized_body_is_refused_before_it_is_read(anonymous):
    response = anonymous.post("/api/v1/token", content=b"x" * (21 * 1024 * 1024))
    assert response.status_code == 413


def test_an_unknown_address_keeps_the_session(client_for):
    client = client_for(Role.CLINICIAN)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "set-cookie" not in missing.headers
    assert client.get("/patients").status_code == 200
