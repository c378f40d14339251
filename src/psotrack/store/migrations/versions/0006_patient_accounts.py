"""Patient accounts linked to their patient; safety flags acknowledged with a note, and closed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00

- ``users.patient_id``: the patient a patient-role account belongs to (unique: one account per
  patient), empty for staff. The rule "a patient account names its patient, other roles none"
  is a CHECK on PostgreSQL and two triggers on SQLite: SQLite cannot add a CHECK to a table
  without rebuilding it, and ``users`` cannot be rebuilt once audit rows refer to it. An unlinked
  patient account may exist only deactivated: older patient accounts (which could act on
  nothing) are deactivated here, audited, since no rule could tell which patient they meant.
- ``safety_flags.acknowledged_note``, ``closed_at``, ``closed_by``, ``closed_note``: an alert is
  acknowledged (seen, in hand) with an optional note, and closed (dealt with) with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from psotrack.store.audit_chain import MigrationAudit

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The rule, in SQL both databases read (``active`` is a boolean on PostgreSQL, 0/1 on SQLite).
LINK_RULE = (
    "(role = 'patient' OR patient_id IS NULL) "
    "AND (role <> 'patient' OR patient_id IS NOT NULL OR NOT active)"
)
LINK_MESSAGE = (
    "ck_users_patient_link: a patient account names its patient (patient_id), other roles none"
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # Plain ALTER TABLE ADD COLUMN (no batch copy): see migration 0005.
    if sqlite:
        op.execute("ALTER TABLE users ADD COLUMN patient_id INTEGER REFERENCES patients (id)")
        op.execute("ALTER TABLE safety_flags ADD COLUMN closed_by INTEGER REFERENCES users (id)")
    else:
        op.add_column("users", sa.Column("patient_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_users_patient_id_patients", "users", "patients", ["patient_id"], ["id"]
        )
        op.add_column("safety_flags", sa.Column("closed_by", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_safety_flags_closed_by_users", "safety_flags", "users", ["closed_by"], ["id"]
        )
    op.create_index("uq_users_patient_id", "users", ["patient_id"], unique=True)
    op.add_column("safety_flags", sa.Column("acknowledged_note", sa.String(), nullable=True))
    op.add_column("safety_flags", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("safety_flags", sa.Column("closed_note", sa.String(), nullable=True))

    unlinked = bind.execute(
        sa.text("SELECT id FROM users WHERE role = 'patient' AND active = :yes ORDER BY id"),
        {"yes": True},
    ).all()
    if unlinked:
        audit = MigrationAudit.as_system_user(
            bind, "migration 0006: a patient account must name its patient; link it anew"
        )
        for (user_id,) in unlinked:
            bind.execute(
                sa.text("UPDATE users SET active = :no WHERE id = :id"),
                {"no": False, "id": user_id},
            )
            audit.changed("users", user_id, "active", True, False)
        audit.write()

    if sqlite:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER users_patient_link_{event.lower()} BEFORE {event} ON users "
                f"WHEN NOT ({_new(LINK_RULE)}) "
                f"BEGIN SELECT RAISE(ABORT, '{LINK_MESSAGE}'); END"
            )
    else:
        op.create_check_constraint("ck_users_patient_link", "users", LINK_RULE)


def _new(rule: str) -> str:
    """The rule over the trigger's ``NEW`` row."""
    for column in ("role", "patient_id", "active"):
        rule = rule.replace(column, f"NEW.{column}")
    return rule


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER users_patient_link_insert")
        op.execute("DROP TRIGGER users_patient_link_update")
    else:
        op.drop_constraint("ck_users_patient_link", "users", type_="check")
        op.drop_constraint("fk_safety_flags_closed_by_users", "safety_flags", type_="foreignkey")
        op.drop_constraint("fk_users_patient_id_patients", "users", type_="foreignkey")
    op.drop_column("safety_flags", "closed_note")
    op.drop_column("safety_flags", "closed_at")
    op.drop_column("safety_flags", "acknowledged_note")
    op.drop_column("safety_flags", "closed_by")
    op.drop_index("uq_users_patient_id", "users")
    op.drop_column("users", "patient_id")
