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
    help="Create, migrate, back up and restore the database, as the schema's owner "
    "(PSOTRACK_MIGRATION_URL, else PSOTRACK_DATABASE_URL).",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL; default PSOTRACK_DATABASE_URL or sqlite:///psotrack.db.",
    ),
]
MigrationUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the schema's owner; default PSOTRACK_MIGRATION_URL, else "
        "PSOTRACK_DATABASE_URL, else sqlite:///psotrack.db.",
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


def migration_url(given: str | None) -> str:
    """The URL given on the command line, else the schema owner's from the settings."""
    if given:
        return given
    from psotrack.settings import load_settings

    return load_settings().schema_owner_url


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


def require_database(url: str) -> None:
    """Refuse a SQLite file that does not exist (connecting would create an empty one)."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        from psotrack.errors import ValidationError

        raise ValidationError("--database-url", shown(url), "an existing database", "invalid")


@contextmanager
def open_engine(
    url: str | None,
    *,
    owner: bool = False,
    require_schema: bool = False,
    connections: int | None = None,
) -> Iterator[Engine]:
    """An engine on the chosen database, checked reachable; a clear error if it is not.

    A URL that is not one (``foo://bar``, a driver not installed) is refused as bad input. With
    ``require_schema`` the database must already be at the newest schema: a missing SQLite file
    is then refused without being created, and an unmigrated one is left as it was.
    ``connections``: see :func:`~psotrack.store.engine.make_engine`.
    """
    from sqlalchemy.exc import ArgumentError, OperationalError

    from psotrack.errors import PsotrackError, ValidationError
    from psotrack.store import make_engine

    target = migration_url(url) if owner else database_url(url)
    variable = "PSOTRACK_MIGRATION_URL" if owner else "PSOTRACK_DATABASE_URL"
    field = "--database-url" if url else variable
    if require_schema and missing_sqlite_file(target) is not None:
        raise ValidationError(field, shown(target), MISSING_SCHEMA, "invalid")
    try:
        engine = make_engine(target, connections=connections)
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
    url: MigrationUrl = None,
    revision: Annotated[str, typer.Option("--to", help="Target revision.")] = "head",
) -> None:
    """Create the tables, or bring an existing database to the newest schema."""
    from psotrack.store import current_revision
    from psotrack.store import upgrade as run_upgrade

    with open_engine(url, owner=True) as engine:
        run_upgrade(engine, revision)
        typer.echo(f"{shown(str(engine.url))}: schema at revision {current_revision(engine)}")


@app.command("downgrade")
def downgrade(
    revision: Annotated[str, typer.Option("--to", help="Target revision ('base' = empty).")],
    url: MigrationUrl = None,
    destroy: Annotated[
        bool,
        typer.Option(
            "--yes-destroy-data",
            help="Go ahead although the database holds data (a backup is written first).",
        ),
    ] = False,
    backup_output: Annotated[
        Path | None,
        typer.Option(
            "--backup-output",
            help="Where that backup goes; default psotrack-backup-<time>-<revision>.* here.",
        ),
    ] = None,
) -> None:
    """Take the schema back to an earlier revision (data in dropped tables is lost).

    A database that holds rows is refused unless --yes-destroy-data is given; then a backup
    is written first and its place printed.
    """
    from psotrack.errors import ValidationError
    from psotrack.store import current_revision
    from psotrack.store import downgrade as run_downgrade
    from psotrack.store.backup import backup, data_row_counts

    with open_engine(url, owner=True) as engine:
        with engine.connect() as connection:
            counts = data_row_counts(connection)
        if sum(counts.values()) and not destroy:
            patients = counts.get("patients", 0)
            raise ValidationError(
                "--to",
                revision,
                f"the database holds {patients} patients ({sum(counts.values())} rows in all) "
                "and a downgrade may destroy them: add --yes-destroy-data to go ahead "
                "(a backup is written first)",
                "invalid",
            )
        if sum(counts.values()):
            made = backup(engine, backup_output or _default_backup_path(engine))
            typer.echo(f"backup of {made.total} rows written to {made.path}")
        run_downgrade(engine, revision)
        where = shown(str(engine.url))
        typer.echo(f"{where}: schema at revision {current_revision(engine) or 'base'}")


def _default_backup_path(engine: Engine) -> Path:
    from datetime import UTC, datetime

    from psotrack.store import current_revision

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite" if engine.dialect.name == "sqlite" else "jsonl.gz"
    return Path(f"psotrack-backup-{stamp}-{current_revision(engine) or 'base'}.{suffix}")


@app.command("current")
def current(url: MigrationUrl = None) -> None:
    """Print the schema revision of the database."""
    from psotrack.store import current_revision

    with open_engine(url, owner=True) as engine:
        typer.echo(current_revision(engine) or "base (no tables)")


@app.command("grant")
def grant(
    role: Annotated[str, typer.Option("--role", help="The runtime role the app connects as.")],
    url: MigrationUrl = None,
) -> None:
    """PostgreSQL: create or update the runtime role with only what the services need.

    Run it as the schema's owner after every upgrade. The role gets LOGIN; SELECT, INSERT and
    UPDATE on the clinical tables; SELECT and INSERT only on the audit log; nothing it could
    use to alter, truncate or drop a table. Set its password with ALTER ROLE … PASSWORD.
    """
    from psotrack.store.roles import grant_runtime_role

    with open_engine(url, owner=True) as engine, engine.begin() as connection:
        done = grant_runtime_role(connection, role)
    verb = "created" if done.created else "updated"
    typer.echo(
        f"role {done.role} {verb} on schema {done.schema}: SELECT, INSERT, UPDATE on "
        f"{len(done.read_write)} clinical tables; SELECT, INSERT on "
        f"{', '.join(done.append_only)}; SELECT on {', '.join(done.read_only)}; "
        "no DELETE, TRUNCATE, CREATE or ownership"
    )


@app.command("backup")
def backup_command(
    output: Annotated[Path, typer.Option("--output", help="The backup file to write (new).")],
    url: MigrationUrl = None,
) -> None:
    """Write a consistent backup of the whole database to a new file."""
    from psotrack.store.backup import backup

    require_database(migration_url(url))
    with open_engine(url, owner=True) as engine:
        made = backup(engine, output)
    typer.echo(f"backup of {made.total} rows (revision {made.revision}) written to {made.path}")


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A file written by psotrack db backup.")],
    url: MigrationUrl = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a database that holds rows.")
    ] = False,
) -> None:
    """Restore a backup, all or nothing, and check the audit chain of what was restored."""
    from psotrack.errors import PsotrackError
    from psotrack.store.audit_chain import verify_chain
    from psotrack.store.backup import restore

    with open_engine(url, owner=True) as engine:
        done = restore(engine, source, replace)
        with engine.connect() as connection:
            report = verify_chain(connection)
        dialect = engine.dialect.name
    typer.echo(f"restored {done.total} rows (revision {done.revision}) from {source}")
    if not report.intact:
        raise PsotrackError(f"the restored audit log does not verify: {report.problem}")
    typer.echo(f"audit chain intact: {report.rows} rows")
    if dialect == "postgresql":
        typer.echo("privileges are not part of a backup: run psotrack db grant --role … again")
