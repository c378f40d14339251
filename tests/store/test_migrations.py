"""Migrations build every table, go down and up again, and guard the audit log on both databases."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from psotrack.store import current_revision, downgrade, upgrade
from psotrack.store.migrate import alembic_config
from psotrack.store.models import Base


def test_upgrade_builds_every_model_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head


def test_downgrade_then_upgrade_round_trip(engine):
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def _insert_audit_row(conn):
    conn.execute(
        text(
            "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, field, "
            "old_value, new_value, reason, seq, prev_hash, row_hash) VALUES (CURRENT_TIMESTAMP, "
            "NULL, 'create', 'patient', 1, 'sex', NULL, 'female', NULL, 1000, 'x', 'y')"
        )
    )


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET new_value = 'male'", "DELETE FROM audit_log"],
)
def test_audit_log_refuses_update_and_delete(engine, statement):
    with engine.begin() as conn:
        _insert_audit_row(conn)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT new_value FROM audit_log WHERE seq = 1000")).scalar_one()
            == "female"
        )


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_audit_log_refuses_truncate_on_postgresql(engine):  # TRUNCATE exists only there
    with engine.begin() as conn:
        _insert_audit_row(conn)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_migrations_match_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
