"""Migration 0007: an index of each patient's live visits by date, added and removed."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from psotrack.store import current_revision, downgrade, upgrade

NAME = "ix_visits_patient_id_visit_date"


def visit_indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {
        i["name"]: i["column_names"] for i in inspect(engine).get_indexes("visits") if i["name"]
    }


def test_the_index_comes_with_0007_and_goes_with_its_downgrade(empty_engine: Engine) -> None:
    upgrade(empty_engine, "0006")
    assert NAME not in visit_indexes(empty_engine)
    upgrade(empty_engine, "0007")
    assert current_revision(empty_engine) == "0007"
    assert visit_indexes(empty_engine)[NAME] == ["patient_id", "visit_date"]
    downgrade(empty_engine, "0006")
    assert NAME not in visit_indexes(empty_engine)
