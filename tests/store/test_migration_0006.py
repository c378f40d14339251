"""Migration 0006: patient accounts name their patient (and only they do); alert closing columns.

Older patient accounts, which name no patient, are deactivated by the migration and the change
is audited; the rule then holds in the database itself (a CHECK on PostgreSQL, triggers on
SQLite), so no path around the services can break it.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from psotrack.services.context import SYSTEM, Database
from psotrack.services.patients import create_program, enroll_patient
from psotrack.store import current_revision, downgrade, upgrade
from psotrack.store.audit_chain import verify_chain


def add_user(engine: Engine, username: str, role: str, patient_id: int | None = None) -> None:
    columns = "username, display_name, role, active, created_at"
    values = ":u, :u, :r, :yes, CURRENT_TIMESTAMP"
    params: dict[str, object] = {"u": username, "r": role, "yes": True}
    if patient_id is not None:
        columns, values = f"{columns}, patient_id", f"{values}, :p"
        params["p"] = patient_id
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO users ({columns}) VALUES ({values})"), params)


def a_patient(engine: Engine) -> int:
    db = Database.from_engine(engine)
    program = create_program(
        db,
        SYSTEM,
        {"name": "P", "regimen": "r", "product_source": "UC-MSC", "route": "IV"},
    )
    form = {
        "mrn": "MRN-M6",
        "family_name": "Doe",
        "given_name": "Jo",
        "birth_date": date(1980, 1, 1),
        "sex": "female",
        "program_id": program,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    return enroll_patient(db, SYSTEM, form)


def test_an_older_unlinked_patient_account_is_deactivated_and_audited(empty_engine):
    upgrade(empty_engine, "0005")
    add_user(empty_engine, "oldpatient", "patient")
    add_user(empty_engine, "oldclinician", "clinician")
    upgrade(empty_engine, "0006")
    assert current_revision(empty_engine) == "0006"
    with empty_engine.connect() as conn:
        users = conn.execute(
            text("SELECT username, active, patient_id FROM users ORDER BY username")
        ).all()
        audit = conn.execute(
            text(
                "SELECT u.username, a.field, a.old_value, a.new_value, a.reason "
                "FROM audit_log a JOIN users u ON u.id = a.entity_id "
                "WHERE a.entity = 'users' AND a.field = 'active' "
                "AND a.reason LIKE 'migration 0006%'"
            )
        ).all()
        assert verify_chain(conn).intact
    assert [(u[0], bool(u[1]), u[2]) for u in users] == [
        ("oldclinician", True, None),
        ("oldpatient", False, None),
        ("system", True, None),
    ]
    assert [tuple(row) for row in audit] == [
        (
            "oldpatient",
            "active",
            "True",
            "False",
            "migration 0006: a patient account must name its patient; link it anew",
        )
    ]


@pytest.mark.parametrize(
    ("username", "role", "linked"),
    [("p1", "patient", False), ("c1", "clinician", True), ("a1", "admin", True)],
)
def test_the_database_refuses_a_broken_link(empty_engine, username, role, linked):
    upgrade(empty_engine)
    patient = a_patient(empty_engine)
    with pytest.raises(IntegrityError):
        add_user(empty_engine, username, role, patient if linked else None)


def test_one_account_per_patient_and_a_real_patient(empty_engine):
    upgrade(empty_engine)
    patient = a_patient(empty_engine)
    add_user(empty_engine, "p1", "patient", patient)
    with pytest.raises(IntegrityError):
        add_user(empty_engine, "p2", "patient", patient)
    with pytest.raises(IntegrityError):
        add_user(empty_engine, "p3", "patient", patient + 1000)  # no such patient


def test_a_linked_account_cannot_be_unlinked_while_active(empty_engine):
    upgrade(empty_engine)
    patient = a_patient(empty_engine)
    add_user(empty_engine, "p1", "patient", patient)
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(text("UPDATE users SET patient_id = NULL WHERE username = 'p1'"))
    with empty_engine.begin() as conn:  # deactivated, it may lose its link
        conn.execute(text("UPDATE users SET active = :no WHERE username = 'p1'"), {"no": False})
        conn.execute(text("UPDATE users SET patient_id = NULL WHERE username = 'p1'"))


def test_the_downgrade_removes_the_columns_and_the_rule(empty_engine):
    upgrade(empty_engine)
    patient = a_patient(empty_engine)
    add_user(empty_engine, "p1", "patient", patient)
    downgrade(empty_engine, "0005")
    with empty_engine.connect() as conn:
        users = conn.execute(text("SELECT * FROM users")).keys()
        flags = conn.execute(text("SELECT * FROM safety_flags")).keys()
    assert "patient_id" not in users
    assert not {"closed_at", "closed_by", "closed_note", "acknowledged_note"} & set(flags)
    add_user(empty_engine, "p2", "patient")  # the rule went with the column
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        active = conn.execute(
            text("SELECT username, active FROM users WHERE role = 'patient' ORDER BY username")
        ).all()
    assert [(u, bool(a)) for u, a in active] == [("p1", False), ("p2", False)]
