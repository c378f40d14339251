"""Browser tests: the app served by uvicorn on 127.0.0.1, driven in Debian's Chromium.

Playwright's own browser download does not work here: the tests launch ``/usr/bin/chromium``
(installed by ``make test``'s set-up). Without it, or without Playwright, they skip and say why.
The server runs in a thread of the test process on a synthetic demo cohort in a temporary
SQLite file; every demo user's password is :data:`PASSWORD`. Screenshots of the main pages go
to ``tests/artifacts/`` (ignored by git).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "browser-test-password-1"


@dataclass(frozen=True)
class LiveServer:
    url: str
    db: object  # psotrack.services.context.Database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn
    from argon2 import PasswordHasher
    from sqlalchemy import select

    import psotrack.services.auth as auth
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.demo import build_demo
    from psotrack.services.users import set_password
    from psotrack.settings import Settings
    from psotrack.store import make_engine, upgrade
    from psotrack.store.models import User
    from psotrack.web import create_app

    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    original = auth.password_hasher
    auth.password_hasher = lambda: light  # type: ignore[assignment]
    folder = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=folder / "photos")
    build_demo(db, patients=4, seed=3)
    with db.transaction() as session:
        ids = session.scalars(select(User.id).where(User.username.like("demo-%"))).all()
    for user_id in ids:
        set_password(db, SYSTEM, user_id, PASSWORD)
    app = create_app(Settings(secret_key="browser-tests-secret-key-0123456789abcdef"), db=db)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield LiveServer(f"http://127.0.0.1:{port}", db)
    server.should_exit = True
    thread.join(10)
    engine.dispose()
    auth.password_hasher = original  # type: ignore[assignment]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # Script errors only: a refused or missing resource (a 403 the test provokes) is not one.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
