"""Migration 0010: on PostgreSQL the audit log's head is read under its append lock in one call."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from psotrack.services.context import SYSTEM, Database
from psotrack.services.users import create_user
from psotrack.store import current_revision, downgrade, upgrade
from psotrack.store.audit_chain import _LOCK_TAG, head

LOCK = f"pg_try_advisory_xact_lock({_LOCK_TAG}, 'audit_log'::regclass::oid::int4)"
HEAD = "SELECT seq, row_hash FROM psotrack_audit_head()"


def _row(seq: int) -> str:
    """An audit row of ``seq`` written by hand (the log's guards allow inserts only)."""
    return (
        "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, field, old_value, "
        "new_value, reason, seq, prev_hash, row_hash) VALUES (CURRENT_TIMESTAMP, NULL, 'create', "
        f"'probe', 1, 'x', NULL, 'v', NULL, {seq}, 'p', 'h{seq}')"
    )


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_it_returns_the_head_and_holds_the_append_lock_until_commit(engine: Engine) -> None:
    create_user(
        Database.from_engine(engine),
        SYSTEM,
        {"username": "a", "display_name": "A", "role": "admin"},
    )
    with engine.connect() as other, engine.begin() as connection:
        found = connection.execute(text(HEAD)).one()
        assert (found.seq, found.row_hash) == head(connection)
        assert found.seq > 0
        assert other.execute(text(f"SELECT {LOCK}")).scalar_one() is False
        other.rollback()
    with engine.connect() as other:  # released by the commit
        assert other.execute(text(f"SELECT {LOCK}")).scalar_one() is True
        other.rollback()


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_a_waiting_writer_reads_the_head_the_holder_committed(engine: Engine) -> None:
    """The second caller waits for the lock and then sees the row the first one appended before
    its commit: its read begins after the wait (one statement that locked and read at once
    would return the head from before the wait)."""
    read: list[int] = []
    with engine.begin() as holder:
        start = holder.execute(text(HEAD)).first()
        seq = (start.seq if start else 0) + 1
        holder.execute(text(_row(seq)))

        def waiter() -> None:
            with engine.begin() as connection:
                read.append(connection.execute(text(HEAD)).one().seq)

        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive() and read == []  # waiting for the lock
    thread.join(10)
    assert read == [seq]


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_the_downgrade_removes_the_function_and_the_upgrade_brings_it_back(engine: Engine) -> None:
    def functions() -> int:
        """``psotrack_audit_head`` functions in this test's schema (other tests have theirs)."""
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n "
                        "ON n.oid = p.pronamespace WHERE p.proname = 'psotrack_audit_head' "
                        "AND n.nspname = current_schema()"
                    )
                ).scalar_one()
            )

    assert functions() == 1
    downgrade(engine, "0009")
    assert functions() == 0
    upgrade(engine)
    assert current_revision(engine) == "0010" and functions() == 1
    with engine.begin() as connection:
        found = connection.execute(text(HEAD)).first()
        assert (found.seq, found.row_hash) == head(connection)


@pytest.mark.parametrize("empty_engine", ["sqlite"], indirect=True)
def test_sqlite_is_left_as_it_was(engine: Engine) -> None:
    assert current_revision(engine) == "0010"
    downgrade(engine, "0009")
    upgrade(engine)
    assert current_revision(engine) == "0010"
