"""Warmer: statuses and list changes derived in batches equal those a view derives alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from psotrack.errors import ValidationError
from psotrack.services import scored_since, search, status
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Database
from psotrack.services.patients import create_program
from psotrack.services.scored_since import ScoredSince
from psotrack.services.search import search_patients
from psotrack.services.status import patient_status
from psotrack.services.warming import Warmer
from psotrack.store import make_engine, upgrade
from tests.services.conftest import add_visit
from tests.services.test_status import CASES, DAY_ZERO, scored

#: Every region erythema 1, induration 1, desquamation 0, area 1: (1 + 1 + 0) × 1 × (0.1 + 0.2
#: + 0.3 + 0.4) = PASI 2.0.
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")
MILD = {
    region: {"erythema": 1, "induration": 1, "desquamation": 0, "area": 1} for region in REGIONS
}


@pytest.fixture(autouse=True)
def empty_memos(db):
    """Nothing kept, and the look at what was scored starts with this test's database."""
    status._DERIVED.clear()
    search._CHANGES.clear()
    with db.reading() as connection:
        status.PENDING.start(connection)
        search.PENDING.start(connection)
    yield
    status._DERIVED.clear()
    search._CHANGES.clear()


def score_again(db, actor, patient_id: int, day: int) -> None:
    visit = add_visit(db, actor, patient_id, DAY_ZERO + timedelta(days=day), f"D{day}", "follow-up")
    record_assessment(db, actor, {"visit_id": visit, "instrument": "pasi", "responses": MILD})


def assert_same_as_alone(db, actor, patient_id: int, mrn: str) -> None:
    """The status the service gives now is kept (no derivation) and equals, frame for frame,
    the one-patient path's; so does the list's change from baseline."""
    kept_n, changes_n = len(status._DERIVED), len(search._CHANGES)
    kept, listed = patient_status(db, actor, patient_id), listed_change(db, actor, mrn)
    assert (len(status._DERIVED), len(search._CHANGES)) == (kept_n, changes_n)  # nothing new
    status._DERIVED.clear()
    search._CHANGES.clear()
    alone = patient_status(db, actor, patient_id)
    assert (kept.kind, kept.sentence) == (alone.kind, alone.sentence)
    assert kept.rows.equals(alone.rows) and kept.endpoints.equals(alone.endpoints)
    assert kept.current_pchg == alone.current_pchg
    assert listed == listed_change(db, actor, mrn) == alone.current_pchg


def listed_change(db, actor, mrn: str) -> float | None:
    """The change from baseline the patient list shows for the patient found by ``mrn``."""
    (row,) = search_patients(db, actor, mrn).rows
    return row.pchg


def test_start_derives_the_recent_patients_and_refresh_those_scored_since(
    db, clinician, program_id
) -> None:
    first = scored(db, clinician, program_id, "MRN-A", CASES["sustained"][0])
    second = scored(db, clinician, program_id, "MRN-B", CASES["no_response"][0])
    warmer = Warmer(db)
    assert warmer.start() == 2
    assert (len(status._DERIVED), len(search._CHANGES)) == (2, 2)
    assert_same_as_alone(db, clinician, first, "MRN-A")
    assert warmer.refresh() == 0  # nothing scored since the start

    score_again(db, clinician, second, 56)  # 15.0 → 2.0: PASI 75 reached
    status._DERIVED.clear()
    search._CHANGES.clear()
    assert warmer.refresh() == 1  # only the patient scored since
    assert (len(status._DERIVED), len(search._CHANGES)) == (1, 1)
    assert_same_as_alone(db, clinician, second, "MRN-B")
    assert patient_status(db, clinician, second).kind == "sustained"
    assert warmer.refresh() == 0  # looked at already


def test_a_start_limited_to_none_still_refreshes(db, clinician, program_id) -> None:
    patient = scored(db, clinician, program_id, "MRN-A", CASES["no_response"][0])
    warmer = Warmer(db, limit=0)
    assert warmer.start() == 0
    assert (len(status._DERIVED), len(search._CHANGES)) == (0, 0)
    score_again(db, clinician, patient, 56)
    assert warmer.refresh() == 1
    assert_same_as_alone(db, clinician, patient, "MRN-A")


def test_a_batch_the_engine_refuses_keeps_nothing(db, clinician, program_id, patient_id) -> None:
    """Two visits of one patient on one day cannot both be scored by the engine: the refresh
    keeps nothing and raises nothing; the patient's own view reports the problem."""
    warmer = Warmer(db)
    warmer.start()
    scored_twice_on_one_day(db, clinician, patient_id)
    assert warmer.refresh() == 0
    assert (len(status._DERIVED), len(search._CHANGES)) == (0, 0)
    with pytest.raises(ValidationError, match="day"):
        patient_status(db, clinician, patient_id)


