"""Writing the audit log: one row per record a service creates, one per field it changes or deletes.

Values are stored as text (``None`` stays empty) so that any column type can be compared later.
Services call these helpers inside their own transaction, so data and audit commit together.
Every row is written by :func:`append`, which chains it to the one before (see
:mod:`psotrack.store.audit_chain`) in one multi-row INSERT per call: the rows of one call are
hashed as a batch after the chain's head, inside the caller's transaction.

Project decision (issue 17, taken by the lead): the creation of a record is one change, so it is
audited as ONE row — ``action`` "create", ``field`` empty, ``new_value`` a JSON object of every
non-empty created field's audit text (:func:`created_text`, in column order; a secret reads
"set"). A correction or a deletion keeps one row per changed field, with old and new value and
the reason. Rows written before this rule (one "create" row per field) stay as they are; readers
take both forms (:func:`created_fields`; the record history shows one line per field either way).
The hash chain covers the creation row as any other, so ``psotrack audit verify`` checks every
created value. A REDCap import of 10 000 records wrote 280 016 audit rows under the old rule, 60 016
under this one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, inspect, text
from sqlalchemy.orm import Session

from psotrack.services.context import Actor
from psotrack.store.audit_chain import chain, lock_head
from psotrack.store.bulk import insert_numbered, insert_rows
from psotrack.store.models import KEPT_BY_THE_DATABASE, AuditEntry, Base
from psotrack.store.models.base import utcnow

#: Bookkeeping columns not worth an audit row of their own (and the columns the database keeps
#: itself: each change that moves them is audited where it is made).
SKIPPED = frozenset({"id", "created_at"}) | KEPT_BY_THE_DATABASE

#: Columns whose value never enters the log, whatever path writes it: only that it was set.
SECRETS = frozenset({"password_hash"})


#: The encoders of :func:`as_text` and :func:`created_text`, built once (``json.dumps`` with
#: these arguments builds one per call; the text is the same).
_STRUCTURE = json.JSONEncoder(sort_keys=True, default=str)
_CREATED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def as_text(value: Any) -> str | None:
    """The audit form of a value: ISO dates, enum values, JSON for structures."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:  # the common cases first (an import audits hundreds of thousands)
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool | int | float | Decimal | str):
        return str(value)
    return _STRUCTURE.encode(value)


def logged(field: str, value: Any) -> str | None:
    """What the audit log keeps of a new value: its text, or "set" for a secret (a hash)."""
    return "set" if field in SECRETS and value is not None else as_text(value)


def created_text(values: Mapping[str, Any]) -> str:
    """The ``new_value`` of a creation row: each non-empty field's audit text, as a JSON object."""
    logged_values = {
        name: logged(name, value)
        for name, value in values.items()
        if name not in SKIPPED and value is not None
    }
    return _CREATED.encode(logged_values)


def created_fields(entry: Any) -> dict[str, str | None] | None:
    """The fields of a creation row (``action`` create, no ``field``) by name; None otherwise."""
    if entry.action != "create" or entry.field is not None or entry.new_value is None:
        return None
    values = json.loads(entry.new_value)
    return values if isinstance(values, dict) else None


def created_entry(
    actor: Actor, table: str, row_id: int, values: Mapping[str, Any], reason: str | None, at: Any
) -> dict[str, Any]:
    """The one audit row of a created record (see the module docstring)."""
    return {
        "at": at,
        "actor_id": actor.user_id,
        "action": "create",
        "entity": table,
        "entity_id": row_id,
        "field": None,
        "old_value": None,
        "new_value": created_text(values),
        "reason": reason,
    }


def entity_name(row: Base) -> str:
    return str(row.__tablename__)


def audit_created(session: Session, actor: Actor, row: Base, reason: str | None = None) -> None:
    """Audit a new row: one creation entry (flushes first, so the row has its id)."""
    audit_created_many(session, actor, [row], reason)


def audit_created_many(
    session: Session, actor: Actor, rows: Iterable[Base], reason: str | None = None
) -> None:
    """Audit many new rows (one creation entry each) with one flush and one multi-row INSERT."""
    rows = list(rows)
    if not rows:
        return
    session.flush()
    append(session, _created_entries(actor, rows, reason, utcnow()))


def _created_entries(
    actor: Actor, rows: list[Base], reason: str | None, at: Any
) -> list[dict[str, Any]]:
    """The creation entry of each of ``rows`` (flushed: each has its id)."""
    keys: dict[type[Base], list[str]] = {}
    entries = []
    for row in rows:
        names = keys.get(type(row))
        if names is None:
            names = keys[type(row)] = [c.key for c in inspect(row).mapper.column_attrs]
        values = {name: getattr(row, name) for name in names}
        entries.append(created_entry(actor, entity_name(row), _row_id(row), values, reason, at))
    return entries


