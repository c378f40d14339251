"""The audit log's head, read under its append lock in one round trip (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:20:00

- ``psotrack_audit_head()`` (PostgreSQL only): takes the audit log's append lock (the advisory
  lock of migration 0008's ``APPEND_LOCK``) and returns the chain's head, ``seq`` and
  ``row_hash`` (no row while the log is empty). A volatile PL/pgSQL function takes a new
  snapshot for each statement it runs, so its read of the head begins after the lock is held
  and sees every append committed before the lock came to it: what
  :func:`psotrack.store.audit_chain.lock_head` did with two statements, in one round trip.
  (One statement that locked and read would read with a snapshot taken before it waited.)
- Why: every other writer waits for this lock from the holder's first change to a patient's
  record to its commit, and each round trip in that span is one more wait for the network and,
  in a busy server process, for Python's interpreter lock.
- SQLite: nothing (a writer holds the file's write lock).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Migration 0008's append lock (``store.audit_chain._LOCK_TAG`` and the audit table's oid).
APPEND_LOCK: Final = "PERFORM pg_advisory_xact_lock(1349742401, 'audit_log'::regclass::oid::int4);"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION psotrack_audit_head() RETURNS TABLE (seq bigint, row_hash text) "
        "LANGUAGE plpgsql VOLATILE AS $$ "
        f"BEGIN {APPEND_LOCK} "
        "RETURN QUERY SELECT a.seq::bigint, a.row_hash::text FROM audit_log a "
        "ORDER BY a.seq DESC LIMIT 1; END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION psotrack_audit_head()")
