"""The audit log's hash chain: how a row is hashed, how an append is serialised, how it is checked.

Each audit row carries ``seq`` (1, 2, 3 … with no gap), ``prev_hash`` (the previous row's hash;
64 zeros for the first row) and ``row_hash`` = SHA-256 of a canonical serialisation of the row's
fields and ``prev_hash``. A changed value breaks the row's own hash, a removed row leaves a gap in
``seq``, and a row inserted or moved out of place does not follow its predecessor — whichever way
the file was edited (even with sqlite3 and the triggers dropped). What a chain cannot show by
itself is the loss of the newest rows, or a chain rewritten from the tampered row onwards: keep
the head that ``psotrack audit verify`` prints somewhere else (a ticket, an e-mail) to anchor it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, inspect, select, text
from sqlalchemy.orm import Session

from psotrack.store.models.audit import AuditEntry

#: ``prev_hash`` of the first row.
GENESIS = "0" * 64

#: The fields a row's hash covers, in this order (the id is left out: the database assigns it
#: only at insert time; the order of rows is ``seq``).
HASHED = (
    "seq",
    "at",
    "actor_id",
    "action",
    "entity",
    "entity_id",
    "field",
    "old_value",
    "new_value",
    "reason",
)
#: The hashed fields after ``seq`` and ``at`` (the two that lead the list).
_REST = HASHED[2:]

#: Key of the PostgreSQL advisory lock that serialises appends: a fixed tag ("PsoA") and the audit
#: table's oid, so databases with several psotrack schemas (one per test) do not wait on each other.
#: Taken in the database: by migration 0008's trigger and 0010's ``psotrack_audit_head()``.
_LOCK_TAG = 0x50736F41


#: The canonical serialisation's encoder, built once (as ``json.dumps`` with these arguments).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical_time(at: datetime) -> str:
    """UTC with microseconds and a ``Z``; a naive time (SQLite returns those) is taken as UTC."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``prev_hash`` and the row's :data:`HASHED` fields as a compact JSON array.

    >>> entry = {"seq": 1, "at": datetime(2026, 1, 5, tzinfo=UTC), "actor_id": None,
    ...          "action": "create", "entity": "patients", "entity_id": 1, "field": "sex",
    ...          "old_value": None, "new_value": "female", "reason": None}
    >>> row_hash(GENESIS, entry)[:16]
    '22e36a0d9aebef98'
    """
    return _hashed(prev_hash, row, canonical_time(row["at"]))


def _hashed(prev_hash: str, row: Mapping[str, Any], at: str) -> str:
    """:func:`row_hash` with the row's time already in its canonical text."""
    values = [prev_hash, row["seq"], at, *[row[name] for name in _REST]]
    text = _ENCODER.encode(values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain(entries: Iterable[dict[str, Any]], seq: int, prev_hash: str) -> None:
    """Give each entry (in order) its ``seq``, ``prev_hash`` and ``row_hash`` after a given head.

    The rows of one append usually share one time: its canonical text is made once.
    """
    last: tuple[Any, str] | None = None
    for entry in entries:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = prev_hash
        at = entry["at"]
        if last is None or last[0] is not at:
            last = (at, canonical_time(at))
        entry["row_hash"] = prev_hash = _hashed(prev_hash, entry, last[1])


def append_rows(connection: Connection, entries: list[dict[str, Any]]) -> None:
    """Chain and insert audit rows written outside a service: a migration's own changes to data.

    Each entry has the :data:`HASHED` fields but ``seq``; migrations run alone, so no lock.
    """
    if entries:
        chain(entries, *head(connection))
        connection.execute(insert(AuditEntry), entries)


class MigrationAudit:
    """The audit rows of a migration's own changes to data, written as the system user.

    Every stored value has its audit row, also one a migration sets (a backfilled column, a
    recoded term): collect them with :meth:`changed`, then :meth:`write` them onto the chain.
    """

    def __init__(self, connection: Connection, actor_id: int | None, reason: str) -> None:
        self.connection = connection
        self.actor_id = actor_id
        self.reason = reason
        self.at = datetime.now(UTC)
        self.entries: list[dict[str, Any]] = []

    @classmethod
    def as_system_user(cls, connection: Connection, reason: str) -> MigrationAudit:
        actor_id = connection.execute(
            text("SELECT id FROM users WHERE username = 'system'")
        ).scalar()
        return cls(connection, actor_id, reason)

    def changed(
        self,
        entity: str,
        entity_id: int,
        field: str,
        old: object,
        new: object,
        action: str = "update",
    ) -> None:
        self.entries.append(
            {
                "at": self.at,
                "actor_id": self.actor_id,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "field": field,
                "old_value": None if old is None else str(old),
                "new_value": None if new is None else str(new),
                "reason": self.reason,
            }
        )

    def write(self) -> None:
        append_rows(self.connection, self.entries)


def lock_head(session: Session) -> tuple[int, str]:
    """Take the append lock and return the chain's head (``seq`` and hash; 0 and GENESIS if empty).

    PostgreSQL: a transaction-level advisory lock, held until commit, so two writers never read
    the same head; ``psotrack_audit_head()`` (migration 0010) takes it and then reads the head,
    in one round trip. SQLite: a write transaction already holds the database's single write
    lock; callers flush their data rows first, so the lock is held before the head is read (and
    a writer whose snapshot went stale gets SQLITE_BUSY, not a fork). The unique ``seq`` is the
    backstop on both.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        last = connection.execute(text("SELECT seq, row_hash FROM psotrack_audit_head()")).first()
        return (0, GENESIS) if last is None else (int(last.seq), str(last.row_hash))
    return head(connection)


def head(connection: Connection) -> tuple[int, str]:
    last = connection.execute(
        select(AuditEntry.seq, AuditEntry.row_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS) if last is None else (int(last.seq), str(last.row_hash))


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify_chain` found: the rows checked, the head, and the first break if any."""

    rows: int
    head_seq: int
    head_hash: str
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def has_chain(connection: Connection) -> bool:
    """Whether the database has an audit log with its chain columns (revision 0003 or later)."""
    inspector = inspect(connection)
    if not inspector.has_table("audit_log"):
        return False
    return "row_hash" in {column["name"] for column in inspector.get_columns("audit_log")}


def verify_chain(connection: Connection) -> ChainReport:
    """Recompute the chain in ``seq`` order and name the first row that breaks it."""
    columns = [AuditEntry.id, AuditEntry.prev_hash, AuditEntry.row_hash]
    columns += [getattr(AuditEntry, name) for name in HASHED]
    query = select(*columns).order_by(AuditEntry.seq, AuditEntry.id)
    expected_seq, prev_hash, prev_id, count = 1, GENESIS, None, 0
    for row in connection.execution_options(yield_per=5000).execute(query).mappings():
        count += 1
        problem = _first_problem(row, expected_seq, prev_hash, prev_id)
        if problem is not None:
            return ChainReport(count - 1, expected_seq - 1, prev_hash, problem)
        expected_seq, prev_hash, prev_id = expected_seq + 1, row["row_hash"], row["id"]
    return ChainReport(count, expected_seq - 1, prev_hash)


def _first_problem(
    row: Mapping[Any, Any], expected_seq: int, prev_hash: str, prev_id: int | None
) -> str | None:
    where = f"audit row seq {row['seq']} (id {row['id']})"
    seq = row["seq"]
    if seq is None or seq < expected_seq:
        return f"{where} was inserted out of order: seq {expected_seq} was expected"
    if seq > expected_seq:
        missing = f"seq {expected_seq}" + (f"–{seq - 1}" if seq - 1 > expected_seq else "")
        return f"{where}: {missing} removed (the chain jumps from seq {expected_seq - 1} to {seq})"
    if row["prev_hash"] != prev_hash or (prev_id is not None and row["id"] <= prev_id):
        return f"{where} was inserted out of order: it does not follow seq {expected_seq - 1}"
    if row_hash(prev_hash, row) != row["row_hash"]:
        return f"{where} was changed: its values no longer match its hash"
    return None


# --- The append-only guards (triggers) --------------------------------------------------------
# Revision 0001 created them; migrations that rebuild the audit table drop and recreate them.

APPEND_ONLY_MESSAGE = "audit_log is append-only: rows cannot be changed or deleted"


def create_guards(connection: Connection) -> None:
    """Refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) on the audit log by trigger."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION psotrack_audit_append_only()"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                "FOR EACH STATEMENT EXECUTE FUNCTION psotrack_audit_append_only()"
            )
        )
        return
    for event in ("UPDATE", "DELETE"):
        connection.execute(
            text(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
        )


def drop_guards(connection: Connection) -> None:
    """Drop the triggers (the PostgreSQL trigger function stays: revision 0001 owns it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER audit_log_no_change ON audit_log"))
        connection.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
        return
    connection.execute(text("DROP TRIGGER audit_log_no_update"))
    connection.execute(text("DROP TRIGGER audit_log_no_delete"))
