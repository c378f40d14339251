"""What a server process sets up when it starts: its handler threads and its kept statuses."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from datetime import date

import polars as pl
import pytest
from anyio.to_thread import current_default_thread_limiter
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from psotrack.errors import ValidationError
from psotrack.services import status
from psotrack.services.context import SYSTEM, Database
from psotrack.services.imports import import_assessments
from psotrack.services.patients import create_program
from psotrack.settings import Settings
from psotrack.store import upgrade
from psotrack.store.engine import temporary_schema_engine
from psotrack.store.vocabulary import Role
from psotrack.web.app import connections_held, create_app
from psotrack.web.routing import one_trip
from tests.conftest import POSTGRES_URL_VARIABLE

SECRET = "s" * 40


def test_the_handler_thread_pool_has_the_configured_size(db: Database) -> None:
    app = create_app(Settings(secret_key=SECRET, threads=3), db=db)

    @app.get("/thread-pool-size")
    async def size() -> int:
        return int(current_default_thread_limiter().total_tokens)

    with TestClient(app) as client:
        assert client.get("/thread-pool-size").json() == 3


def test_writes_take_turns_on_sqlite_and_run_two_at_once_on_a_database_server(
    db: Database,
) -> None:
    """Three writes sent at once through the app's write threads: on SQLite (one writer at a
    time holds the file) they run one at a time; on a database server two run at once. Each
    write waits, up to 0.5 s, for a second one to run beside it."""
    app = create_app(Settings(secret_key=SECRET, warm_statuses=0, warm_pages=0), db=db)
    running, most = 0, 0
    changed = threading.Condition()

    def write() -> None:
        nonlocal running, most
        with changed:
            running += 1
            most = max(most, running)
            changed.notify_all()
            changed.wait_for(lambda: most >= 2, timeout=0.5)
            running -= 1

    app.add_api_route("/slow-write", one_trip(write, writes=True), methods=["POST"])
    with TestClient(app) as client:
        sent = [threading.Thread(target=client.post, args=("/slow-write",)) for _ in range(3)]
        for thread in sent:
            thread.start()
        for thread in sent:
            thread.join()
    assert most == (1 if db.engine.dialect.name == "sqlite" else 2)


@pytest.mark.parametrize("freeze", [True, False])
def test_a_started_process_freezes_what_it_has_made_when_the_setting_is_on(
    db: Database, freeze: bool
) -> None:
    """With ``freeze_after_start`` the objects alive once the app has started (here the app
    itself) are out of the garbage collector's reach (``gc.freeze``); without it, nothing is."""
    gc.unfreeze()
    settings = Settings(secret_key=SECRET, warm_statuses=0, warm_pages=0)
    app = create_app(settings.model_copy(update={"freeze_after_start": freeze}), db=db)
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert (frozen > 0) is freeze


@pytest.mark.parametrize(("setting", "kept"), [(4096, 3), (2, 2), (0, 0)])
def test_each_process_derives_the_statuses_at_start(db: Database, setting: int, kept: int) -> None:
    """Three patients with a PASI: the process keeps the status of as many as the setting
    allows (``services.status.keep_statuses``; tested against the one-patient path there)."""
    program = create_program(
        db, SYSTEM, {"name": "P", "regimen": "UC-MSC IV", "product_source": "UC-MSC", "route": "IV"}
    )
    frame = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B", "C"],
            "visit": ["W0", "W4", "W0", "W0"],
            "day": [0, 28, 0, 0],
            "pasi": ["12.0", "3.0", "8.0", "20.0"],
        }
    )
    import_assessments(db, SYSTEM, frame, program_id=program, day_zero=date(2026, 3, 2), source="t")
    status._DERIVED.clear()
    with TestClient(
        create_app(Settings(secret_key=SECRET, warm_statuses=setting, warm_pages=0), db=db)
    ):
        assert len(status._DERIVED) == kept


def test_the_live_score_is_not_queued_behind_busy_handlers(db: Database, users) -> None:
    """With the one handler thread held by a slow request, a live score (signed in by bearer
    token) still answers: the user look-up has threads of its own and the scorer runs on the
    event loop."""
    from tests.web.conftest import token_of

    app = create_app(Settings(secret_key=SECRET, threads=1), db=db)
    release, holding = threading.Event(), threading.Event()

    @app.get("/hold-the-handler-thread")
    def hold() -> None:
        holding.set()
        release.wait(10)

    region = {"erythema": 2, "induration": 2, "desquamation": 1, "area": 3}
    responses = dict.fromkeys(("head", "upper_limbs", "trunk", "lower_limbs"), region)
    with TestClient(app) as client:
        bearer = {"Authorization": f"Bearer {token_of(client, 'clinician')}"}
        held = threading.Thread(target=client.get, args=("/hold-the-handler-thread",))
        held.start()
        try:
            assert holding.wait(10)
            answers: list[int] = []
            scorer = threading.Thread(
                target=lambda: answers.append(
                    client.post("/api/v1/score/pasi", json=responses, headers=bearer).status_code
                )
            )
            scorer.start()
            scorer.join(10)
            assert answers == [200]  # answered while the handler thread is still held
            assert held.is_alive()
        finally:
            release.set()
            held.join(10)


