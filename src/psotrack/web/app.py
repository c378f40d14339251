"""The application factory: ``create_app()`` builds the clinic web app and its JSON API.

Nothing is read or opened at import. ``create_app`` takes the settings (default: the
environment) or a ready :class:`~psotrack.services.context.Database` (tests), checks the secret
key, and wires the routes, error handlers and middleware. ``psotrack serve`` runs it under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import CapacityLimiter, to_thread
from anyio.to_thread import current_default_thread_limiter
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from psotrack import __version__
from psotrack.errors import PsotrackError, ValidationError
from psotrack.services.context import Database
from psotrack.services.status import recent_patients
from psotrack.services.warming import Warmer
from psotrack.settings import Settings, load_settings
from psotrack.web import errors
from psotrack.web.cores import pin_to_free_core
from psotrack.web.middleware import SecurityMiddleware
from psotrack.web.routes import ROUTERS
from psotrack.web.routes.patient_page import keep_pages
from psotrack.web.routing import (
    WIDE_READ_THREADS,
    WRITE_THREADS,
    use_write_threads,
    write_thread_count,
)
from psotrack.web.sessions import Signer

MIN_SECRET_LENGTH = 32
STATIC = Path(__file__).parent / "static"
log = logging.getLogger("psotrack.web")
#: Threads per process for the signed-in user's look-up from a database server
#: (``rules.sign_in``; a SQLite file is read on the event loop), apart from the route
#: handlers' (``Settings.threads``).
SIGN_IN_THREADS = 2


def connections_held(settings: Settings) -> int:
    """The most connections to a database server one server process holds at once: one per
    thread that may read or write (the handlers', the writes', the reads across many patients',
    the sign-in look-ups' and the warmer's; a SQLite file's connections are not pooled)."""
    return settings.threads + WRITE_THREADS + WIDE_READ_THREADS + SIGN_IN_THREADS + 1


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The psotrack web app on ``db`` (default: ``settings.database_url``)."""
    settings = settings if settings is not None else load_settings()
    if db is None:
        connections = connections_held(settings)
        db = Database.from_url(settings.database_url, settings.photo_dir, connections=connections)
    secret = settings.secret_key or secrets.token_urlsafe(48)
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError(
            "PSOTRACK_SECRET_KEY",
            f"({len(secret)} characters)",
            f"at least {MIN_SECRET_LENGTH} characters, or empty for a random key per start",
            "invalid",
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.core_slots is not None:  # first: the threads started from here inherit it
            core = pin_to_free_core(settings.core_slots)
            log.info("server process on core %s", core if core is not None else "any (none free)")
        # The route handlers' thread pool (anyio's, one per event loop): see Settings.threads.
        current_default_thread_limiter().total_tokens = settings.threads
        use_write_threads(write_thread_count(db.engine.dialect.name))
        app.state.sign_in_threads = CapacityLimiter(SIGN_IN_THREADS)
        warmer = Warmer(db, settings.warm_statuses)
        started = time.perf_counter()
        try:
            kept = await run_in_threadpool(warmer.start)
            log.info("%d patient statuses derived in %.1f s", kept, time.perf_counter() - started)
            started = time.perf_counter()
            rendered = await run_in_threadpool(_warm_pages, db, settings.warm_pages)
            log.info("%d patient pages rendered in %.1f s", rendered, time.perf_counter() - started)
        except (SQLAlchemyError, PsotrackError) as error:  # each view says what is wrong
            log.warning("patients not prepared at start: %s", type(error).__name__)
        if settings.freeze_after_start:
            gc.collect()  # what the start left behind goes first: frozen garbage would stay
            gc.freeze()
        warming = None
        if settings.warm_every_ms:
            warming = asyncio.create_task(_keep_warm(warmer, settings.warm_every_ms / 1000))
        yield
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming

    app = FastAPI(
        lifespan=lifespan,
        title="psotrack",
        version=__version__,
        summary="Measure, honestly, whether each psoriasis patient is improving and staying safe.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN: not offline
        redoc_url=None,
    )
    app.state.db = db
    app.state.settings = settings
    app.state.signer = Signer(secret, settings.session_minutes * 60, settings.token_minutes * 60)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityMiddleware, limit=settings.max_upload_bytes + 64 * 1024)
    return app


def _warm_pages(db: Database, limit: int) -> int:
    """Render and keep the pages of up to ``limit`` patients, latest visit first (after their
    statuses: each page shows its patient's); the number rendered."""
    return keep_pages(db, recent_patients(db, limit)) if limit else 0


async def _keep_warm(warmer: Warmer, seconds: float) -> None:
    """Every ``seconds``, derive the patients scored since the last look (on a thread of its
    own, not a route handler's), until cancelled when the app stops."""
    thread = CapacityLimiter(1)
    while True:
        await asyncio.sleep(seconds)
        try:
            await to_thread.run_sync(warmer.refresh, limiter=thread)
        except SQLAlchemyError as error:  # the database is away: the views will say so
            log.warning("patient statuses not derived: %s", type(error).__name__)
