"""Least privilege on PostgreSQL: the runtime role the application connects as.

The migration role owns the schema (it runs ``psotrack db upgrade``); the runtime role only reads
and writes rows the way the services do: SELECT, INSERT and UPDATE on the clinical tables (the
services soft-delete, they never DELETE), SELECT and INSERT on the audit log, SELECT on the schema
revision, USAGE on the sequences. It owns nothing, so it cannot ALTER, DROP, TRUNCATE or disable
the audit log's triggers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from psotrack.errors import ValidationError
from psotrack.store.models import Base

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
APPEND_ONLY = frozenset({"audit_log"})
READ_ONLY = frozenset({"alembic_version"})


@dataclass(frozen=True)
class RuntimeGrant:
    """What :func:`grant_runtime_role` did, for the command to print."""

    role: str
    schema: str
    created: bool
    read_write: tuple[str, ...]
    append_only: tuple[str, ...]
    read_only: tuple[str, ...]


def grant_runtime_role(connection: Connection, role: str) -> RuntimeGrant:
    """Create or update ``role`` with exactly the runtime privileges on the current schema.

    Privileges are revoked first and granted again, so running it after an upgrade (new tables)
    or after a change of this policy leaves the role with what is listed here and nothing more.
    """
    if connection.dialect.name != "postgresql":
        raise ValidationError(
            "--database-url",
            connection.engine.url.render_as_string(hide_password=True),
            "a PostgreSQL database: SQLite has no roles (whoever can open the file can write it)",
            "invalid",
        )
    if not ROLE_NAME.fullmatch(role):
        raise ValidationError(
            "--role", role, "a role name of lower-case letters, digits and _ (at most 63)", "type"
        )
    quote = connection.dialect.identifier_preparer.quote
    schema = str(connection.execute(text("SELECT current_schema()")).scalar_one())
    owner = str(connection.execute(text("SELECT current_user")).scalar_one())
    _refuse_powerful_role(connection, role, owner, schema)
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    who, where = quote(role), quote(schema)
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    verb = "ALTER" if exists else "CREATE"
    connection.execute(text(f"{verb} ROLE {who} {attributes}"))
    for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
        connection.execute(text(f"REVOKE ALL ON ALL {kind} IN SCHEMA {where} FROM {who}"))
    connection.execute(text(f"REVOKE ALL ON SCHEMA {where} FROM {who}"))
    connection.execute(text(f"GRANT USAGE ON SCHEMA {where} TO {who}"))
    # Nobody but the owner creates objects in psotrack's schema (PostgreSQL < 15 let PUBLIC).
    connection.execute(text(f"REVOKE CREATE ON SCHEMA {where} FROM PUBLIC"))
    present = {
        str(name)
        for name in connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
        ).scalars()
    }
    known = present & (set(Base.metadata.tables) | READ_ONLY)
    read_write = sorted(known - APPEND_ONLY - READ_ONLY)
    append_only = sorted(known & APPEND_ONLY)
    read_only = sorted(known & READ_ONLY)
    for privileges, tables in (
        ("SELECT, INSERT, UPDATE", read_write),
        ("SELECT, INSERT", append_only),
        ("SELECT", read_only),
    ):
        for table in tables:
            connection.execute(text(f"GRANT {privileges} ON {where}.{quote(table)} TO {who}"))
    connection.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {where} TO {who}"))
    return RuntimeGrant(
        role, schema, not exists, tuple(read_write), tuple(append_only), tuple(read_only)
    )


def _refuse_powerful_role(connection: Connection, role: str, owner: str, schema: str) -> None:
    """A superuser, the owner or a member of the owner's role would defeat the whole point."""
    found = connection.execute(
        text(
            "SELECT rolsuper, pg_has_role(:role, :owner, 'MEMBER') AS owner_member, "
            "EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = :schema AND tableowner = :role) "
            "AS owns FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role, "owner": owner, "schema": schema},
    ).first()
    powerful = found is not None and (found.rolsuper or found.owner_member or found.owns)
    if role == owner or powerful:
        raise ValidationError(
            "--role",
            role,
            f"a role separate from the schema's owner {owner!r} (not a superuser, not the owner "
            "or a member of it): the runtime role must not be able to alter the audit log",
            "invalid",
        )
