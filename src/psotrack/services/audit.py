"""Writing the audit log: one row per field that a service creates, changes or deletes.

Values are stored as text (``None`` stays empty) so that any column type can be compared later.
Services call these helpers inside their own transaction, so data and audit commit together.
Every row is written by :func:`append`, which chains it to the one before (see
:mod:`psotrack.store.audit_chain`) in one multi-row INSERT per call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from psotrack.services.context import Actor
from psotrack.store.audit_chain import chain, lock_head
from psotrack.store.models import AuditEntry, Base
from psotrack.store.models.base import utcnow

#: Bookkeeping columns not worth an audit row of their own.
SKIPPED = frozenset({"id", "created_at"})

#: Columns whose value never enters the log, whatever path writes it: only that it was set.
SECRETS = frozenset({"password_hash"})


def as_text(value: Any) -> str | None:
    """The audit form of a value: ISO dates, enum values, JSON for structures."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | float | Decimal | str):
        return str(value)
    return json.dumps(value, sort_keys=True, default=str)


def logged(field: str, value: Any) -> str | None:
    """What the audit log keeps of a new value: its text, or "set" for a secret (a hash)."""
    return "set" if field in SECRETS and value is not None else as_text(value)


def entity_name(row: Base) -> str:
    return str(row.__tablename__)


def audit_created(session: Session, actor: Actor, row: Base, reason: str | None = None) -> None:
    """Audit a new row: one entry per non-empty column (flushes first, so the row has its id)."""
    audit_created_many(session, actor, [row], reason)


def audit_created_many(
    session: Session, actor: Actor, rows: Iterable[Base], reason: str | None = None
) -> None:
    """Audit many new rows with one flush and one multi-row INSERT of their audit entries."""
    rows = list(rows)
    if not rows:
        return
    session.flush()
    now = utcnow()
    entries = [
        {
            "at": now,
            "actor_id": actor.user_id,
            "action": "create",
            "entity": entity_name(row),
            "entity_id": _row_id(row),
            "field": column.key,
            "old_value": None,
            "new_value": logged(column.key, value),
            "reason": reason,
        }
        for row in rows
        for column in inspect(row).mapper.column_attrs
        if column.key not in SKIPPED and (value := getattr(row, column.key)) is not None
    ]
    append(session, entries)


def audit_created_values(
    session: Session,
    actor: Actor,
    table: str,
    row_id: int,
    values: dict[str, Any],
    reason: str | None = None,
) -> None:
    """Audit a row inserted with Core (no ORM object): one entry per non-empty value."""
    now = utcnow()
    entries = [
        {
            "at": now,
            "actor_id": actor.user_id,
            "action": "create",
            "entity": table,
            "entity_id": row_id,
            "field": name,
            "old_value": None,
            "new_value": logged(name, value),
            "reason": reason,
        }
        for name, value in values.items()
        if name not in SKIPPED and value is not None
    ]
    append(session, entries)


def audit_changed(
    session: Session,
    actor: Actor,
    row: Base,
    changes: Iterable[tuple[str, Any, Any]],
    reason: str,
    action: str = "update",
) -> None:
    """Audit ``(field, old, new)`` changes to an existing row, with the reason given."""
    session.flush()
    now = utcnow()
    entries = [
        {
            "at": now,
            "actor_id": actor.user_id,
            "action": action,
            "entity": entity_name(row),
            "entity_id": _row_id(row),
            "field": name,
            "old_value": as_text(old),
            "new_value": as_text(new),
            "reason": reason,
        }
        for name, old, new in changes
    ]
    append(session, entries)


def append(session: Session, entries: list[dict[str, Any]]) -> None:
    """Chain ``entries`` after the log's head and insert them with one multi-row INSERT.

    The session is flushed first: on SQLite the data rows then hold the write lock before the
    head is read; on PostgreSQL :func:`lock_head` takes an advisory lock until commit.
    """
    if not entries:
        return
    session.flush()
    seq, prev_hash = lock_head(session)
    chain(entries, seq, prev_hash)
    session.execute(insert(AuditEntry), entries)


def _row_id(row: Base) -> int:
    primary_key = inspect(row).identity
    if not primary_key:
        raise RuntimeError(f"{entity_name(row)} row has no id yet: flush before auditing it")
    return int(primary_key[0])
