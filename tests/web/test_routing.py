"""An API handler takes one trip to the handler threads (:mod:`psotrack.web.routing`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from anyio import to_thread
from anyio.to_thread import current_default_thread_limiter
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel

from psotrack.services.context import Database
from psotrack.settings import Settings
from psotrack.web.app import create_app
from psotrack.web.routing import _WIDE, Router, one_trip, reads_many_patients
from tests.web.conftest import token_of

SECRET = "s" * 40


def _until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 10
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Answer(BaseModel):
    value: int


def test_an_api_answer_is_not_queued_a_second_time(db: Database, users) -> None:
    """One handler thread, held; an API read (with a response model) is queued, then a page read
    that waits for the API's answer. The API's answer must not wait for a second turn on the
    handler thread behind that page read (FastAPI's own way for a plain handler: its answer
    checked on the threads again, and here both would wait for each other until timeout)."""
    app = create_app(Settings(secret_key=SECRET, threads=1), db=db)
    release, holding, answered = threading.Event(), threading.Event(), threading.Event()
    saw: list[bool] = []

    @app.get("/hold-the-handler-thread")
    def hold() -> None:
        holding.set()
        release.wait(10)

    @app.get("/wait-for-the-api-answer")
    def wait_for_answer() -> None:
        saw.append(answered.wait(5))

    @app.get("/waiting")
    async def waiting() -> int:
        return int(current_default_thread_limiter().statistics().tasks_waiting)

    router = Router()  # as the API's routers: a plain handler with a response model

    @router.get("/an-api-read", response_model=Answer)
    def api() -> Answer:
        return Answer(value=1)

    app.include_router(router)
    with TestClient(app) as client:
        statuses: list[int] = []

        def api_read() -> None:
            statuses.append(client.get("/an-api-read").status_code)
            answered.set()

        held = threading.Thread(target=client.get, args=("/hold-the-handler-thread",))
        reader = threading.Thread(target=api_read)
        page = threading.Thread(target=client.get, args=("/wait-for-the-api-answer",))
        held.start()
        try:
            assert holding.wait(10)
            reader.start()
            assert _until(lambda: client.get("/waiting").json() == 1)
            page.start()
            assert _until(lambda: client.get("/waiting").json() == 2)
        finally:
            release.set()
        for thread in (held, reader, page):
            thread.join(15)
    assert statuses == [200]
    assert saw == [True]  # the API had answered while the page read still held the thread


def test_every_route_runs_its_handler_in_one_trip(db: Database) -> None:
    """Every route of the app hands FastAPI a coroutine (a plain handler wrapped by
    :func:`one_trip`), so no answer is checked on the handler threads a second time."""
    app = create_app(Settings(secret_key=SECRET), db=db)
    routes = [
        context
        for context in iter_route_contexts(app.routes)  # included routers, as test_route_rules
        if isinstance(context.route, APIRoute)
    ]
    assert len([c for c in routes if c.path.startswith("/api/")]) > 20
    assert len([c for c in routes if not c.path.startswith("/api/")]) > 20
    plain = [c.path for c in routes if one_trip(c.route.endpoint) is not c.route.endpoint]
    assert plain == []


def test_a_write_is_not_queued_behind_reads(db: Database, users) -> None:
    """With the one handler thread held by a slow read, a write (POST) on a :class:`Router`
    still answers: writes run on threads of their own; a read queues for the held thread."""
    app = create_app(Settings(secret_key=SECRET, threads=1), db=db)
    release, holding = threading.Event(), threading.Event()
    router = Router()

    @router.get("/hold-the-handler-thread")
    def hold() -> None:
        holding.set()
        release.wait(10)

    @router.post("/a-write")
    def write() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    @router.get("/a-read")
    def read() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    app.include_router(router)
    with TestClient(app) as client:
        held = threading.Thread(target=client.get, args=("/hold-the-handler-thread",))
        held.start()
        try:
            assert holding.wait(10)
            answers: list[int] = []
            writer = threading.Thread(
                target=lambda: answers.append(client.post("/a-write").status_code)
            )
            reader = threading.Thread(
                target=lambda: answers.append(client.get("/a-read").status_code)
            )
            writer.start()
            writer.join(10)
            assert answers == [200]  # answered while the handler thread is held
            reader.start()
            reader.join(0.5)
            assert reader.is_alive() and len(answers) == 1  # the read waits for the held thread
        finally:
            release.set()
            held.join(10)
            reader.join(10)
    assert len(answers) == 2


def test_a_read_across_patients_does_not_hold_up_the_other_reads(db: Database, users) -> None:
    """With the wide-read thread held by a read across many patients, a plain read (as a
    patient's page) still answers on the handler thread, and a second wide read waits."""
    app = create_app(Settings(secret_key=SECRET, threads=1), db=db)
    release, holding = threading.Event(), threading.Event()
    router = Router()

    @router.get("/hold-the-wide-read-thread")
    @reads_many_patients
    def hold() -> None:
        holding.set()
        release.wait(10)

    @router.get("/another-wide-read")
    @reads_many_patients
    def another() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    @router.get("/a-read")
    def read() -> dict[str, str]:
        return {"thread": threading.current_thread().name}

    app.include_router(router)
    with TestClient(app) as client:
        held = threading.Thread(target=client.get, args=("/hold-the-wide-read-thread",))
        held.start()
        try:
            assert holding.wait(10)
            answers: list[int] = []
            wide = threading.Thread(
                target=lambda: answers.append(client.get("/another-wide-read").status_code)
            )
            wide.start()
            assert client.get("/a-read").status_code == 200  # the handler thread is free
            wide.join(0.5)
            assert wide.is_alive() and answers == []  # waits for the held wide-read thread
        finally:
            release.set()
            held.join(10)
            wide.join(10)
    assert answers == [200]


def test_the_lists_across_patients_run_on_the_wide_read_thread(db: Database) -> None:
    """The patient list (page and API), the alerts and the cohort views are marked, and none
    of a single patient's routes is."""
    app = create_app(Settings(secret_key=SECRET), db=db)
    marked = {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute)
        and getattr(getattr(context.route.endpoint, "__wrapped__", None), _WIDE, False)
        for method in context.route.methods
    }
    assert {
        ("GET", "/patients"),
        ("GET", "/api/v1/patients"),
        ("GET", "/alerts"),
        ("GET", "/api/v1/alerts"),
        ("GET", "/cohort"),
        ("GET", "/api/v1/cohort/rates"),
    } <= marked
    assert not {path for _, path in marked if "{patient_id}" in path}


