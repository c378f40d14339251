"""An API handler takes one trip to the handler threads (:mod:`psotrack.web.routing`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
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


#: For the lane held: a request on another lane (answered while it is held) and a second request
#: on the held lane (which waits for it).
LANES = {
    "handler": (("POST", "/a-write"), ("GET", "/a-read")),
    "wide read": (("GET", "/a-read"), ("GET", "/a-wide-read")),
}


@pytest.mark.parametrize("held", list(LANES))
def test_a_held_lane_holds_up_its_own_requests_only(db: Database, users, held: str) -> None:
    """Each server process has lanes of threads: the handler threads (one here), the write
    threads, and the thread of the reads across many patients. With the ``held`` lane's thread
    held by a slow request, a request on another lane still answers (a write while the reads
    are held; a patient's page while a list is), and a second request on the held lane waits."""
    app = create_app(Settings(secret_key=SECRET, threads=1), db=db)
    release, holding = threading.Event(), threading.Event()
    router = Router()

    def hold() -> None:
        holding.set()
        release.wait(10)

    def read() -> str:
        return threading.current_thread().name

    def write() -> str:
        return threading.current_thread().name

    def wide_read() -> str:
        return threading.current_thread().name

    router.get("/hold")(reads_many_patients(hold) if held == "wide read" else hold)
    router.get("/a-read")(read)
    router.post("/a-write")(write)
    router.get("/a-wide-read")(reads_many_patients(wide_read))
    app.include_router(router)
    (free_method, free_path), (queued_method, queued_path) = LANES[held]
    with TestClient(app) as client:
        held_request = threading.Thread(target=client.get, args=("/hold",))
        held_request.start()
        answers: list[int] = []
        queued = threading.Thread(
            target=lambda: answers.append(client.request(queued_method, queued_path).status_code)
        )
        try:
            assert holding.wait(10)
            assert client.request(free_method, free_path).status_code == 200  # another lane
            queued.start()
            queued.join(0.5)
            assert queued.is_alive() and answers == []  # waits for the held thread
        finally:
            release.set()
            held_request.join(10)
            if queued.ident is not None:  # started
                queued.join(10)
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
