"""Schemathesis over the served OpenAPI schema, signed in: no 5xx, no answer outside the schema.

Every operation of ``/api/v1/openapi.json`` is called with generated requests (valid and invalid)
as a clinician and as a researcher, on a SQLite database holding a small synthetic demo cohort;
every answer must be below 500 and conform to the schema (status code, content type, headers,
body), and every request that breaks the schema must be refused (4xx). The requests are counted:
at least :data:`MIN_REQUESTS` in all (2 300 in about 80-100 s on the 2-core machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from psotrack.services.context import SYSTEM, Database
from psotrack.services.demo import build_demo
from psotrack.services.users import create_user
from psotrack.settings import Settings
from psotrack.store import make_engine, upgrade
from psotrack.store.vocabulary import Role
from psotrack.web import create_app
from tests.web.conftest import PASSWORD, SECRET, token_of

#: Generated requests per operation, role and mode (valid, invalid): 22 operations × 2 roles ×
#: 2 modes × 25 ≈ 2 200 (fewer where an operation's inputs run out).
EXAMPLES = 25
MIN_REQUESTS = 2000
ROLES = (Role.CLINICIAN, Role.RESEARCHER)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    engine = make_engine(f"sqlite:///{folder / 'psotrack.db'}")
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=folder / "photos")
    build_demo(db, patients=3, seed=11)
    for role in ROLES:
        form = {"username": role.value, "display_name": f"Test {role.value}", "role": role.value}
        create_user(db, SYSTEM, form, PASSWORD)
    yield create_app(Settings(secret_key=SECRET), db=db)
    engine.dispose()


@pytest.fixture(scope="module")
def tokens(demo_app: FastAPI) -> dict[str, str]:
    with TestClient(demo_app) as client:
        return {role.value: token_of(client, role.value) for role in ROLES}


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def exercise(app: FastAPI, token: str) -> dict[str, int]:
    """Every operation with valid and with invalid generated requests; the count per operation."""
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    sent: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @SETTINGS
            def run(case: schemathesis.Case) -> None:
                key = f"{case.method.upper()} {case.path}"
                sent[key] = sent.get(key, 0) + 1
                case.call_and_validate(headers=headers, checks=CHECKS)

            run()
    return sent


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_no_server_error_and_no_schema_violation(
    demo_app: FastAPI, tokens: dict[str, str], role: Role
) -> None:
    started = time.perf_counter()
    sent = exercise(demo_app, tokens[role.value])
    total = sum(sent.values())
    print(
        f"\n{role.value}: {total} requests over {len(sent)} operations "
        f"in {time.perf_counter() - started:.0f} s"
    )
    assert len(sent) == len(demo_app.openapi()["paths"]) + 1  # GET and POST /api/v1/patients
    assert total >= MIN_REQUESTS // len(ROLES)
