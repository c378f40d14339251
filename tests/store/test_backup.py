"""Backup and restore on both databases: the restore drill (back up, destroy, restore, compare
every table row by row, verify the audit chain), and restores that refuse or fail leave the
target as it was."""

import gzip
from pathlib import Path

import pytest
from sqlalchemy import text

from psotrack.errors import ValidationError
from psotrack.services.context import Database
from psotrack.store import current_revision, downgrade
from psotrack.store.audit_chain import verify_chain
from psotrack.store.backup import backup, restore
from tests.store.conftest import every_row, record_a_patient


def backup_path(engine, tmp_path: Path) -> Path:
    return tmp_path / ("b.sqlite" if engine.dialect.name == "sqlite" else "b.jsonl.gz")


def test_restore_drill(recorded, tmp_path):
    engine = recorded.engine
    before = every_row(engine)
    made = backup(engine, backup_path(engine, tmp_path))
    assert made.rows["patients"] == 2 and made.revision == current_revision(engine)
    data_tables = [rows for name, rows in before.items() if name != "alembic_version"]
    assert made.total == sum(len(rows) for rows in data_tables)
    downgrade(engine, "base")  # destroy
    assert every_row(engine).get("patients") is None
    done = restore(engine, made.path)
    assert done.rows == made.rows
    after = every_row(engine)
    assert after.keys() == before.keys()
    for table, rows in before.items():
        assert after[table] == rows, table
    with engine.connect() as conn:
        report = verify_chain(conn)
    assert report.intact and report.rows == len(before["audit_log"])
    # New rows get fresh ids after the restore (the sequences moved past the restored ones)
    # and chain onto the restored head.
    record_a_patient(Database.from_engine(engine, photo_dir=tmp_path), "MRN-3")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar_one() == 3
        assert verify_chain(conn).intact


def test_restore_refuses_a_target_that_holds_rows_unless_told(recorded, tmp_path):
    engine = recorded.engine
    made = backup(engine, backup_path(engine, tmp_path))
    record_a_patient(recorded, "MRN-3")
    held = every_row(engine)
    with pytest.raises(ValidationError, match="add --replace to overwrite it"):
        restore(engine, made.path)
    assert every_row(engine) == held
    restore(engine, made.path, replace=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar_one() == 2
        assert verify_chain(conn).intact


def cut_short(engine, good: Path, tmp_path: Path) -> Path:
    """A damaged copy of a backup: its second half lost."""
    bad = tmp_path / f"bad{good.suffix}"
    data = good.read_bytes()
    if engine.dialect.name == "sqlite":
        bad.write_bytes(data[: len(data) // 2])
        return bad
    lines = gzip.decompress(data).splitlines(keepends=True)
    bad.write_bytes(gzip.compress(b"".join(lines[: len(lines) // 2])))
    return bad


def test_a_damaged_backup_leaves_the_target_untouched(recorded, tmp_path):
    engine = recorded.engine
    made = backup(engine, backup_path(engine, tmp_path))
    record_a_patient(recorded, "MRN-3")
    held = every_row(engine)
    with pytest.raises(ValidationError, match="backup="):
        restore(engine, cut_short(engine, made.path, tmp_path), replace=True)
    assert every_row(engine) == held


def test_a_backup_never_overwrites_a_file(recorded, tmp_path):
    engine = recorded.engine
    target = backup_path(engine, tmp_path)
    target.write_text("keep me")
    with pytest.raises(ValidationError, match="a new file"):
        backup(engine, target)
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_a_backup_restores_only_into_its_own_kind(recorded, tmp_path):
    engine = recorded.engine
    other = tmp_path / "other"
    if engine.dialect.name == "sqlite":
        other.write_bytes(gzip.compress(b'{"format": "psotrack-dump", "version": 1}\n'))
        allowed = "a backup restored into a PostgreSQL database"
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
        allowed = "a backup restored into a SQLite database"
    with pytest.raises(ValidationError, match=allowed):
        restore(engine, other, replace=True)
