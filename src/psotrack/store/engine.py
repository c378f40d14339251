"""Engines and sessions: one factory for each, built on demand (never at import)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, connections: int | None = None, **options: Any) -> Engine:
    """Create an engine for ``url``; SQLite gets foreign keys enforced and WAL journaling.

    ``connections``: how many connections the caller's threads may hold at once; a database
    server's pool keeps that many open (a connection checked out beyond the pool's size is
    closed when returned, and opening one costs the server a new process with cold caches).
    """
    if connections is not None and make_url(url).get_backend_name() != "sqlite":
        options.setdefault("pool_size", connections)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory services use; ``expire_on_commit=False`` keeps results readable."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def temporary_schema_engine(url: str, prefix: str = "t") -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL schema that is dropped on exit (tests and benchmarks).

    Each caller gets its own schema, so runs in parallel never see each other's tables.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
