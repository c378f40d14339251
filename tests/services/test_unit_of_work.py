"""Several service calls as one transaction: the demo cohort is stored whole or not at all."""

import pytest
from sqlalchemy import func, select

from psotrack.errors import Conflict, PsotrackError, ValidationError
from psotrack.services import demo as demo_service
from psotrack.services.context import SYSTEM
from psotrack.services.demo import build_demo, count_patients
from psotrack.services.patients import create_program, create_user
from psotrack.store.models import AuditEntry, Patient, Program, User


def rows(db, model) -> int:
    """Rows a test's calls stored: the migrations' own (the system user, the audit rows of its
    making) are left out."""
    query = select(func.count()).select_from(model)
    if model is User:
        query = query.where(User.username != "system")
    if model is AuditEntry:
        query = query.where(
            AuditEntry.reason.is_(None) | ~AuditEntry.reason.startswith("migration")
        )
    with db.transaction() as session:
        return session.scalar(query)


def user(name: str) -> dict:
    return {"username": name, "display_name": name, "role": "clinician"}


def test_calls_in_a_unit_commit_together_at_its_end(db):
    with db.unit_of_work() as unit:
        create_user(unit, SYSTEM, user("a"))
        create_user(unit, SYSTEM, user("b"))
        assert rows(db, User) == 0  # another transaction sees nothing before the commit
        assert rows(unit, User) == 2  # the unit sees its own writes
    assert rows(db, User) == 2


def test_an_error_in_a_unit_stores_none_of_its_calls(db):
    with pytest.raises(ValidationError), db.unit_of_work() as unit:
        create_user(unit, SYSTEM, user("a"))
        create_user(unit, SYSTEM, {"username": "", "display_name": "x", "role": "clinician"})
    assert (rows(db, User), rows(db, AuditEntry)) == (0, 0)


def test_a_caught_error_inside_a_unit_still_stores_nothing(db):
    # Without savepoints, a failed call may leave its rows in the shared session; a caller
    # that catches the error and goes on must not get them (or the calls before) committed.
    create_user(db, SYSTEM, user("taken"))
    with pytest.raises(PsotrackError, match="nothing was stored"), db.unit_of_work() as unit:
        create_user(unit, SYSTEM, user("a"))
        with pytest.raises(Conflict):
            create_user(unit, SYSTEM, user("taken"))
    assert rows(db, User) == 1


def test_a_database_constraint_in_a_unit_becomes_a_conflict(db):
    create_program(db, SYSTEM, program("P"))
    with pytest.raises(Conflict, match="clashes"), db.unit_of_work() as unit:
        create_user(unit, SYSTEM, user("a"))
        with unit.transaction() as session:  # bypasses the service's own check
            session.add(Program(**program("P")))
    assert (rows(db, User), rows(db, Program)) == (0, 1)


def program(name: str) -> dict:
    return {"name": name, "regimen": "r", "product_source": "UC-MSC", "route": "IV"}


def test_an_interrupted_demo_leaves_the_database_as_it_was_and_a_rerun_completes(db, monkeypatch):
    # Issue 14: a demo killed a few seconds in left users and part of a cohort; the next run
    # said "already holds N patients" or "the username 'demo-admin' is taken" for good.
    real = demo_service._one_patient

    def dies_at_patient_3(db, clinician, program, number, *args):
        if number == 3:
            raise KeyboardInterrupt
        return real(db, clinician, program, number, *args)  # the patient's id

    monkeypatch.setattr(demo_service, "_one_patient", dies_at_patient_3)
    with pytest.raises(KeyboardInterrupt):
        build_demo(db, patients=4, seed=2)
    assert (rows(db, User), rows(db, Patient), rows(db, AuditEntry)) == (0, 0, 0)
    assert list(db.photo_dir.rglob("*.*")) == []  # staged photo files were discarded too
    monkeypatch.setattr(demo_service, "_one_patient", real)
    summary = build_demo(db, patients=4, seed=2)
    assert summary.patients == count_patients(db) == 4
    assert rows(db, User) == 5  # demo-admin, -clinician, -coordinator, -researcher, -patient


def test_the_demo_refuses_a_database_that_holds_patients(db, clinician, patient_id):
    before = (rows(db, User), rows(db, Patient), rows(db, AuditEntry))
    with pytest.raises(Conflict, match="already holds 1 patients"):
        build_demo(db, patients=2)
    assert (rows(db, User), rows(db, Patient), rows(db, AuditEntry)) == before


def test_a_write_lock_held_by_another_process_is_a_conflict_not_a_traceback(tmp_path):
    # SQLite only: while a long demo holds the write lock, another writer waits for the busy
    # timeout and then gets "database is locked"; it is told to try again, nothing stored.
    import sqlite3

    from psotrack.services.context import Database
    from psotrack.store import make_engine, upgrade

    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
    upgrade(engine)
    db = Database.from_engine(engine)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Conflict, match="busy with another process's changes; nothing was"):
            create_user(db, SYSTEM, user("a"))
    finally:
        holder.rollback()
        holder.close()
    create_user(db, SYSTEM, user("a"))
    assert rows(db, User) == 1
    engine.dispose()
