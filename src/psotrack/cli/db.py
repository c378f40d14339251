"""`psotrack db …`: create and migrate the record store (SQLite by default, or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="Create or migrate the database (PSOTRACK_DATABASE_URL).", no_args_is_help=True
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL; default PSOTRACK_DATABASE_URL or sqlite:///psotrack.db.",
    ),
]


#: What a command that reads or adds records says about a database without psotrack's schema.
MISSING_SCHEMA = "a database with psotrack's newest schema: run psotrack db upgrade first"
URL_EXAMPLE = "a SQLAlchemy URL such as sqlite:///psotrack.db or postgresql+psycopg://user@host/db"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="db")


def database_url(given: str | None) -> str:
    """The URL given on the command line, else the settings' (environment or default)."""
    if given:
        return given
    from psotrack.settings import load_settings

    return load_settings().database_url


def shown(url: str) -> str:
    """The URL without its password, for messages (as given when it cannot be parsed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL that does not exist yet (connecting would create it), else None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # not a URL: opening it says so
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None
    path = Path(name)
    return None if path.exists() else path


@contextmanager
def open_engine(url: str | None, *, require_schema: bool = False) -> Iterator[Engine]:
    """An engine on the chosen database, checked reachable; a clear error if it is not.

    A URL that is not one (``foo://bar``, a driver not installed) is refused as bad input. With
    ``require_schema`` the database must already be at the newest schema: a missing SQLite file
    is then refused without being created, and an unmigrated one is left as it was.
    """
    from sqlalchemy.exc import ArgumentError, OperationalError

    from psotrack.errors import PsotrackError, ValidationError
    from psotrack.store import make_engine

    target = database_url(url)
    field = "--database-url" if url else "PSOTRACK_DATABASE_URL"
    if require_schema and missing_sqlite_file(target) is not None:
        raise ValidationError(field, shown(target), MISSING_SCHEMA, "invalid")
    try:
        engine = make_engine(target)
    except (ArgumentError, ImportError) as exc:
        allowed = f"{URL_EXAMPLE} ({str(exc).splitlines()[0]})"
        raise ValidationError(field, shown(target), allowed, "invalid") from None
    try:
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise PsotrackError(f"cannot open the database {shown(target)}: {reason}") from None
        if require_schema and not at_newest_schema(engine):
            raise ValidationError(field, shown(target), MISSING_SCHEMA, "invalid")
        yield engine
    finally:
        engine.dispose()


def at_newest_schema(engine: Engine) -> bool:
    """Whether the database's schema revision is the newest this psotrack knows."""
    from alembic.script import ScriptDirectory

    from psotrack.store import current_revision
    from psotrack.store.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    return current_revision(engine) in heads


@app.command("upgrade")
def upgrade(
    url: DatabaseUrl = None,
    revision: Annotated[str, typer.Option("--to", help="Target revision.")] = "head",
) -> None:
    """Create the tables, or bring an existing database to the newest schema."""
    from psotrack.store import current_revision
    from psotrack.store import upgrade as run_upgrade

    with open_engine(url) as engine:
        run_upgrade(engine, revision)
        typer.echo(f"{shown(str(engine.url))}: schema at revision {current_revision(engine)}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Option("--to", help="Target revision ('base' = empty).")],
    url: DatabaseUrl = None,
) -> None:
    """Take the schema back to an earlier revision (data in dropped tables is lost)."""
    from psotrack.store import current_revision
    from psotrack.store import downgrade as run_downgrade

    with open_engine(url) as engine:
        run_downgrade(engine, revision)
        where = shown(str(engine.url))
        typer.echo(f"{where}: schema at revision {current_revision(engine) or 'base'}")


@app.command("current")
def current(url: DatabaseUrl = None) -> None:
    """Print the schema revision of the database."""
    from psotrack.store import current_revision

    with open_engine(url) as engine:
        typer.echo(current_revision(engine) or "base (no tables)")
