"""Backup and restore of the record store, whole or not at all.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
the database stays in use; a restore copies the backup over the target in one write transaction.
PostgreSQL: a logical dump (:mod:`psotrack.store.dump`, why not ``pg_dump`` is said there).
A backup file is written beside its final name and renamed into place when complete; a restore
refuses a target that holds rows unless told to replace them, and never leaves it half-restored.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, Table, func, select

from psotrack.errors import ValidationError
from psotrack.store import dump
from psotrack.store.audit_chain import create_guards, drop_guards
from psotrack.store.migrate import alembic_config
from psotrack.store.vocabulary import SYSTEM_USERNAME

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class BackupSummary:
    """Where the backup is, of which kind and revision, and how many rows of each table."""

    path: Path
    kind: str
    revision: str | None
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table of the database (the schema revision table left out)."""
    metadata = MetaData()
    metadata.reflect(connection)
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in metadata.sorted_tables
        if table.name != "alembic_version"
    }


def data_row_counts(connection: Connection) -> dict[str, int]:
    """Rows people or imports stored: :func:`row_counts` less what the migrations themselves
    write (the ``system`` user), so a freshly migrated database counts as empty. The audit log
    is left out: rows are never deleted, so every audit row but a migration's describes a row
    counted here."""
    counts = row_counts(connection)
    counts.pop("audit_log", None)
    if counts.get("users"):
        users = Table("users", MetaData(), autoload_with=connection)
        made = connection.execute(
            select(func.count()).select_from(users).where(users.c.username == SYSTEM_USERNAME)
        ).scalar_one()
        counts["users"] -= int(made)
    return counts


def backup(engine: Engine, output: Path) -> BackupSummary:
    """Write a backup of the database to ``output`` (a new file; an existing one is refused)."""
    if output.exists() or output.is_symlink():
        raise ValidationError("--output", str(output), "a new file (a backup never overwrites)")
    folder = output.resolve().parent
    if not folder.is_dir():
        raise ValidationError("--output", str(output), "a path in an existing folder", "invalid")
    with _published(output) as temporary:
        if engine.dialect.name == "sqlite":
            return _backup_sqlite(engine, temporary, output)
        return _backup_logical(engine, temporary, output)


@contextmanager
def _published(path: Path) -> Iterator[Path]:
    """A temporary name in the destination folder, renamed to ``path`` when the block succeeds."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.resolve().parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _backup_sqlite(engine: Engine, temporary: Path, output: Path) -> BackupSummary:
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(temporary)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    finally:
        raw.close()
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        return BackupSummary(output, "sqlite", revision, row_counts(connection))


def _backup_logical(engine: Engine, temporary: Path, output: Path) -> BackupSummary:
    snapshot = engine.execution_options(isolation_level="REPEATABLE READ")
    with snapshot.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        revision = MigrationContext.configure(connection).get_current_revision()
        with gzip.open(temporary, "wt", encoding="utf-8") as handle:
            counts = dump.write_dump(connection, revision, handle)
    return BackupSummary(output, engine.dialect.name, revision, counts)


def restore(engine: Engine, source: Path, replace: bool = False) -> BackupSummary:
    """Restore ``source`` into the database of ``engine``, all or nothing.

    A target holding rows is refused unless ``replace``; what it held is then gone (the rows in
    the backup take its place). The backup's kind must match the database's.
    """
    if not source.is_file():
        raise ValidationError("backup", str(source), "an existing backup file", "invalid")
    with source.open("rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    sqlite_backup = magic == SQLITE_MAGIC
    if not sqlite_backup and not magic.startswith(dump.MAGIC):
        raise ValidationError("backup", str(source), "a psotrack backup file", "invalid")
    kind = "SQLite" if sqlite_backup else "PostgreSQL"
    if sqlite_backup != (engine.dialect.name == "sqlite"):
        raise ValidationError(
            "backup", str(source), f"a backup restored into a {kind} database", "invalid"
        )
    if sqlite_backup:
        return _restore_sqlite(engine, source, replace)
    return _restore_logical(engine, source, replace)


def _refuse_if_holding(connection: Connection, replace: bool) -> None:
    held = {name: n for name, n in data_row_counts(connection).items() if n}
    if held and not replace:
        biggest = ", ".join(f"{n} {name}" for name, n in sorted(held.items())[:4])
        raise ValidationError(
            "target",
            connection.engine.url.render_as_string(hide_password=True),
            f"an empty database (it holds {biggest} …); add --replace to overwrite it",
            "invalid",
        )


def _clear_seeded_rows(connection: Connection) -> None:
    """Remove what the migrations wrote (the ``system`` user and the audit rows of its making):
    the dump brings its own copy. The append-only guards are lifted for this one emptying of a
    freshly migrated database, inside the restore's transaction, and put back at once."""
    metadata = MetaData()
    metadata.reflect(connection)
    drop_guards(connection)
    for table in reversed(metadata.sorted_tables):
        if table.name != "alembic_version":
            connection.execute(table.delete())
    create_guards(connection)


def _known_revision(engine: Engine, revision: str | None, source: Path) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is None or revision not in known:
        raise ValidationError(
            "backup",
            str(source),
            f"a backup of a schema revision this psotrack knows (it is at {revision})",
            "invalid",
        )


def _restore_sqlite(engine: Engine, source: Path, replace: bool) -> BackupSummary:
    backup_db = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)
    try:
        try:
            checked = backup_db.execute("PRAGMA quick_check").fetchone()
            found = backup_db.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ValidationError(
                "backup", str(source), f"an intact psotrack SQLite backup ({exc})", "invalid"
            ) from None
        if checked is None or checked[0] != "ok":
            raise ValidationError(
                "backup", str(source), "an intact SQLite file (integrity check failed)", "invalid"
            )
        revision = None if found is None else str(found[0])
        _known_revision(engine, revision, source)
        with engine.connect() as connection:
            _refuse_if_holding(connection, replace)
        raw = engine.raw_connection()
        try:
            target = raw.driver_connection
            assert isinstance(target, sqlite3.Connection)
            # One step (all pages): SQLite writes the target in one transaction, so a failure
            # or a killed process leaves the old content (its journal rolls the write back).
            backup_db.backup(target)
        finally:
            raw.close()
    finally:
        backup_db.close()
    engine.dispose()  # pooled connections still hold the old schema
    with engine.connect() as connection:
        return BackupSummary(source, "sqlite", revision, row_counts(connection))


def _restore_logical(engine: Engine, source: Path, replace: bool) -> BackupSummary:
    header = dump.read_header(source)
    revision = header.get("revision")
    _known_revision(engine, revision, source)
    config = alembic_config(engine)
    with engine.begin() as connection:
        _refuse_if_holding(connection, replace)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, str(revision))
        _clear_seeded_rows(connection)
        counts = dump.load_dump(connection, source)
    return BackupSummary(source, engine.dialect.name, revision, counts)
