"""Chain every audit row to the one before it (seq, prev_hash, row_hash)

Rows written before this revision get their chain here, in id order, so that the whole log
verifies afterwards. The append-only triggers are dropped while the columns are added and filled,
and recreated at the end (SQLite rebuilds the table, which drops its triggers anyway).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from psotrack.store.audit_chain import GENESIS, HASHED, chain, create_guards, drop_guards

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The audit table as this revision reads it (typed, so SQLite's text times come back as times).
_AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("entity", sa.String()),
    sa.column("entity_id", sa.Integer()),
    sa.column("field", sa.String()),
    sa.column("old_value", sa.String()),
    sa.column("new_value", sa.String()),
    sa.column("reason", sa.String()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def upgrade() -> None:
    bind = op.get_bind()
    drop_guards(bind)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    _chain_existing_rows(bind)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
    create_guards(bind)


def downgrade() -> None:
    bind = op.get_bind()
    drop_guards(bind)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_log_seq"), type_="unique")
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    create_guards(bind)


def _chain_existing_rows(bind: sa.Connection) -> None:
    """Chain the rows already there in id order, in batches (an audit log can be long)."""
    fields = [_AUDIT.c.id] + [_AUDIT.c[name] for name in HASHED if name != "seq"]
    update = (
        sa.update(_AUDIT)
        .where(_AUDIT.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("new_seq"),
            prev_hash=sa.bindparam("new_prev_hash"),
            row_hash=sa.bindparam("new_row_hash"),
        )
    )
    seq, prev_hash, last_id = 0, GENESIS, None
    while True:
        query = sa.select(*fields).order_by(_AUDIT.c.id).limit(5000)
        if last_id is not None:
            query = query.where(_AUDIT.c.id > last_id)
        rows = [dict(row) for row in bind.execute(query).mappings()]
        if not rows:
            return
        chain(rows, seq, prev_hash)
        bind.execute(
            update,
            [
                {
                    "row_id": row["id"],
                    "new_seq": row["seq"],
                    "new_prev_hash": row["prev_hash"],
                    "new_row_hash": row["row_hash"],
                }
                for row in rows
            ],
        )
        seq, prev_hash, last_id = rows[-1]["seq"], rows[-1]["row_hash"], rows[-1]["id"]