@pytest.mark.parametrize("every_ms", [20, 0])
def test_each_process_derives_the_patients_scored_since_start(db: Database, every_ms: int) -> None:
    """A score recorded while the app runs (here through the import service, as another
    process would) is derived by the app's own refresh within moments (``warm_every_ms``);
    with 0 nothing is derived until the patient's next view."""
    program = create_program(
        db, SYSTEM, {"name": "P", "regimen": "UC-MSC IV", "product_source": "UC-MSC", "route": "IV"}
    )
    rows = {"patient_id": ["A", "A"], "visit": ["W0", "W4"], "day": [0, 28], "pasi": ["12", "3"]}
    settings = Settings(secret_key=SECRET, warm_statuses=0, warm_every_ms=every_ms)
    with TestClient(create_app(settings, db=db)):
        status._DERIVED.clear()
        frame = pl.DataFrame(rows)
        import_assessments(
            db, SYSTEM, frame, program_id=program, day_zero=date(2026, 3, 2), source="t"
        )
        deadline = time.monotonic() + (5 if every_ms else 0.2)  # 0.2 s: ten refresh periods
        while not status._DERIVED and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(status._DERIVED) == (1 if every_ms else 0)


def test_a_server_process_keeps_a_connection_open_for_each_thread_that_may_hold_one() -> None:
    """On PostgreSQL, the threads of one process holding connections all at once, and then
    again, find the same connections: none was closed and opened anew (each new one a new
    server process with cold caches)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL tests skipped: set {POSTGRES_URL_VARIABLE} to run them")
    settings = Settings(secret_key=SECRET, threads=3)
    held = connections_held(settings)
    # The handlers, the writes, the reads across many patients, the sign-in look-ups, the warmer.
    assert held == 3 + 2 + 1 + 2 + 1
    with temporary_schema_engine(url) as schema_engine:
        upgrade(schema_engine)
        with schema_engine.connect() as connection:
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
        served = settings.model_copy(
            update={"database_url": f"{url}?options=-csearch_path%3D{schema}"}
        )
        engine = create_app(served).state.db.engine
        try:
            first = _backends_held_at_once(engine, held)
            assert len(set(first)) == held
            assert _backends_held_at_once(engine, held) == first
        finally:
            engine.dispose()


def _backends_held_at_once(engine: Engine, count: int) -> list[int]:
    """The server processes of ``count`` connections checked out together."""
    with contextlib.ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(count)]
        return sorted(
            c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in connections
        )


def test_each_process_renders_the_recent_pages_at_start(
    db: Database, users, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``warm_pages=2`` of three patients with visits, the two with the latest visits are
    served to a clinician at once (nothing rendered for them), the third is rendered on its
    view, and each page served at once is the page its view renders itself. A coordinator, who
    is offered other actions, gets pages of their own."""
    from psotrack.web.routes import patient_page
    from tests.web.conftest import sign_in

    program = create_program(
        db, SYSTEM, {"name": "P", "regimen": "UC-MSC IV", "product_source": "UC-MSC", "route": "IV"}
    )
    frame = pl.DataFrame(
        {
            "patient_id": ["A", "A", "B", "C"],
            "visit": ["W0", "W4", "W0", "W0"],
            "day": [0, 28, 14, 0],  # latest visit: A (day 28), then B (day 14), then C (day 0)
            "pasi": ["12.0", "3.0", "8.0", "20.0"],
        }
    )
    import_assessments(db, SYSTEM, frame, program_id=program, day_zero=date(2026, 3, 2), source="t")
    latest = status.recent_patients(db, 3)
    assert len(latest) == 3
    patient_page._PAGES.clear()
    rendered: list[int] = []
    real = patient_page._keep_page

    def counted(db, found, role):
        rendered.append(found.timeline.patient.id)
        return real(db, found, role)

    app = create_app(Settings(secret_key=SECRET, warm_pages=2), db=db)
    with TestClient(app) as client:
        monkeypatch.setattr(patient_page, "_keep_page", counted)
        sign_in(client, Role.CLINICIAN.value)
        served = [client.get(f"/patients/{pid}") for pid in latest]
        assert [r.status_code for r in served] == [200, 200, 200]
        assert rendered == [latest[2]]
        patient_page._PAGES.clear()
        assert [client.get(f"/patients/{pid}").text for pid in latest] == [r.text for r in served]
        assert rendered == [latest[2], *latest]
        client.cookies.clear()
        sign_in(client, Role.COORDINATOR.value)
        client.get(f"/patients/{latest[0]}")
        assert rendered[-1] == latest[0] and len(rendered) == 5


def test_a_page_that_cannot_be_rendered_at_start_is_left_to_its_view(
    db: Database, users, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record the engine refuses (a ValidationError) skips that page; an error of the whole
    warm-up (here: the system user missing) is logged and the app starts all the same."""
    from psotrack.errors import PermissionDenied
    from psotrack.web.routes import patient_page

    program = create_program(
        db, SYSTEM, {"name": "P", "regimen": "UC-MSC IV", "product_source": "UC-MSC", "route": "IV"}
    )
    frame = pl.DataFrame(
        {"patient_id": ["A", "B"], "visit": ["W0", "W0"], "day": [0, 14], "pasi": ["12.0", "8.0"]}
    )
    import_assessments(db, SYSTEM, frame, program_id=program, day_zero=date(2026, 3, 2), source="t")
    refused, kept = status.recent_patients(db, 2)
    real = patient_page._keep_page

    def refusing(db, found, role):
        if found.timeline.patient.id == refused:
            raise ValidationError("pasi", "x", "a record the engine accepts")
        return real(db, found, role)

    monkeypatch.setattr(patient_page, "_keep_page", refusing)
    patient_page._PAGES.clear()
    assert patient_page.keep_pages(db, [refused, kept]) == 1
    assert len(patient_page._PAGES) == 1

    def denied(*args, **kwargs):
        raise PermissionDenied("the database has no 'system' user")

    monkeypatch.setattr("psotrack.web.app.keep_pages", denied)
    with TestClient(create_app(Settings(secret_key=SECRET), db=db)) as client:
        assert client.get("/healthz").status_code == 200
