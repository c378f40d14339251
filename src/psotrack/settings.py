"""The one settings object of psotrack: environment variables with the ``PSOTRACK_`` prefix.

Nothing is read at import: call :func:`load_settings` (or build :class:`Settings` directly in
tests) and pass the object down.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from psotrack.errors import Problem, ValidationError


class Settings(BaseSettings):
    """Where psotrack keeps its data and how it behaves; every field has a safe default."""

    model_config = SettingsConfigDict(env_prefix="PSOTRACK_", extra="ignore", frozen=True)

    #: SQLAlchemy URL the application connects with; the default is an embedded SQLite file in
    #: the working folder. On PostgreSQL this is the runtime role (``psotrack db grant``).
    database_url: str = "sqlite:///psotrack.db"
    #: SQLAlchemy URL of the role that owns the schema, used by ``psotrack db upgrade``,
    #: ``downgrade``, ``grant``, ``backup`` and ``restore``; empty means ``database_url``.
    migration_url: str | None = None
    #: Folder where photo files are stored by content hash (outside the database).
    photo_dir: Path = Path("psotrack-photos")
    #: CTCAE version recorded with every graded adverse event unless a program sets its own.
    ctcae_version: str = "5.0"
    #: Key that signs the web app's session cookies and API tokens (at least 32 characters).
    #: Empty means a random key per server start: sessions then end when the server restarts.
    secret_key: str = ""
    #: How long a web session lasts without signing in again, in minutes (5 minutes to 24 hours).
    session_minutes: int = Field(default=480, ge=5, le=1440)
    #: How long an API bearer token is valid, in minutes (1 minute to 24 hours).
    token_minutes: int = Field(default=60, ge=1, le=1440)
    #: Largest photo upload the web app accepts, in bytes (at most the photo service's 50 MiB).
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024)
    #: Threads per server process that run the web app's route handlers (they read and write
    #: the database), 1–64. Python runs one thread at a time: threads beyond the cores only
    #: take turns, and measured on two cores (``benchmarks/bench_web.py``) forty of them doubled
    #: the server CPU a patient page costs. Raise it when the database is remote (a handler
    #: waiting on the network holds its thread).
    threads: int = Field(default=2, ge=1, le=64)
    #: Patients whose status (the endpoint engine's rows and sentence) each server process
    #: derives when it starts, in one pass of the engine, latest visit first (0–4096; 0: none,
    #: each is then derived on its first view). 4096 is what a process keeps
    #: (``services.status.KEPT_STATUSES``; settings import no service, so it is written here).
    warm_statuses: int = Field(default=4096, ge=0, le=4096)
    #: How often, in milliseconds, each server process derives (in one pass of the engine) the
    #: patients scored since it last looked, by any process, so that their next page and list
    #: views find their status ready (0–60000; 0: never, each is then derived on its next view).
    warm_every_ms: int = Field(default=500, ge=0, le=60_000)
    #: Patients whose page each server process renders and keeps when it starts, after their
    #: statuses, latest visit first (0–2048; 0: none, each is then rendered on its first view):
    #: a clinic's server that has run a while has its recent patients' pages ready, and one
    #: just started has them too. 2048 is what a process keeps
    #: (``web.routes.patient_page.KEPT_PAGES``). 1 000 pages took 3.3 s per process (measured).
    warm_pages: int = Field(default=2048, ge=0, le=2048)
    #: Once a server process has started (statuses and pages prepared), move every object then
    #: alive out of the garbage collector's way (``gc.freeze``): its full collections, which
    #: stop the whole process, then scan only what was made since. Measured in the benchmark on
    #: PostgreSQL (30 s, per process): without it 2–4 full collections of up to 160–215 ms
    #: each; with it 9–12 of at most 31 ms. ``psotrack serve`` turns it on; off by default,
    #: since a process that starts many apps (a test run) would keep what each start left.
    freeze_after_start: bool = False
    #: Folder of the core slots that the processes of one ``psotrack serve --workers N`` run
    #: claim, each process holding itself to a core of its own (``psotrack.web.cores``);
    #: ``psotrack serve`` makes it for the run and sets it. Unset: the processes run on any core.
    core_slots: Path | None = None

    @property
    def schema_owner_url(self) -> str:
        """The URL for schema changes: ``migration_url`` if set, else ``database_url``."""
        return self.migration_url or self.database_url


def load_settings() -> Settings:
    """Read the settings from the environment (``PSOTRACK_DATABASE_URL``, …).

    A value a setting refuses is a :class:`~psotrack.errors.ValidationError` naming the
    variable, the value and what is allowed (``PSOTRACK_THREADS=0: input should be greater
    than or equal to 1``), never a traceback.
    """
    try:
        return Settings()
    except pydantic.ValidationError as exc:
        problems = [
            Problem(
                "PSOTRACK_" + "_".join(str(part) for part in error["loc"]).upper(),
                error.get("input"),
                error["msg"][:1].lower() + error["msg"][1:],
                "invalid",
            )
            for error in exc.errors()
        ]
        raise ValidationError(problems=problems) from None