def insert_created(
    session: Session,
    actor: Actor,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    reason: str | None = None,
) -> list[int]:
    """Insert new rows of ``model`` and audit each (one creation entry); their ids, in order.

    What :func:`audit_created_many` does for ORM objects, for rows given as column values: each
    row is completed with its columns' defaults (as the ORM would fill them) and written with
    Core in the caller's transaction, then its creation entry is built from exactly the values
    stored. No object is built or flushed per row (an import stores tens of thousands). A column
    left out that only the database fills (a server default) is refused: its value would be
    missing from the audit row.

    New ids: on PostgreSQL drawn from the key's sequence first (one query), so each row is
    inserted with its id; on SQLite read back after the insert
    (:func:`~psotrack.store.bulk.insert_numbered`).
    """
    if not rows:
        return []
    table = cast(Table, model.__table__)
    mapper = inspect(model)
    keys = [attr.key for attr in mapper.column_attrs]
    (key_column,) = mapper.primary_key
    key = str(key_column.key)
    generated = key not in rows[0]
    defaults = {
        attr.key: _default(attr.columns[0])
        for attr in mapper.column_attrs
        if not (generated and attr.key == key)
    }
    filled = []
    for given in rows:
        if not given.keys() <= defaults.keys():
            unknown = sorted(set(given) - defaults.keys())
            raise TypeError(f"not columns of {table.name} to insert: {unknown}")
        filled.append({k: given[k] if k in given else default for k, default in defaults.items()})
    dialect = session.get_bind().dialect.name
    if generated and dialect == "postgresql":
        # The ids drawn from the key's sequence first: each row then carries its own.
        for values, row_id in zip(
            filled, _postgresql_ids(session, table, key, len(filled)), strict=True
        ):
            values[key] = row_id
        generated = False
    session.flush()  # pending ORM rows first, as a Core INSERT through the session would
    connection = session.connection()
    if not generated:
        insert_rows(connection, table, filled)
        ids = [int(values[key]) for values in filled]
    else:
        ids = insert_numbered(connection, table, str(key_column.name), filled)
    now = utcnow()
    name = str(table.name)
    entries = []
    for row_id, values in zip(ids, filled, strict=True):
        values[key] = row_id
        entries.append(
            created_entry(actor, name, row_id, {k: values[k] for k in keys}, reason, now)
        )
    append(session, entries)
    return ids


def _postgresql_ids(session: Session, table: Table, key: str, count: int) -> list[int]:
    """``count`` new ids from the sequence behind ``table.key``, ascending (one query)."""
    sequence = session.scalar(
        text("SELECT pg_get_serial_sequence(:table, :column)"),
        {"table": table.name, "column": key},
    )
    if sequence is None:
        raise RuntimeError(f"{table.name}.{key} has no sequence: give the ids to insert_created")
    drawn = session.scalars(
        text("SELECT nextval(:sequence) FROM generate_series(1, :count)"),
        {"sequence": sequence, "count": count},
    )
    return sorted(int(i) for i in drawn)


def _default(column: Any) -> Any:
    """A column's value when a new row leaves it out: its Python default, else empty.

    A callable default (a creation time) is called once per call: the rows of one bulk insert
    share it, as they share the transaction.
    """
    default = column.default
    if column.server_default is not None:
        raise RuntimeError(f"{column} has a server default: give its value to insert_created")
    if default is None:
        return None
    if default.is_scalar:
        return default.arg
    if default.is_callable:
        return default.arg(None)
    raise RuntimeError(f"{column} has a SQL default: give its value to insert_created")


def audit_created_values(
    session: Session,
    actor: Actor,
    table: str,
    row_id: int,
    values: dict[str, Any],
    reason: str | None = None,
    *,
    with_rows: Iterable[Base] = (),
) -> None:
    """Audit a row inserted with Core (no ORM object): one creation entry. ``with_rows``: new
    rows stored with it (added to the session, flushed here), audited in the same append: one
    INSERT of the audit rows while the append lock is held, instead of one per call."""
    now = utcnow()
    entries = [created_entry(actor, table, row_id, values, reason, now)]
    rows = list(with_rows)
    if rows:
        session.flush()
        entries += _created_entries(actor, rows, reason, now)
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


#: Where a session keeps the chain's head after its transaction's last append (see append).
_HEAD = "psotrack.audit.head"


def append(session: Session, entries: list[dict[str, Any]]) -> None:
    """Chain ``entries`` after the log's head and insert them with one multi-row INSERT.

    The session is flushed first: on SQLite the data rows then hold the write lock before the
    head is read; on PostgreSQL :func:`lock_head` takes an advisory lock until commit. Either
    lock is held until the transaction ends, so no other writer moves the head meanwhile: a
    later append in the same transaction goes on from the head its session kept, without
    asking the database again (two round trips fewer while every other writer waits).
    """
    if not entries:
        return
    session.flush()
    transaction = session.get_transaction()
    kept = session.info.get(_HEAD)
    if kept is not None and kept[0] is transaction:
        seq, prev_hash = kept[1], kept[2]
    else:
        seq, prev_hash = lock_head(session)
    chain(entries, seq, prev_hash)
    insert_rows(session.connection(), cast(Table, AuditEntry.__table__), entries)
    session.info[_HEAD] = (transaction, entries[-1]["seq"], entries[-1]["row_hash"])


def _row_id(row: Base) -> int:
    primary_key = inspect(row).identity
    if not primary_key:
        raise RuntimeError(f"{entity_name(row)} row has no id yet: flush before auditing it")
    return int(primary_key[0])
