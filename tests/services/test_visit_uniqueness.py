"""A visit is recorded once: the database, not only a read before the insert, enforces it."""

import threading
from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select, text

from psotrack.errors import Conflict, ValidationError
from psotrack.services import imports as import_service
from psotrack.services.corrections import delete_record
from psotrack.services.imports import import_assessments
from psotrack.store import downgrade, upgrade
from psotrack.store.models import Assessment, AuditEntry, Visit
from tests.services.conftest import add_visit


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def follow_up() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["A", "A", "B"],
            "visit": ["W4", "W12", "W12"],
            "day": [28, 84, 84],
            "pasi": ["4.0", "1.9", "6.5"],
        }
    )


def baseline() -> pl.DataFrame:
    return pl.DataFrame(
        {"patient_id": ["A", "B"], "visit": ["W0", "W0"], "day": [0, 0]}
    ).with_columns(pl.Series("pasi", ["7.6", "10.0"]))


def run_import(db, actor, program_id, frame):
    return import_assessments(
        db, actor, frame, program_id=program_id, day_zero=date(2026, 2, 2), source="w.csv"
    )


def test_the_same_follow_up_file_imported_twice_at_once_is_stored_once(
    db, clinician, program_id, monkeypatch
):
    # Issue 14: two imports of one file, both past the "already recorded?" read before either
    # committed, stored every visit twice. The barrier holds each import just after that read
    # until the other has read too, so the race happens on every run, on both databases.
    run_import(db, clinician, program_id, baseline())
    before = (count(db, Visit), count(db, Assessment), count(db, AuditEntry))
    barrier = threading.Barrier(2, timeout=30)
    real = import_service._refuse_visits_already_recorded

    def read_then_wait(*args):
        real(*args)
        barrier.wait()

    monkeypatch.setattr(import_service, "_refuse_visits_already_recorded", read_then_wait)
    outcomes: list[object] = []

    def one_import():
        try:
            outcomes.append(run_import(db, clinician, program_id, follow_up()))
        except Exception as exc:  # the outcome is what the test inspects
            outcomes.append(exc)

    threads = [threading.Thread(target=one_import) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    stored = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(stored) == 1 and len(refused) == 1, outcomes
    (clash,) = refused
    assert isinstance(clash, Conflict)
    message = str(clash)
    assert "\n" not in message
    assert message.startswith("nothing from w.csv was stored: another change to the same")
    assert "run it again" in message
    visits, assessments, audit = before
    per_visit = count(db, AuditEntry) - audit
    assert (count(db, Visit), count(db, Assessment)) == (visits + 3, assessments + 3)
    assert per_visit > 0
    with db.transaction() as session:
        labels = session.execute(select(Visit.patient_id, Visit.label)).all()
    assert len(labels) == len(set(labels))
    # Run again, the import names every row already recorded (rows counted from 1).
    monkeypatch.setattr(import_service, "_refuse_visits_already_recorded", real)
    with pytest.raises(ValidationError) as info:
        run_import(db, clinician, program_id, follow_up())
    assert [p.row for p in info.value.problems] == [1, 2, 3]


def test_a_second_live_visit_with_the_same_label_is_a_conflict(db, clinician, patient_id):
    first = add_visit(db, clinician, patient_id, label="Week 4")
    with pytest.raises(Conflict, match="clashes with what is stored"):
        add_visit(db, clinician, patient_id, visit_date=date(2026, 2, 2), label="Week 4")
    assert count(db, Visit) == 1
    # A deleted visit no longer holds its label: the rule is one *live* visit per label.
    delete_record(db, clinician, "visits", first, "entered for the wrong patient")
    add_visit(db, clinician, patient_id, visit_date=date(2026, 2, 2), label="Week 4")
    assert count(db, Visit) == 2


def test_other_patients_may_use_the_same_label(db, clinician, patient_id, program_id):
    from psotrack.services.patients import enroll_patient
    from tests.services.conftest import patient_form

    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0002"))
    add_visit(db, clinician, patient_id, label="Week 4")
    add_visit(db, clinician, other, label="Week 4")
    assert count(db, Visit) == 2


def test_upgrade_names_visits_already_doubled_and_downgrade_drops_the_index(empty_engine):
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (id, research_id, sex, psoriasis_type, synthetic, "
                "created_at) VALUES (7, 'PT-1', 'female', 'plaque', false, CURRENT_TIMESTAMP)"
            )
        )
        for _ in range(2):
            conn.execute(
                text(
                    "INSERT INTO visits (patient_id, visit_date, visit_type, label, created_at) "
                    "VALUES (7, '2026-01-05', 'baseline', 'W0', CURRENT_TIMESTAMP)"
                )
            )
    with pytest.raises(ValidationError) as info:
        upgrade(empty_engine)
    assert str(info.value) == (
        "visits.label='W0': one live visit per label, but patient 7 has 2: relabel or delete "
        "the duplicates before upgrading"
    )
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE visits SET deleted_at = CURRENT_TIMESTAMP WHERE id = 2"))
    upgrade(empty_engine)
    downgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:  # without the index, a double is possible again
        conn.execute(
            text(
                "INSERT INTO visits (patient_id, visit_date, visit_type, label, created_at) "
                "VALUES (7, '2026-01-05', 'baseline', 'W0', CURRENT_TIMESTAMP)"
            )
        )
