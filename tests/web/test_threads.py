"""The web app's route handlers run on ``Settings.threads`` threads per server process."""

from __future__ import annotations

from anyio.to_thread import current_default_thread_limiter
from fastapi.testclient import TestClient

from psotrack.services.context import Database
from psotrack.settings import Settings
from psotrack.web.app import create_app


def test_the_handler_thread_pool_has_the_configured_size(db: Database) -> None:
    app = create_app(Settings(secret_key="s" * 40, threads=3), db=db)

    @app.get("/thread-pool-size")
    async def size() -> int:
        return int(current_default_thread_limiter().total_tokens)

    with TestClient(app) as client:
        assert client.get("/thread-pool-size").json() == 3
