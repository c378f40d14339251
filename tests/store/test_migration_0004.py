"""Migration 0004 on a database holding rows: coded AE terms, coded flag messages, colour space.

Existing adverse-event terms keep their text as the verbatim term and get the code whose text
they equal (case and surrounding spaces aside), else "other"; the downgrade puts the verbatim
text back. The system user is added once, and kept (deactivated) by a downgrade when the audit
log names it.
"""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from psotrack.errors import PermissionDenied
from psotrack.services.context import SYSTEM, Database
from psotrack.services.patients import create_program
from psotrack.store import downgrade, upgrade

NOW = "2026-01-05 10:00:00"


def fill_at_0001(engine) -> None:
    statements = [
        "INSERT INTO patients (id, research_id, sex, psoriasis_type, synthetic, created_at) "
        f"VALUES (1, 'PT-1', 'female', 'plaque', false, '{NOW}')",
        *(
            "INSERT INTO adverse_events (id, patient_id, term, onset_date, grade, ctcae_version, "
            "serious, serious_criteria, relatedness, outcome, infusion_reaction, created_at) "
            f"VALUES ({n}, 1, '{term}', '2026-01-06', 1, '5.0', false, '[]', 'possible', "
            f"'recovered', false, '{NOW}')"
            for n, term in enumerate(["Fever", "  headache ", "Jane Doe''s rash, see notes"], 1)
        ),
        "INSERT INTO safety_flags (patient_id, kind, entity, entity_id, message, raised_at) "
        "VALUES (1, 'adverse event grade ≥ 3', 'adverse_events', 3, "
        f"'adverse event ''Jane Doe''s rash'' is grade ≥ 3', '{NOW}')",
        "INSERT INTO photos (patient_id, body_site, view, content_hash, media_type, width, "
        f"height, created_at) VALUES (1, 'trunk', 'front', 'ab', 'image/png', 1, 1, '{NOW}')",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def rows(engine, query: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query))]


def test_existing_rows_are_coded_and_come_back_on_downgrade(empty_engine):
    upgrade(empty_engine, "0001")
    fill_at_0001(empty_engine)
    upgrade(empty_engine, "0004")
    assert rows(empty_engine, "SELECT term, verbatim_term FROM adverse_events ORDER BY id") == [
        ("fever", "Fever"),
        ("headache", "  headache "),
        ("other", "Jane Doe's rash, see notes"),
    ]
    assert rows(empty_engine, "SELECT coded_message FROM safety_flags") == [
        ("adverse event grade ≥ 3",)
    ]
    assert rows(empty_engine, "SELECT colour_space FROM photos") == [("untagged (taken as sRGB)",)]
    assert rows(empty_engine, "SELECT role, password_hash, active FROM users") == [
        ("admin", None, True)
    ]
    with pytest.raises(DBAPIError), empty_engine.begin() as conn:  # the code list is enforced
        conn.execute(text("UPDATE adverse_events SET term = 'Fever' WHERE id = 1"))

    downgrade(empty_engine, "0001")
    assert rows(empty_engine, "SELECT term FROM adverse_events ORDER BY id") == [
        ("Fever",),
        ("  headache ",),
        ("Jane Doe's rash, see notes",),
    ]
    # The audit log names the system user (its own creation, the recoding): it stays, inactive.
    assert rows(empty_engine, "SELECT username, active FROM users") == [("system", False)]


def test_a_system_user_named_in_the_audit_log_survives_a_downgrade(empty_engine):
    upgrade(empty_engine)  # the services use today's models, so the newest schema
    db = Database.from_engine(empty_engine)
    form = {"name": "P", "regimen": "r", "product_source": "other", "route": "IV"}
    create_program(db, SYSTEM, form)
    downgrade(empty_engine, "0001")
    assert rows(empty_engine, "SELECT username, active FROM users") == [("system", False)]
    upgrade(empty_engine)  # the same row comes back into service
    assert rows(empty_engine, "SELECT username, active FROM users") == [("system", True)]
    create_program(db, SYSTEM, form | {"name": "P2"})


def test_a_person_already_named_system_stops_the_upgrade(empty_engine):
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, role, password_hash, active, "
                f"created_at) VALUES ('system', 'Sys Admin', 'admin', 'argon2-hash', true, '{NOW}')"
            )
        )
    with pytest.raises(RuntimeError, match="rename that user"):
        upgrade(empty_engine, "0004")


def test_without_the_system_user_the_system_actor_may_not_act(engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET username = 'gone' WHERE username = 'system'"))
    form = {"name": "P", "regimen": "r", "product_source": "other", "route": "IV"}
    with pytest.raises(PermissionDenied, match="run psotrack db upgrade"):
        create_program(Database.from_engine(engine), SYSTEM, form)


def test_the_migrations_own_changes_are_audited_and_chained(empty_engine):
    # Every value stored is accounted for in the audit log, the migration's own rows included:
    # the system user it creates and the adverse-event term it recodes, written as the system
    # user with the migration named as the reason, on the one hash chain.
    from sqlalchemy import text

    from psotrack.store import upgrade
    from psotrack.store.audit_chain import verify_chain

    upgrade(empty_engine, "0003")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (research_id, sex, psoriasis_type, synthetic, created_at) "
                "VALUES ('PT-1', 'female', 'plaque', false, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO adverse_events (patient_id, term, onset_date, grade, ctcae_version, "
                "serious, serious_criteria, relatedness, outcome, infusion_reaction, created_at) "
                "VALUES (1, ' Fever ', '2026-01-05', 1, '5.0', false, '[]', 'possible', "
                "'recovered', false, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(empty_engine, "0004")
    with empty_engine.connect() as conn:
        system_id = conn.execute(text("SELECT id FROM users WHERE username = 'system'")).scalar()
        rows = conn.execute(
            text(
                "SELECT actor_id, action, entity, field, old_value, new_value, reason "
                "FROM audit_log ORDER BY seq"
            )
        ).all()
        assert verify_chain(conn).intact
    assert {(r.entity, r.field, r.old_value, r.new_value) for r in rows} == {
        ("users", "username", None, "system"),
        ("users", "display_name", None, "psotrack system (imports, demo builder; cannot sign in)"),
        ("users", "role", None, "admin"),
        ("users", "active", None, "True"),
        ("adverse_events", "verbatim_term", None, " Fever "),
        ("adverse_events", "term", " Fever ", "fever"),
    }
    assert {(r.actor_id, r.reason) for r in rows} == {
        (system_id, "migration 0004: coded fields and the system user")
    }
