"""Migration 0008: the database raises a patient's revision on every change to their record."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, inspect, text

from psotrack.services.context import Database
from psotrack.services.demo import build_demo
from psotrack.store import current_revision, downgrade, upgrade
from psotrack.store.audit_chain import _LOCK_TAG as AUDIT_LOCK_TAG
from psotrack.store.models import Base

#: Tables with a ``patient_id`` that are not the patient's record (an account names its patient).
NOT_RECORD = {"users"}


def record_tables() -> list[str]:
    """Every table of the models that names a patient: each must raise their revision."""
    return [
        table.name
        for table in Base.metadata.sorted_tables
        if "patient_id" in table.columns and table.name not in NOT_RECORD
    ]


def revision_of(engine: Engine, patient_id: int) -> int:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT revision FROM patients WHERE id = :id"), {"id": patient_id}
        ).scalar_one()
    return int(found)


def change(engine: Engine, statement: str, **values: object) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), values)


@pytest.fixture
def demo(engine: Engine, tmp_path) -> Engine:
    build_demo(Database.from_engine(engine, photo_dir=tmp_path / "photos"), patients=3, seed=5)
    return engine


def test_every_change_to_a_record_table_raises_the_revision(demo: Engine) -> None:
    tables = record_tables()
    assert len(tables) >= 10  # the record: identity, enrollments, visits, scores, therapy, safety
    for table in tables:
        key = "patient_id" if table == "patient_identities" else "id"
        with demo.connect() as connection:
            row = connection.execute(
                text(f"SELECT {key}, patient_id FROM {table} ORDER BY {key} LIMIT 1")
            ).first()
        assert row is not None, f"the demo has no row in {table}"
        row_key, patient_id = row
        before = revision_of(demo, patient_id)
        change(demo, f"UPDATE {table} SET patient_id = patient_id WHERE {key} = :k", k=row_key)
        assert revision_of(demo, patient_id) == before + 1, table


def test_an_insert_a_deletion_and_a_move_raise_the_revisions(demo: Engine) -> None:
    with demo.connect() as connection:
        lab_id, patient_id = connection.execute(
            text("SELECT id, patient_id FROM lab_results ORDER BY id LIMIT 1")
        ).one()
        other = connection.execute(
            text("SELECT id FROM patients WHERE id <> :p ORDER BY id LIMIT 1"), {"p": patient_id}
        ).scalar_one()
    first, second = revision_of(demo, patient_id), revision_of(demo, other)
    change(demo, "UPDATE lab_results SET patient_id = :o WHERE id = :i", o=other, i=lab_id)
    assert (revision_of(demo, patient_id), revision_of(demo, other)) == (first + 1, second + 1)
    change(demo, "DELETE FROM lab_results WHERE id = :i", i=lab_id)
    assert revision_of(demo, other) == second + 2
    columns = ", ".join(
        c.name for c in Base.metadata.tables["safety_flags"].columns if c.name != "id"
    )
    change(
        demo,
        f"INSERT INTO safety_flags ({columns}) SELECT {columns} FROM safety_flags "
        "WHERE patient_id = :p ORDER BY id LIMIT 1",
        p=patient_id,
    )
    assert revision_of(demo, patient_id) == first + 2


def test_the_patient_row_and_the_program_name_raise_it(demo: Engine) -> None:
    with demo.connect() as connection:
        patient_id, program_id = connection.execute(
            text("SELECT patient_id, program_id FROM enrollments ORDER BY id LIMIT 1")
        ).one()
    before = revision_of(demo, patient_id)
    change(demo, "UPDATE patients SET history = 'x' WHERE id = :p", p=patient_id)
    assert revision_of(demo, patient_id) == before + 1
    change(demo, "UPDATE programs SET name = name || ' (renamed)' WHERE id = :p", p=program_id)
    assert revision_of(demo, patient_id) == before + 2
    # Setting the revision itself is not counted twice (a restore gives back dumped values).
    change(demo, "UPDATE patients SET revision = 40 WHERE id = :p", p=patient_id)
    assert revision_of(demo, patient_id) == 40


def test_the_column_and_triggers_come_with_0008_and_go_with_its_downgrade(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine, "0008")
    assert current_revision(empty_engine) == "0008"
    assert "revision" in {c["name"] for c in inspect(empty_engine).get_columns("patients")}
    downgrade(empty_engine, "0007")
    assert "revision" not in {c["name"] for c in inspect(empty_engine).get_columns("patients")}
    upgrade(empty_engine, "0008")  # and back: the triggers were dropped with the column
    assert current_revision(empty_engine) == "0008"


def test_a_save_during_an_import_for_the_same_patient_does_not_deadlock(demo: Engine) -> None:
    """PostgreSQL: an import holds the audit log's append lock from its first audit rows and
    then writes more of a patient's rows; a clinician's save for that patient writes a row,
    then appends. The triggers take the append lock before they lock the patient's row, so the
    save waits for the import instead of holding the row it needs (a deadlock, which
    PostgreSQL ends by aborting one of them)."""
    if demo.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no lock order to keep")
    lock = text("SELECT pg_advisory_xact_lock(:tag, 'audit_log'::regclass::oid::int4)")
    with demo.connect() as connection:
        lab_id, patient_id = connection.execute(
            text("SELECT id, patient_id FROM lab_results ORDER BY id LIMIT 1")
        ).one()
        visit_id = connection.execute(
            text("SELECT id FROM visits WHERE patient_id = :p ORDER BY id LIMIT 1"),
            {"p": patient_id},
        ).scalar_one()
    before = revision_of(demo, patient_id)
    errors: list[BaseException] = []
    clinician_pid: list[int] = []

    def clinician() -> None:
        try:
            with demo.begin() as connection:
                clinician_pid.append(connection.execute(text("SELECT pg_backend_pid()")).scalar())
                connection.execute(
                    text("UPDATE lab_results SET patient_id = patient_id WHERE id = :i"),
                    {"i": lab_id},
                )
                connection.execute(lock, {"tag": AUDIT_LOCK_TAG})  # then its audit rows
        except BaseException as error:
            errors.append(error)

    with demo.connect() as importer, demo.connect() as watcher:
        importer.begin()
        importer.execute(lock, {"tag": AUDIT_LOCK_TAG})  # its first audit rows are appended
        thread = threading.Thread(target=clinician)
        thread.start()
        waiting = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the save waits for a lock
            if (
                clinician_pid
                and watcher.execute(waiting, {"pid": clinician_pid[0]}).scalar() == "Lock"
            ):
                break
            time.sleep(0.02)
        else:
            pytest.fail("the clinician's save never waited for the import")
        importer.execute(
            text("UPDATE visits SET patient_id = patient_id WHERE id = :v"), {"v": visit_id}
        )
        importer.commit()
        thread.join(15)
    assert errors == []
    assert revision_of(demo, patient_id) == before + 2