def scored_twice_on_one_day(db, actor, patient_id: int) -> None:
    for label in ("W0", "W0-repeat"):
        visit = add_visit(db, actor, patient_id, label=label)
        record_assessment(db, actor, {"visit_id": visit, "instrument": "pasi", "responses": MILD})


def test_a_view_that_must_derive_derives_the_patients_scored_since(
    db, clinician, program_id
) -> None:
    """A page whose patient is not kept derives, in the same pass, every patient scored since
    the last look; so does a list page. Each kept value equals the one-patient path's."""
    first = scored(db, clinician, program_id, "MRN-A", CASES["no_response"][0])
    second = scored(db, clinician, program_id, "MRN-B", CASES["flare"][0])
    Warmer(db).start()
    status._DERIVED.clear()
    search._CHANGES.clear()
    score_again(db, clinician, first, 56)
    # 20.0, 10.0, 5.0 (PASI 75 on day 56), 8.0 (not held), then 2.0: no flare, not sustained
    score_again(db, clinician, second, 112)
    patient_status(db, clinician, first)
    assert len(status._DERIVED) == 2  # the second patient's status came with the first's
    listed_change(db, clinician, "MRN-A")
    assert len(search._CHANGES) == 2
    assert_same_as_alone(db, clinician, second, "MRN-B")
    assert patient_status(db, clinician, second).kind == "not_sustained"


def test_a_refused_patient_scored_since_does_not_stop_another_view(
    db, clinician, program_id, patient_id
) -> None:
    """The engine refuses a patient scored since the last look (two visits on one day): another
    patient's page and list row, which must derive, are still derived (alone)."""
    other = scored(db, clinician, program_id, "MRN-A", CASES["no_response"][0])
    Warmer(db).start()
    status._DERIVED.clear()
    search._CHANGES.clear()
    scored_twice_on_one_day(db, clinician, patient_id)
    score_again(db, clinician, other, 56)  # 15.0 → 2.0
    view, listed = patient_status(db, clinician, other), listed_change(db, clinician, "MRN-A")
    assert (len(status._DERIVED), len(search._CHANGES)) == (1, 1)  # the refused one: not kept
    status._DERIVED.clear()
    search._CHANGES.clear()
    alone = patient_status(db, clinician, other)
    assert (view.kind, view.sentence) == (alone.kind, alone.sentence)
    assert view.rows.equals(alone.rows) and view.endpoints.equals(alone.endpoints)
    assert listed == alone.current_pchg == pytest.approx(-86.6667, abs=1e-4)


def test_the_look_at_what_was_scored_is_kept_per_database(
    db, clinician, program_id, tmp_path
) -> None:
    """A score in one database is not taken as new by a look at another one (each has its own
    last look), and a look takes each scored patient once."""
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    elsewhere = Database.from_engine(other, tmp_path / "other-photos")
    program = create_program(
        elsewhere, SYSTEM, {"name": "P", "regimen": "R", "product_source": "UC-MSC", "route": "IV"}
    )
    scored(elsewhere, SYSTEM, program, "MRN-Z", CASES["no_response"][0])
    since = ScoredSince()
    try:
        with db.reading() as connection:
            since.start(connection)  # nothing scored here yet
        with other.connect() as connection:
            assert since.take(connection, 10) == []  # the first look at this database
        patient = scored(db, clinician, program_id, "MRN-A", CASES["no_response"][0])
        with other.connect() as connection:
            assert since.take(connection, 10) == []
        with db.reading() as connection:
            assert since.take(connection, 10) == [patient]
            assert since.take(connection, 10) == []
    finally:
        other.dispose()


def test_a_look_takes_the_latest_scored_first_among_the_newest_assessments(
    db, clinician, program_id, monkeypatch
) -> None:
    """Since the last look: A, B, A, C scored in that order (one assessment each) are taken as
    C, A, B (by their newest assessment), at most ``limit`` of them, and only among the
    ``LOOKED_AT`` newest assessments; the look then starts after the newest."""
    first = [(0, "10.0")]
    a, b, c = (scored(db, clinician, program_id, mrn, first) for mrn in ("MRN-A", "MRN-B", "MRN-C"))
    since = ScoredSince()
    with db.reading() as connection:
        since.start(connection)
    for day, patient in enumerate((a, b, a, c), start=1):
        score_again(db, clinician, patient, day)
    with db.reading() as connection:
        assert since.take(connection, 10) == [c, a, b]
        assert since.take(connection, 10) == []
    for day, patient in enumerate((a, b, a, c), start=5):
        score_again(db, clinician, patient, day)
    monkeypatch.setattr(scored_since, "LOOKED_AT", 2)  # the newest two: C's and A's second
    with db.reading() as connection:
        assert since.take(connection, 10) == [c, a]  # B's, older, is left to its next view
        assert since.take(connection, 10) == []
    score_again(db, clinician, b, 9)
    score_again(db, clinician, a, 10)
    with db.reading() as connection:
        assert since.take(connection, 1) == [a]