def test_one_trip_keeps_what_fastapi_reads_from_the_handler() -> None:
    def handler(patient_id: int, page: int = 1) -> dict[str, int]:
        """Docs."""
        return {"patient_id": patient_id, "page": page}

    wrapped = one_trip(handler)
    assert wrapped.__wrapped__ is handler  # type: ignore[attr-defined]
    assert wrapped.__name__ == "handler" and wrapped.__doc__ == "Docs."
    assert one_trip(wrapped) is wrapped


def test_sign_in_reads_a_sqlite_file_on_the_event_loop(db: Database, users) -> None:
    """With the only sign-in thread held, a signed-in request on SQLite still answers: the
    user is read on the event loop (a local file); on PostgreSQL it waits for the thread (a
    server's round trip never holds the event loop)."""
    app = create_app(Settings(secret_key=SECRET), db=db)
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        holding.set()
        release.wait(10)

    @app.get("/hold-the-sign-in-thread")
    async def hold_sign_in() -> None:
        app.state.sign_in_threads.total_tokens = 1
        await to_thread.run_sync(hold, limiter=app.state.sign_in_threads)

    with TestClient(app) as client:
        bearer = {"Authorization": f"Bearer {token_of(client, 'clinician')}"}
        held = threading.Thread(target=client.get, args=("/hold-the-sign-in-thread",))
        held.start()
        answers: list[int] = []
        reader = threading.Thread(
            target=lambda: answers.append(
                client.get("/api/v1/patients", headers=bearer).status_code
            )
        )
        try:
            assert holding.wait(10)
            reader.start()
            reader.join(3)
            if db.engine.dialect.name == "sqlite":
                assert answers == [200]  # answered while the sign-in thread is held
            else:
                assert reader.is_alive() and answers == []  # it waits for the thread
        finally:
            release.set()
            held.join(10)
            reader.join(10)
    assert answers == [200]
