"""Migration 0009: the database keeps each patient's last visit date as their visits change."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, inspect, text

from psotrack.services.context import Database
from psotrack.services.demo import build_demo
from psotrack.store import current_revision, downgrade, upgrade
from psotrack.store.models import Base
from tests.store.test_migration_0008 import change, revision_of


@pytest.fixture
def demo(engine: Engine, tmp_path) -> Engine:
    build_demo(Database.from_engine(engine, photo_dir=tmp_path / "photos"), patients=3, seed=5)
    return engine


def kept(engine: Engine, patient_id: int) -> date | None:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT last_visit_date FROM patients WHERE id = :p"), {"p": patient_id}
        ).scalar_one()
    return date.fromisoformat(found) if isinstance(found, str) else found


def visits_of(engine: Engine, patient_id: int) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT id FROM visits WHERE patient_id = :p ORDER BY id"), {"p": patient_id}
            ).scalars()
        )


def two_patients(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        ids = connection.execute(
            text("SELECT DISTINCT patient_id FROM visits ORDER BY patient_id")
        ).scalars()
        first, second, *_ = ids
    return first, second


def set_dates(engine: Engine, dates: dict[int, str]) -> None:
    for visit_id, when in dates.items():
        change(engine, "UPDATE visits SET visit_date = :d WHERE id = :v", d=when, v=visit_id)


def test_it_follows_each_change_of_the_visits(demo: Engine) -> None:
    """Each step's expected date is worked out by hand from the dates set."""
    patient, other = two_patients(demo)
    first, second, *rest = visits_of(demo, patient)
    set_dates(demo, {first: "2026-01-05", second: "2026-02-02"} | {v: "2026-01-20" for v in rest})
    assert kept(demo, patient) == date(2026, 2, 2)
    set_dates(demo, {first: "2026-03-09"})  # redated past the others
    assert kept(demo, patient) == date(2026, 3, 9)
    before = revision_of(demo, patient)
    change(demo, "UPDATE visits SET deleted_at = created_at WHERE id = :v", v=first)
    assert kept(demo, patient) == date(2026, 2, 2)  # the deleted visit no longer counts
    assert revision_of(demo, patient) == before + 1  # raised once, as migration 0008 does
    change(demo, "UPDATE visits SET deleted_at = NULL WHERE id = :v", v=first)
    assert kept(demo, patient) == date(2026, 3, 9)  # and counts again when restored
    for visit_id in visits_of(demo, other):
        change(demo, "UPDATE visits SET visit_date = '2025-06-01' WHERE id = :v", v=visit_id)
    assert kept(demo, other) == date(2025, 6, 1)
    change(
        demo, "UPDATE visits SET patient_id = :o, label = 'Moved' WHERE id = :v", o=other, v=first
    )
    assert (kept(demo, patient), kept(demo, other)) == (date(2026, 2, 2), date(2026, 3, 9))
    columns = [c.name for c in Base.metadata.tables["visits"].columns if c.name != "id"]
    copied = ", ".join("'Unscheduled' AS label" if c == "label" else c for c in columns)
    change(
        demo,
        f"INSERT INTO visits ({', '.join(columns)}) SELECT {copied} FROM visits WHERE id = :v",
        v=second,
    )
    added = visits_of(demo, patient)[-1]
    set_dates(demo, {added: "2026-07-01"})
    assert kept(demo, patient) == date(2026, 7, 1)  # a new visit
    change(demo, "DELETE FROM visits WHERE id = :v", v=added)
    assert kept(demo, patient) == date(2026, 2, 2)  # gone again
    for visit_id in visits_of(demo, other):
        change(demo, "UPDATE visits SET deleted_at = created_at WHERE id = :v", v=visit_id)
    assert kept(demo, other) is None  # no live visit: no last visit


def test_the_upgrade_fills_it_and_the_downgrade_takes_it_away(demo: Engine) -> None:
    patient, _ = two_patients(demo)
    first, second, *rest = visits_of(demo, patient)
    set_dates(demo, {first: "2026-04-01", second: "2026-04-15"} | {v: "2026-04-02" for v in rest})
    downgrade(demo, "0008")
    assert "last_visit_date" not in {c["name"] for c in inspect(demo).get_columns("patients")}
    before = revision_of(demo, patient)  # 0008's triggers are back: a visit raises the revision
    change(demo, "UPDATE visits SET visit_date = '2026-05-06' WHERE id = :v", v=first)
    assert revision_of(demo, patient) == before + 1
    upgrade(demo, "0009")
    assert current_revision(demo) == "0009"
    assert kept(demo, patient) == date(2026, 5, 6)  # filled from the visits recorded meanwhile
