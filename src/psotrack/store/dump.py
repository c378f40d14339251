"""A logical dump of a PostgreSQL record store: the schema revision and every row, as JSON lines.

psotrack's choice over ``pg_dump``: the dump needs nothing but psotrack's own dependencies (no
``postgresql-client`` of a matching major version on the machine), and a restore runs in ONE
transaction together with emptying the target and migrating it to the dump's revision (PostgreSQL
DDL is transactional), so a failed or interrupted restore leaves the target exactly as it was.
It carries what psotrack's migrations create — tables and rows; privileges are granted again with
``psotrack db grant``.

File: gzip, one JSON object a line — a header (format, revision, tables and their columns), one
line per row (``{"t": table, "r": [values]}``) table by table in foreign-key order, and a trailer
with the row count of every table, so that a truncated file is refused.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, MetaData, Table, bindparam, func, insert, select, text, update
from sqlalchemy import types as sqltypes

from psotrack.errors import ValidationError

FORMAT = "psotrack-dump"
VERSION = 1
MAGIC = b"\x1f\x8b"  # gzip
_BATCH = 1000

Codec = Callable[[Any], Any]


def _codecs(column_type: sqltypes.TypeEngine[Any]) -> tuple[Codec, Codec]:
    """How a value of this column type is written to JSON and read back."""
    if isinstance(column_type, sqltypes.DateTime):
        return (lambda v: v.isoformat()), datetime.fromisoformat
    if isinstance(column_type, sqltypes.Date):
        return (lambda v: v.isoformat()), date.fromisoformat
    if isinstance(column_type, sqltypes.Time):
        return (lambda v: v.isoformat()), time.fromisoformat
    if isinstance(column_type, sqltypes.LargeBinary):
        return (lambda v: base64.b64encode(v).decode()), base64.b64decode
    if isinstance(column_type, sqltypes.Numeric) and not isinstance(column_type, sqltypes.Float):
        return str, Decimal
    return (lambda v: v), (lambda v: v)


def _tables(connection: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [table for table in metadata.sorted_tables if table.name != "alembic_version"]


def write_dump(connection: Connection, revision: str | None, handle: IO[str]) -> dict[str, int]:
    """Write every row of the current schema to ``handle``; returns the row count per table.

    Call it inside a REPEATABLE READ transaction so that all tables come from one snapshot.
    """
    tables = _tables(connection)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "revision": revision,
        "tables": {table.name: [column.name for column in table.columns] for table in tables},
    }
    handle.write(json.dumps(header) + "\n")
    counts: dict[str, int] = {}
    for table in tables:
        encoders = [_codecs(column.type)[0] for column in table.columns]
        order = list(table.primary_key.columns) or list(table.columns)
        query = select(table).order_by(*order)
        counts[table.name] = 0
        for row in connection.execution_options(yield_per=_BATCH).execute(query):
            values = [None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]
            handle.write(json.dumps({"t": table.name, "r": values}, ensure_ascii=False) + "\n")
            counts[table.name] += 1
    handle.write(json.dumps({"end": True, "rows": counts}) + "\n")
    return counts


def read_header(path: Path) -> dict[str, Any]:
    """The dump's header, checked: a clear error for a file that is not a psotrack dump."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValidationError("backup", str(path), "a psotrack backup file", "invalid")
    if header.get("version") != VERSION:
        raise ValidationError(
            "backup", str(path), f"a psotrack dump of format version {VERSION}", "invalid"
        )
    return header


def load_dump(connection: Connection, path: Path) -> dict[str, int]:
    """Insert the dump's rows into the (migrated, empty) current schema; the row counts.

    The caller holds the transaction: any problem raises and the whole restore rolls back.
    """
    header = read_header(path)
    tables = {table.name: table for table in _tables(connection)}
    decoders: dict[str, list[Codec]] = {}
    for name, columns in header["tables"].items():
        table = tables.get(name)
        if table is None or [column.name for column in table.columns] != columns:
            raise ValidationError(
                "backup", str(path), f"columns of {name} that match the schema", "invalid"
            )
        decoders[name] = [_codecs(column.type)[1] for column in table.columns]
    counts = dict.fromkeys(header["tables"], 0)
    trailer: dict[str, Any] | None = None
    pending: list[dict[str, Any]] = []
    revisions: list[dict[str, int]] = []
    current: str | None = None
    for line in _lines(path):
        if "end" in line:
            trailer = line
            break
        name = line.get("t")
        if name not in decoders:
            raise ValidationError(
                "backup", str(path), "rows of the tables in its header", "invalid"
            )
        if name != current and pending and current is not None:
            connection.execute(insert(tables[current]), pending)
            pending = []
        current = name
        row = _decoded(header["tables"][name], decoders[name], line["r"], path)
        pending.append(row)
        if name == "patients" and "revision" in row:
            revisions.append({"patient_id": row["id"], "dumped": row["revision"]})
        counts[name] += 1
        if len(pending) >= _BATCH:
            connection.execute(insert(tables[name]), pending)
            pending = []
    if pending and current is not None:
        connection.execute(insert(tables[current]), pending)
    if trailer is None or trailer.get("rows") != counts:
        raise ValidationError("backup", str(path), "a complete dump (it is cut short)", "invalid")
    _restore_revisions(connection, tables, revisions)
    _reset_sequences(connection, [tables[name] for name in counts])
    return counts


def _restore_revisions(
    connection: Connection, tables: dict[str, Table], revisions: list[dict[str, int]]
) -> None:
    """Give each patient back the revision the dump holds.

    Inserting a patient's rows raised their revision (the triggers of migration 0008). It is set
    in two steps: the database raises a revision that an update leaves as it was, so the first
    step sets one that no patient has (revisions are never negative).
    """
    if not revisions:
        return
    patients = tables["patients"]
    by_id = patients.c.id == bindparam("patient_id")
    connection.execute(
        update(patients).where(by_id).values(revision=-1),
        [{"patient_id": r["patient_id"]} for r in revisions],
    )
    connection.execute(
        update(patients).where(by_id).values(revision=bindparam("dumped")), revisions
    )


def _decoded(
    columns: list[str], decoders: list[Codec], values: list[Any], path: Path
) -> dict[str, Any]:
    try:
        decoded = [None if v is None else dec(v) for dec, v in zip(decoders, values, strict=True)]
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "backup", str(path), f"rows that fit their table ({exc})", "invalid"
        ) from None
    return dict(zip(columns, decoded, strict=True))


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            handle.readline()
            for line in handle:
                yield json.loads(line)
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise ValidationError(
            "backup", str(path), f"a complete, readable dump ({exc})", "invalid"
        ) from None


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """Move each serial sequence past the restored ids, so new rows get fresh ones."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sqltypes.Integer):
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": keys[0].name},
        ).scalar()
        if sequence is None:
            continue
        top = connection.execute(select(func.max(keys[0]))).scalar()
        connection.execute(
            text("SELECT setval(:sequence, :value, false)"),
            {"sequence": sequence, "value": (top or 0) + 1},
        )
