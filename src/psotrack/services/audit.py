"""Writing the audit log: one row per field that a service creates, changes or deletes.

Values are stored as text (``None`` stays empty) so that any column type can be compared later.
Services call these helpers inside their own transaction, so data and audit commit together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from psotrack.services.context import Actor
from psotrack.store.models import AuditEntry, Base

#: Bookkeeping columns not worth an audit row of their own.
SKIPPED = frozenset({"id", "created_at"})


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


def entity_name(row: Base) -> str:
    return str(row.__tablename__)


def audit_created(session: Session, actor: Actor, row: Base, reason: str | None = None) -> None:
    """Audit a new row: one entry per non-empty column (the row must be flushed: it has an id)."""
    session.flush()
    for column in inspect(row).mapper.column_attrs:
        if column.key in SKIPPED:
            continue
        value = getattr(row, column.key)
        if value is None:
            continue
        _add(session, actor, "create", row, column.key, None, as_text(value), reason)


def audit_changed(
    session: Session,
    actor: Actor,
    row: Base,
    changes: Iterable[tuple[str, Any, Any]],
    reason: str,
    action: str = "update",
) -> None:
    """Audit ``(field, old, new)`` changes to an existing row, with the reason given."""
    for name, old, new in changes:
        _add(session, actor, action, row, name, as_text(old), as_text(new), reason)


def _add(
    session: Session,
    actor: Actor,
    action: str,
    row: Base,
    name: str,
    old: str | None,
    new: str | None,
    reason: str | None,
) -> None:
    primary_key = inspect(row).identity
    entity_id = int(primary_key[0]) if primary_key else 0
    session.add(
        AuditEntry(
            actor_id=actor.user_id,
            action=action,
            entity=entity_name(row),
            entity_id=entity_id,
            field=name,
            old_value=old,
            new_value=new,
            reason=reason,
        )
    )
