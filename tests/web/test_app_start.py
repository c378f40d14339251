"""What a server process sets up when it starts: its handler threads and its kept statuses."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from anyio.to_thread import current_default_thread_limiter
from fastapi.testclient import TestClient

from psotrack.services import status
from psotrack.services.context import SYSTEM, Database
from psotrack.services.imports import import_assessments
from psotrack.services.patients import create_program
from psotrack.settings import Settings
from psotrack.web.app import create_app

SECRET = "s" * 40


def test_the_handler_thread_pool_has_the_configured_size(db: Database) -> None:
    app = create_app(Settings(secret_key=SECRET, threads=3), db=db)

    @app.get("/thread-pool-size")
    async def size() -> int:
        return int(current_default_thread_limiter().total_tokens)

    with TestClient(app) as client:
        assert client.get("/thread-pool-size").json() == 3


@pytest.mark.parametrize(("setting", "kept"), [(4096, 3), (2, 2), (0, 0)])
def test_each_process_derives_the_statuses_at_start(db: Database, setting: int, kept: int) -> None:
    """Three patients with a PASI: the process keeps the status of as many as the setting
    allows (``services.status.warm_statuses``; tested against the one-patient path there)."""
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
    with TestClient(create_app(Settings(secret_key=SECRET, warm_statuses=setting), db=db)):
        assert len(status._DERIVED) == kept
