"""The audit history of one clinical record: who changed what, when, from which value, and why.

Read from the audit log (:mod:`psotrack.services.audit` writes it), oldest first, with each
actor's name. Only the clinical tables are open here; user accounts are not (their history is
an administrator's business). The answer also carries what the correction page needs: the
record's current value of each field open to correction, and whether it may be deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select

from psotrack.errors import NotFound, ValidationError
from psotrack.services.audit import as_text, created_fields
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.corrections import CORRECTABLE, DELETABLE
from psotrack.services.payloads import require_id
from psotrack.store.models import (
    AuditEntry,
    Base,
    Enrollment,
    PatientIdentity,
    SafetyFlag,
    User,
)

#: Tables whose records' history may be read, by table name.
HISTORY_TABLES: Final[dict[str, type[Base]]] = {
    **DELETABLE,
    "patient_identities": PatientIdentity,
    "enrollments": Enrollment,
    "safety_flags": SafetyFlag,
}


@dataclass(frozen=True)
class HistoryEntry:
    """One audited change of one field (``field`` is None for a row-level entry).

    A creation audited as one row (:mod:`psotrack.services.audit`) reads as one entry per
    created field, as creations audited field by field do.
    """

    at: datetime
    actor: str
    action: str
    field: str | None
    old_value: str | None
    new_value: str | None
    reason: str | None


@dataclass(frozen=True)
class RecordHistory:
    """A record's audit trail, oldest first, and what may still be done to it.

    ``current`` holds the record's present value (as the audit log writes values) of each field
    open to correction; ``deletable`` says whether it may be deleted (it is not yet).
    """

    table: str
    row_id: int
    patient_id: int | None
    deleted: bool
    current: dict[str, str | None]
    deletable: bool
    entries: tuple[HistoryEntry, ...]


def record_history(db: Database, actor: Actor, table: str, row_id: int) -> RecordHistory:
    """The audit history of row ``row_id`` of ``table`` (NotFound if there is no such row)."""
    model = HISTORY_TABLES.get(table) if isinstance(table, str) else None
    if model is None:
        allowed = f"one of {', '.join(sorted(HISTORY_TABLES))}"
        raise ValidationError("table", table, allowed, "invalid")
    require_id("row_id", row_id)
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        row = session.get(model, row_id)
        if row is None:
            raise NotFound(f"no {table} row with id {row_id}")
        deleted = getattr(row, "deleted_at", None) is not None
        patient_id = row_id if table == "patients" else getattr(row, "patient_id", None)
        query = (
            select(AuditEntry, User.display_name, User.username)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .where(AuditEntry.entity == table, AuditEntry.entity_id == row_id)
            .order_by(AuditEntry.seq)
        )
        entries = tuple(
            line
            for entry, display, username in session.execute(query)
            for line in _lines(entry, f"{display} ({username})" if username else "unknown")
        )
        correctable = CORRECTABLE.get(table)
        fields = sorted(correctable.fields) if correctable is not None and not deleted else []
        return RecordHistory(
            table=table,
            row_id=row_id,
            patient_id=patient_id,
            deleted=deleted,
            current={name: as_text(getattr(row, name)) for name in fields},
            deletable=table in DELETABLE and not deleted,
            entries=entries,
        )


def _lines(entry: AuditEntry, actor: str) -> list[HistoryEntry]:
    """The history lines of one audit row: one per field of a creation row, else the row."""
    fields = created_fields(entry)
    if fields is None:
        return [
            HistoryEntry(
                at=entry.at,
                actor=actor,
                action=entry.action,
                field=entry.field,
                old_value=entry.old_value,
                new_value=entry.new_value,
                reason=entry.reason,
            )
        ]
    return [
        HistoryEntry(
            at=entry.at,
            actor=actor,
            action=entry.action,
            field=name,
            old_value=None,
            new_value=value,
            reason=entry.reason,
        )
        for name, value in fields.items()
    ]
