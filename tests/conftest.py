"""Shared test settings: hypothesis profiles for a 2-core machine, and database fixtures."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

settings.register_profile(
    "default", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# `make mutate` runs the tests once per mutant: fewer examples keep each run to seconds (the
# hand-computed cases still run in full). Selected with PSOTRACK_HYPOTHESIS_PROFILE=mutation.
settings.register_profile(
    "mutation", max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PSOTRACK_HYPOTHESIS_PROFILE", "default"))


# --- Databases: every data-layer test runs on SQLite and on PostgreSQL -------------------------
# Each test gets its own SQLite file or its own PostgreSQL schema, so tests run in any order and
# in parallel. PostgreSQL comes from PSOTRACK_TEST_POSTGRES_URL (CI sets it); without it the
# PostgreSQL half is skipped with a visible reason. A URL that is set but unreachable fails.


POSTGRES_URL_VARIABLE = "PSOTRACK_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """An engine on an empty database of each kind (no tables yet)."""
    from psotrack.store import make_engine
    from psotrack.store.engine import temporary_schema_engine

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'psotrack.db'}")
        yield engine
        engine.dispose()
        return
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"PostgreSQL tests skipped: set {POSTGRES_URL_VARIABLE} to run them")
    with temporary_schema_engine(url) as engine:
        yield engine


@pytest.fixture(autouse=True)
def forget_compiled_statements() -> Iterator[None]:
    """Let the engines a test made (its fixtures', its commands') go with the test.

    SQLAlchemy's ORM keeps up to 100 compiled INSERT/UPDATE statements per mapper, keyed by the
    engine's dialect: one engine per test thus keeps hundreds of dead dialects (and the types
    and tables their caches hold) alive — 3.3–3.8 million objects in each xdist worker by the
    end of the suite, whose last garbage collection (pytest's, at exit) then outlasted xdist's
    5-second shutdown and was interrupted. A program has one engine; this is the tests' own.
    """
    yield
    from psotrack.store.models import Base

    for mapper in Base.registry.mappers:
        mapper._compiled_cache.clear()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database migrated to the newest schema."""
    from psotrack.store import upgrade

    upgrade(empty_engine)
    return empty_engine


# --- The browser: Debian's Chromium driven by Playwright (one per test process) ---------------
# Playwright's own browser download does not work here; ``make test`` installs Debian's
# chromium. Without it, or without Playwright, browser tests skip and say why. One sync
# Playwright per process: a second one in the same thread is refused by Playwright.

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: {CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: playwright is not installed (make test installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()
