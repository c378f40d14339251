"""Coded fields apart from free text, a system user, and the colour space of photos

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:10:00

- ``adverse_events.term`` becomes a coded term (:class:`~psotrack.store.vocabulary.AeTerm`);
  what the reporter wrote moves to ``verbatim_term``. Existing rows: the text is kept whole as
  the verbatim term, and the coded term is the code whose text it equals (ignoring case and
  surrounding spaces), else "other" — psotrack's choice: no guessing from partial matches, a
  person can correct the code later.
- ``safety_flags.coded_message``: the flag told from coded values only (what researchers see).
  Existing flags get their kind's text ("serious adverse event"), since their messages may quote
  free text.
- ``photos.colour_space``: existing photos were stored without conversion; they are marked
  "untagged (taken as sRGB)", which is what their stored pixels are read as.
- A ``system`` user (role admin, no password: no one can sign in as it), the named actor of
  imports and the demo builder in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from psotrack.store.audit_chain import MigrationAudit

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Frozen copies of the coded lists as this revision knows them (migrations never import models).
AE_TERMS = (
    "infusion related reaction",
    "allergic reaction",
    "anaphylaxis",
    "fever",
    "chills",
    "headache",
    "fatigue",
    "nausea",
    "vomiting",
    "diarrhea",
    "dizziness",
    "hypotension",
    "hypertension",
    "dyspnea",
    "rash",
    "pruritus",
    "injection site reaction",
    "infection",
    "psoriasis flare",
    "thromboembolic event",
    "liver enzymes increased",
    "other",
)
COLOUR_SPACES = ("sRGB", "Display P3", "other ICC profile", "untagged (taken as sRGB)")
SYSTEM_USERNAME = "system"


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=40)


def upgrade() -> None:
    bind = op.get_bind()
    user_id, action, fields = _add_system_user(bind)
    audit = MigrationAudit(bind, user_id, "migration 0004: coded fields and the system user")
    for field, (old, new) in fields.items():
        audit.changed("users", user_id, field, old, new, action)
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verbatim_term", sa.String(length=200), nullable=True))
    bind.execute(sa.text("UPDATE adverse_events SET verbatim_term = term"))
    codes = {code: code for code in AE_TERMS}
    for event_id, text in bind.execute(sa.text("SELECT id, term FROM adverse_events")).all():
        code = codes.get(" ".join(str(text).split()).lower(), "other")
        bind.execute(
            sa.text("UPDATE adverse_events SET term = :code WHERE id = :id"),
            {"code": code, "id": event_id},
        )
        audit.changed("adverse_events", event_id, "verbatim_term", None, text)
        audit.changed("adverse_events", event_id, "term", text, code)
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.alter_column(
            "term",
            existing_type=sa.String(length=200),
            type_=_enum(AE_TERMS, "ae_term"),
            existing_nullable=False,
        )

    with op.batch_alter_table("safety_flags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("coded_message", sa.String(), nullable=False, server_default="")
        )
    bind.execute(sa.text("UPDATE safety_flags SET coded_message = kind"))
    for flag_id, kind in bind.execute(sa.text("SELECT id, kind FROM safety_flags")).all():
        audit.changed("safety_flags", flag_id, "coded_message", None, kind)
    with op.batch_alter_table("safety_flags", schema=None) as batch_op:
        batch_op.alter_column("coded_message", existing_type=sa.String(), server_default=None)

    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "colour_space",
                _enum(COLOUR_SPACES, "colour_space"),
                nullable=False,
                server_default="untagged (taken as sRGB)",
            )
        )
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.alter_column(
            "colour_space", existing_type=_enum(COLOUR_SPACES, "colour_space"), server_default=None
        )
    for (photo_id,) in bind.execute(sa.text("SELECT id FROM photos")).all():
        audit.changed("photos", photo_id, "colour_space", None, "untagged (taken as sRGB)")
    audit.write()


SYSTEM_DISPLAY_NAME = "psotrack system (imports, demo builder; cannot sign in)"


def _add_system_user(bind: sa.Connection) -> tuple[int, str, dict[str, tuple[str | None, str]]]:
    """Add the system user, or reactivate the one an earlier downgrade kept for the audit log.

    Returns its id, the action and the fields changed (old, new), for the audit log.
    """
    found = bind.execute(
        sa.text("SELECT id, role, password_hash, display_name FROM users WHERE username = :name"),
        {"name": SYSTEM_USERNAME},
    ).first()
    if found is not None:
        user_id, role, password_hash, display_name = found
        if role != "admin" or password_hash is not None or display_name != SYSTEM_DISPLAY_NAME:
            raise RuntimeError(
                f"a user named {SYSTEM_USERNAME!r} already exists (id {user_id}); the name is "
                "reserved for psotrack's system user: rename that user, then upgrade again"
            )
        bind.execute(
            sa.text("UPDATE users SET active = :yes WHERE id = :id"), {"yes": True, "id": user_id}
        )
        return int(user_id), "update", {"active": ("False", "True")}
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("username", sa.String),
        sa.column("display_name", sa.String),
        sa.column("role", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    user_id = bind.execute(
        users.insert()
        .values(
            username=SYSTEM_USERNAME,
            display_name=SYSTEM_DISPLAY_NAME,
            role="admin",
            password_hash=None,
            active=True,
            created_at=sa.func.current_timestamp(),
        )
        .returning(users.c.id)
    ).scalar_one()
    created: dict[str, tuple[str | None, str]] = {
        "username": (None, SYSTEM_USERNAME),
        "display_name": (None, SYSTEM_DISPLAY_NAME),
        "role": (None, "admin"),
        "active": (None, "True"),
    }
    return int(user_id), "create", created


def downgrade() -> None:
    bind = op.get_bind()
    # The audit log is append-only and names the system user (from its own creation on): keep
    # the row, deactivated; an upgrade brings it back into service.
    bind.execute(
        sa.text("UPDATE users SET active = :no WHERE username = :name"),
        {"no": False, "name": SYSTEM_USERNAME},
    )

    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_photos_colour_space"), type_="check")
        batch_op.drop_column("colour_space")
    with op.batch_alter_table("safety_flags", schema=None) as batch_op:
        batch_op.drop_column("coded_message")

    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_adverse_events_ae_term"), type_="check")
        batch_op.alter_column(
            "term",
            existing_type=sa.String(length=40),  # its CHECK is dropped just above
            type_=sa.String(length=200),
            existing_nullable=False,
        )
    # The verbatim text goes back into the single term column ("other" rows lose nothing).
    bind.execute(
        sa.text("UPDATE adverse_events SET term = verbatim_term WHERE verbatim_term IS NOT NULL")
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_column("verbatim_term")
