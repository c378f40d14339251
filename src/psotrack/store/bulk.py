"""Inserting many rows with one statement: what an import of tens of thousands of records needs.

A Core ``INSERT`` with a list of rows (executemany) processes every row's parameters through
SQLAlchemy's general machinery; for 60 000 rows that took about twice as long as the driver's
own ``executemany``. So the rows here go to the driver directly, each value converted by its
column type's own bind processor (the conversion a Core ``INSERT`` applies: a datetime to
SQLite's text, an enum to its stored name, JSON to text or psycopg's ``Json``). On SQLite the
statement is one ``INSERT`` written once and run with ``executemany``. On PostgreSQL through
psycopg the rows are sent with ``COPY … FROM STDIN`` (psycopg writes each value in the text
format, and the server parses it by the column's type, as it does a bound parameter): in a
10 000-record REDCap import, under the profiler, the pipelined ``executemany`` of its rows took
about 5 s and COPY about 2.5 s, most of it the server's own work. A few rows (at most
:data:`FEW_ROWS`: the audit rows of one clinical entry) go as one multi-row ``INSERT`` instead:
COPY takes a round trip more, and an entry's rows are written while every other writer waits
for the audit append lock. Another PostgreSQL driver gets a Core ``INSERT``. Either way the
rows are stored with the same values, in the caller's transaction; a test reads them back on both
databases against a Core INSERT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, insert, text

if TYPE_CHECKING:
    import psycopg

_SQLITE = "sqlite"
_PSYCOPG = "psycopg"
#: Up to this many rows, PostgreSQL gets one multi-row INSERT rather than COPY (see above).
FEW_ROWS = 16


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``, each with the same columns (a column left out is the database's to fill).

    On every database, rows that differ in their columns, and a column left out that has a
    Python-side default, are refused (``TypeError``, a programming error): a Core INSERT would
    fill such a column row by row, so the caller fills it (``services.audit.insert_created``).
    """
    if not rows:
        return
    names = list(rows[0])
    _check_columns(table, names)
    if any(row.keys() != rows[0].keys() for row in rows):
        raise TypeError(f"rows to insert into {table.name} differ in their columns")
    dialect = connection.dialect
    if dialect.name != _SQLITE and dialect.driver != _PSYCOPG:
        connection.execute(insert(table), list(rows))
        return
    processors = _processors(connection, table, names)
    pick = itemgetter(*names)
    params: list[Any] = []
    done: dict[tuple[int, int], Any] = {}  # (id of a value, column) → its processed form
    for row in rows:
        values = pick(row)
        params.append(_processed(values, processors, done) if processors else values)
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        params = [(value,) for value in params]
    if dialect.name == _SQLITE:
        connection.exec_driver_sql(_statement(connection, table, names), params)
    elif len(params) <= FEW_ROWS:
        flat = tuple(value for values in params for value in values)
        connection.exec_driver_sql(_statement(connection, table, names, len(params)), flat)
    else:
        _copy(connection, table, names, params)


def insert_numbered(
    connection: Connection, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert ``rows`` without their ``key`` column, as :func:`insert_rows`; the keys given, in
    row order.

    SQLite gives each row inserted without a key the largest key so far plus one (the last
    sequence value plus one for an AUTOINCREMENT key), row by row in the order given, while
    the insert holds the write lock. So the new keys are the rows above the largest key read
    before the insert, consecutive and in order. Anything else (another writer's rows in
    between, a table at the largest key, where SQLite picks keys at random) is refused and the
    transaction rolls back: a row is never mapped to another's key.
    """
    if not rows:
        return []
    if connection.dialect.name != _SQLITE:
        statement = insert(table).returning(table.c[key], sort_by_parameter_order=True)
        return [int(i) for i in connection.execute(statement, list(rows)).scalars()]
    name = connection.dialect.identifier_preparer.quote(table.c[key].name)
    table_name = connection.dialect.identifier_preparer.format_table(table)
    before = connection.scalar(text(f"SELECT max({name}) FROM {table_name}")) or 0
    insert_rows(connection, table, rows)
    found = connection.scalars(
        text(f"SELECT {name} FROM {table_name} WHERE {name} > :before ORDER BY {name}"),
        {"before": before},
    ).all()
    ids = [int(i) for i in found]
    if len(ids) != len(rows) or ids[-1] - ids[0] != len(rows) - 1:
        raise RuntimeError(f"SQLite did not number the new {table.name} rows consecutively")
    return ids


def _check_columns(table: Table, names: list[str]) -> None:
    unknown = [n for n in names if n not in table.c]
    if unknown:
        raise TypeError(f"not columns of {table.name} to insert: {sorted(unknown)}")
    defaulted = [c.key for c in table.c if c.key not in names and c.default is not None]
    if defaulted:
        raise TypeError(f"give the values of {table.name}'s defaulted columns: {defaulted}")


def _processors(connection: Connection, table: Table, names: list[str]) -> list[tuple[int, Any]]:
    """(position, bind processor) of the columns whose type converts its values."""
    dialect = connection.dialect
    found = []
    for position, name in enumerate(names):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            found.append((position, process))
    return found


def _processed(
    values: tuple[Any, ...], processors: list[tuple[int, Any]], done: dict[tuple[int, int], Any]
) -> tuple[Any, ...]:
    """The values with each processor applied (to None too: JSON may store it as 'null').

    Rows share many values (one creation time, a few enum members): each object is converted
    once per column and call, its result reused while the rows, and so the object, are alive.
    """
    row = list(values)
    for position, process in processors:
        value = row[position]
        key = (id(value), position)
        if key not in done:
            done[key] = process(value)
        row[position] = done[key]
    return tuple(row)


def _copy(connection: Connection, table: Table, names: list[str], params: list[Any]) -> None:
    """``COPY`` the rows' values into ``table`` on the connection's psycopg connection, in its
    transaction."""
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(n) for n in names)
    statement = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    driver = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for values in params:
            copy.write_row(values)


def _statement(connection: Connection, table: Table, names: list[str], rows: int = 1) -> str:
    """An INSERT of ``rows`` rows of ``names`` in the driver's own parameter marks (SQLite's
    ``?``, psycopg's ``%s``)."""
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(n) for n in names)
    mark = "?" if connection.dialect.name == _SQLITE else "%s"
    row = "(" + ", ".join(mark for _ in names) + ")"
    values = ", ".join(row for _ in range(rows))
    return f"INSERT INTO {preparer.format_table(table)} ({columns}) VALUES {values}"
