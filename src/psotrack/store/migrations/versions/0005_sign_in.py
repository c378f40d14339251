"""Sign-in bookkeeping on users: failed attempts, lock time, when the password last changed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00

- ``users.failed_sign_ins``: wrong passwords in a row since the last good sign-in (existing
  users start at 0). Counted in the database so a lock-out holds across processes.
- ``users.locked_until``: sign-in refused until this time (UTC); empty when not locked.
- ``users.password_changed_at``: when the password was last set (empty for existing users, whose
  passwords, if any, were set before psotrack recorded it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from psotrack.store.audit_chain import MigrationAudit

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD/DROP COLUMN, no batch copy: on SQLite a batch rebuild drops and
    # recreates ``users``, which the foreign keys of every audited row refuse once rows exist.
    op.add_column(
        "users", sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    bind = op.get_bind()
    audit = MigrationAudit.as_system_user(bind, "migration 0005: sign-in bookkeeping")
    for (user_id,) in bind.execute(sa.text("SELECT id FROM users")).all():
        audit.changed("users", user_id, "failed_sign_ins", None, 0)
    audit.write()


def downgrade() -> None:
    op.drop_column("users", "password_changed_at")
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_sign_ins")
