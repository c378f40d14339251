"""Every route declares one access rule, and every role (and anonymous) gets what it should.

The table of who may pass each rule is written here, from the issue's role descriptions, not
read from :mod:`psotrack.web.rules`: a rule that grants too much fails this test.

The walk runs on a small synthetic cohort; every page and API answer a role receives is also
searched for patient identifiers it must not see (researchers: any patient's; the patient role:
any other patient's).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from psotrack.services.demo import build_demo
from psotrack.store.models import Patient, PatientIdentity, Photo, SafetyFlag, Visit
from psotrack.store.vocabulary import Role
from psotrack.web.rules import Rule
from tests.web.conftest import csrf_of

ROLES: tuple[Role | None, ...] = (None, *Role)
STAFF = {Role.ADMIN, Role.CLINICIAN, Role.COORDINATOR}

#: Who passes each rule (by its name): the issue's roles, written out by hand.
EXPECTED: dict[str, set[Role | None]] = {
    "public": {None, *Role},
    "signed in": set(Role),
    "identified records": STAFF,
    "de-identified records": STAFF | {Role.RESEARCHER},
    "record clinical data": STAFF,
    "record administrations": {Role.ADMIN, Role.CLINICIAN},
    "report adverse events": STAFF,
    "enroll and withdraw": STAFF,
    "correct or delete": {Role.ADMIN, Role.CLINICIAN},
    "manage users": {Role.ADMIN},
    "acknowledge alerts": STAFF,
    "own record": {Role.PATIENT},
    "record own outcomes": {Role.PATIENT},
}


def route_rules(app) -> list[tuple[Any, Rule]]:
    """Every API route of ``app`` (as its route context: full path, methods) with its rule.

    FastAPI ≥ 0.16x keeps included routers as ``_IncludedRouter`` entries of ``app.routes``:
    the routes are reached through :func:`fastapi.routing.iter_route_contexts`.
    """
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        rules = [d.call for d in route.dependant.dependencies if isinstance(d.call, Rule)]
        assert len(rules) == 1, f"{context.path} declares {len(rules)} access rules, not one"
        found.append((context, rules[0]))
    assert len(found) > 10, "the walk found almost no routes: is app.routes read the right way?"
    return found


def test_every_route_declares_exactly_one_known_rule(app):
    for route, rule in route_rules(app):
        assert rule.name in EXPECTED, f"{route.path}: rule {rule.name!r} is not in the table"


@pytest.fixture
def own_patient(db) -> int:
    """Three synthetic patients; the patient-role user is linked to the second (the demo's own
    patient account has the first)."""
    build_demo(db, patients=3, seed=7)
    with db.transaction() as session:
        return session.scalars(select(Patient.id).order_by(Patient.id)).all()[1]


@pytest.fixture
def cohort(db, users, own_patient) -> dict[str, Any]:
    """Path values for every route parameter; the identifiers of every patient, and those of
    the patient-role user's own patient (which that user may see)."""
    with db.transaction() as session:
        patients = session.scalars(select(Patient).order_by(Patient.id)).all()
        identities = session.scalars(select(PatientIdentity)).all()
        photo = session.scalar(select(Photo.id).where(Photo.patient_id == patients[0].id))
        flag = session.scalar(select(SafetyFlag.id).order_by(SafetyFlag.id))
        values = {
            "patient_id": patients[0].id,
            "instrument": "pasi",
            "chart": "pasi",
            "photo_id": photo,
            "flag_id": flag or 1,
            "user_id": users[Role.RESEARCHER].user_id,
            "research_id": patients[0].research_id,
        }
        visit = session.scalars(select(Visit).where(Visit.patient_id == patients[0].id)).first()
        assert visit is not None
        values |= {"table": "visits", "row_id": visit.id}
        secrets, own = set(), set()
        for identity in identities:
            shown = {identity.mrn, identity.family_name + ", " + identity.given_name}
            secrets |= shown
            if identity.patient_id == own_patient:
                own |= shown
    return {"values": values, "identifiers": secrets, "own": own}


def fill(path: str, values: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        assert name in values, f"no test value for the path parameter {name!r} of {path}"
        return str(values[name])

    return re.sub(r"\{([^}]+)\}", one, path)


def request_as(client: TestClient, method: str, path: str, csrf: str):
    if method in ("GET", "HEAD"):
        return client.request(method, path)
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if path.startswith("/api/"):
        return client.request(method, path, json={}, headers=headers)
    return client.request(method, path, data={"csrf_token": csrf}, headers=headers)


def refused(role: Role | None, path: str, response, rule: Rule) -> bool:
    if not rule.signed_in:  # a public route refuses no one ("/" sends a visitor to sign in)
        return response.status_code in (401, 403)
    if role is None:
        if path.startswith("/api/"):
            return response.status_code == 401
        return response.status_code == 303 and response.headers["location"].startswith("/login")
    return response.status_code == 403


def test_every_route_with_every_role(app, client_for, cohort):
    routes = route_rules(app)
    for role in ROLES:
        client = TestClient(app, follow_redirects=False) if role is None else client_for(role)
        csrf = csrf_of(client.get("/login" if role is None else "/account/password").text)
        for route, rule in routes:
            if route.path in ("/logout", "/login", "/api/v1/token"):
                continue  # these change the session itself: tested in test_sign_in
            path = fill(route.path, cohort["values"])
            for method in sorted(route.methods - {"HEAD"}):
                response = request_as(client, method, path, csrf)
                allowed = role in EXPECTED[rule.name]
                where = f"{method} {route.path} as {role.value if role else 'anonymous'}"
                assert response.status_code < 500, f"{where}: {response.status_code}"
                assert refused(role, path, response, rule) != allowed, (
                    f"{where}: {response.status_code} but the rule {rule.name!r} "
                    f"{'allows' if allowed else 'refuses'} it"
                )
                if role in (Role.RESEARCHER, Role.PATIENT, None):
                    # A patient may see their own identifiers, never another patient's.
                    mine = cohort["own"] if role is Role.PATIENT else set()
                    leaked = [s for s in cohort["identifiers"] - mine if s in response.text]
                    assert not leaked, f"{where}: shows {leaked}"
