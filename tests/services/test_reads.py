"""Database.reads(): the session of a service that only reads (a patient's page, the list), on
SQLite and PostgreSQL."""

import time

import pytest
from sqlalchemy import func, insert, select, text, update

from psotrack.services.context import SYSTEM
from psotrack.services.patients import create_program
from psotrack.store.models import Program


def program(name: str) -> dict:
    return {
        "name": name,
        "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
        "product_source": "UC-MSC",
        "route": "IV",
    }


def programs(db) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(Program.name).order_by(Program.id)))


def test_each_read_sees_what_was_committed_when_it_began(db):
    """A page reads a patient's revision before their rows: each later read sees the latest
    commits, on both databases (SQLite's driver begins a transaction only before a write). On
    PostgreSQL no BEGIN precedes the reads: each statement's transaction time is its own."""
    create_program(db, SYSTEM, program("First"))
    with db.reads() as session:
        assert session.scalars(select(Program.name)).all() == ["First"]
        create_program(db, SYSTEM, program("Second"))  # committed meanwhile, elsewhere
        assert session.scalar(select(func.count()).select_from(Program)) == 2
        if db.engine.dialect.name == "postgresql":
            for _ in range(2):
                assert session.scalar(text("SELECT now() = statement_timestamp()")) is True
                time.sleep(0.002)


@pytest.mark.parametrize(
    "write",
    [
        lambda session: session.execute(insert(Program).values(**program("Written"))),
        lambda session: session.execute(update(Program).values(name="Written")),
        lambda session: session.execute(text("UPDATE programs SET name = 'Written'")),
        lambda session: (session.add(Program(**program("Written"))), session.flush()),
    ],
    ids=["core insert", "core update", "text update", "orm flush"],
)
def test_a_write_in_a_read_session_is_refused_and_nothing_is_stored(db, write):
    create_program(db, SYSTEM, program("First"))
    with (
        pytest.raises(RuntimeError, match=r"write in Database\.transaction"),
        db.reads() as session,
    ):
        write(session)
    assert programs(db) == ["First"]


def test_inside_a_unit_of_work_reads_see_the_units_writes(db):
    with db.unit_of_work() as unit:
        create_program(unit, SYSTEM, program("Uncommitted"))
        with unit.reads() as session:
            assert session.scalars(select(Program.name)).all() == ["Uncommitted"]
