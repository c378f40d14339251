"""The web app on a migrated database of each kind, with one signed-in client per role.

Every user's password is :data:`PASSWORD`. Argon2 runs with light parameters here (the hash
format and checks are the same; the benchmark and production use the library's defaults), so
that signing in five roles per test stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, enroll_patient
from psotrack.services.users import create_user
from psotrack.settings import Settings
from psotrack.store.vocabulary import Role
from psotrack.web import create_app

PASSWORD = "correct horse battery 7"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr("psotrack.services.auth.password_hasher", lambda: light)


@pytest.fixture
def db(engine, tmp_path) -> Database:
    return Database.from_engine(engine, photo_dir=tmp_path / "photos")


#: The patient the ``patient`` user is linked to (a patient account names its patient).
OWN_MRN = "MRN-OWN-1"
OWN_NAME = ("Ownrecord", "Pat")


@pytest.fixture
def own_patient(db) -> int:
    """The patient the patient-role user is linked to: one patient enrolled in a program."""
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "Own-record test program",
            "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
            "product_source": "UC-MSC",
            "route": "IV",
        },
    )
    form = {
        "mrn": OWN_MRN,
        "family_name": OWN_NAME[0],
        "given_name": OWN_NAME[1],
        "birth_date": date(1979, 3, 14),
        "sex": "female",
        "program_id": program,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    return enroll_patient(db, SYSTEM, form)


@pytest.fixture
def users(db, own_patient) -> dict[Role, Actor]:
    """One active user of every role, named after it, with :data:`PASSWORD`; the patient user
    is linked to :func:`own_patient`."""
    out = {}
    for role in Role:
        form = {"username": role.value, "display_name": f"Test {role.value}", "role": role.value}
        if role is Role.PATIENT:
            form["patient_id"] = own_patient
        out[role] = Actor(create_user(db, SYSTEM, form, PASSWORD), role, role.value)
    return out


@pytest.fixture
def app(db, users):
    return create_app(Settings(secret_key=SECRET), db=db)


@pytest.fixture
def anonymous(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


def csrf_of(page_text: str) -> str:
    found = CSRF.search(page_text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):
    """Sign ``client`` in through the login form (CSRF token included); the response."""
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def client_for(app) -> Iterator[Callable[[Role], TestClient]]:
    """A factory: a new client signed in as the user of that role."""
    opened: list[TestClient] = []

    def make(role: Role) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        response = sign_in(client, role.value)
        assert response.status_code == 303, response.text
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def token_of(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """A bearer token for ``username`` from ``POST /api/v1/token`` (the OAuth2 password flow)."""
    response = client.post("/api/v1/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def api_for(app) -> Iterator[Callable[[Role], TestClient]]:
    """A factory: a new client that sends a bearer token of the user of that role (no cookie)."""
    opened: list[TestClient] = []

    def make(role: Role) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        client.headers["Authorization"] = f"Bearer {token_of(client, role.value)}"
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
