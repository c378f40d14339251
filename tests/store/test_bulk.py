"""Bulk inserts store what a Core INSERT stores, and number new rows in the order given.

Each check runs on SQLite (where ``store.bulk`` hands the rows to the driver's executemany) and on
PostgreSQL (COPY through psycopg), the values converted by each column type's bind processor: the
rows read back must be the rows a plain SQLAlchemy Core INSERT of the same values gives — the
independent reference.
"""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)

from psotrack.store.bulk import FEW_ROWS, insert_numbered, insert_rows
from psotrack.store.models import Patient
from psotrack.store.vocabulary import PsoriasisType, Sex

PATIENTS = Patient.__table__
CREATED = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def patient(research_id: str, **changes):
    row = {
        "research_id": research_id,
        "sex": Sex.FEMALE,
        "birth_year": 1971,
        "fitzpatrick": None,
        "psoriasis_type": PsoriasisType.PLAQUE,
        "onset_year": None,
        "history": "imported from a file with 'quotes' and ünïcode",
        "synthetic": True,
        "revision": 0,
        "created_at": CREATED,
        "deleted_at": None,
        "deleted_reason": None,
    }
    return {**row, **changes}


def stored(connection, research_ids):
    columns = [c for c in PATIENTS.c if c.key not in ("id", "research_id")]
    found = connection.execute(
        select(*columns).where(PATIENTS.c.research_id.in_(research_ids)).order_by("research_id")
    )
    return [tuple(row) for row in found]


ROWS = [
    patient("PT-A1"),
    patient("PT-A2", sex=Sex.MALE, synthetic=False, birth_year=None, fitzpatrick=6),
    patient("PT-A3", psoriasis_type=PsoriasisType.GUTTATE, history=None, deleted_reason="x"),
]


def test_bulk_rows_read_back_as_core_rows(engine):
    bulk = [patient(r["research_id"].replace("A", "B"), **_rest(r)) for r in ROWS]
    with engine.begin() as connection:
        connection.execute(insert(PATIENTS), ROWS)
        ids = insert_numbered(connection, PATIENTS, "id", bulk)
        assert stored(connection, [r["research_id"] for r in bulk]) == stored(
            connection, [r["research_id"] for r in ROWS]
        )
        by_id = dict(connection.execute(select(PATIENTS.c.id, PATIENTS.c.research_id)).all())
    assert [by_id[i] for i in ids] == [r["research_id"] for r in bulk]


def _rest(row):
    return {k: v for k, v in row.items() if k != "research_id"}


def test_rows_with_their_keys_are_stored_with_them(engine):
    rows = [{**patient(f"PT-K{n}"), "id": 100 + 7 * n} for n in range(3)]
    with engine.begin() as connection:
        insert_rows(connection, PATIENTS, rows)
        found = connection.execute(select(PATIENTS.c.id, PATIENTS.c.research_id)).all()
    assert sorted(found) == [(100, "PT-K0"), (107, "PT-K1"), (114, "PT-K2")]


def test_new_keys_follow_the_largest_even_after_the_top_rows_are_gone(engine):
    with engine.begin() as connection:
        first = insert_numbered(connection, PATIENTS, "id", [patient(f"PT-G{n}") for n in range(5)])
        connection.execute(delete(PATIENTS).where(PATIENTS.c.id.in_(first[3:])))
        again = insert_numbered(connection, PATIENTS, "id", [patient(f"PT-H{n}") for n in range(4)])
        names = dict(connection.execute(select(PATIENTS.c.id, PATIENTS.c.research_id)).all())
    assert [names[i] for i in again] == [f"PT-H{n}" for n in range(4)]
    assert again == list(range(again[0], again[0] + 4))


def test_a_column_with_a_default_must_be_given(engine):
    row = patient("PT-D1")
    del row["created_at"]
    with engine.begin() as connection, pytest.raises(TypeError, match="created_at"):
        insert_rows(connection, PATIENTS, [row])


def test_rows_that_differ_in_their_columns_are_refused(engine):
    odd = {k: v for k, v in patient("PT-E2").items() if k != "history"}
    with engine.begin() as connection, pytest.raises(TypeError, match="differ"):
        insert_rows(connection, PATIENTS, [patient("PT-E1"), odd])


PROBE = Table(
    "bulk_probe",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("label", String(80)),
    Column("sex", Enum(Sex, native_enum=False, length=16)),
    Column("ok", Boolean),
    Column("at", DateTime(timezone=True)),
    Column("on", Date),
    Column("x", Double),
    Column("answers", JSON),
)


def probe(row_id, **changes):
    row = {
        "label": "tab\there, newline\nthere, back\\slash, 'quote', \"double\", ünïcode, \\N",
        "sex": Sex.FEMALE,
        "ok": True,
        "at": CREATED,
        "on": date(2026, 2, 28),
        "x": 0.1 + 0.2,
        "answers": {"head": {"erythema": 2, "area": 3}, "note": "a\tb\\c", "none": None},
    }
    return {"id": row_id, **row, **changes}


@pytest.mark.parametrize("copies", [1, 1 + FEW_ROWS // 4], ids=["few rows", "many rows"])
def test_rows_read_back_as_core_rows_for_every_converted_type(engine, copies):
    """Text with COPY's special characters, enums, booleans, times, floats, JSON and NULLs:
    what insert_rows stores (on PostgreSQL one INSERT of a few rows, COPY of more; the driver's
    executemany on SQLite) is what a Core INSERT of the same values stores."""
    variants = copies * [
        {},
        {"sex": Sex.MALE, "ok": False, "x": -1e-300, "answers": [1, "two", None]},
        {
            "label": None,
            "sex": None,
            "ok": None,
            "at": None,
            "on": None,
            "x": None,
            "answers": None,
        },
        {"label": "", "answers": {}},
    ]
    with engine.begin() as connection:
        PROBE.create(connection)
        connection.execute(insert(PROBE), [probe(n, **v) for n, v in enumerate(variants)])
        insert_rows(connection, PROBE, [probe(100 + n, **v) for n, v in enumerate(variants)])
        found = connection.execute(select(PROBE).order_by(PROBE.c.id)).all()
    core, bulk = found[: len(variants)], found[len(variants) :]
    assert len(bulk) == len(variants) and [row[1:] for row in bulk] == [row[1:] for row in core]
    assert bulk[0].label == probe(0)["label"] and bulk[0].answers == probe(0)["answers"]
    assert bulk[2].label is None and bulk[3].label == ""
