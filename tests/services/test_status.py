"""patient_status: the engine's rows of one patient and one sentence from them, hand-computed."""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.imports import import_assessments
from psotrack.services.status import patient_status
from psotrack.store.models import PatientIdentity
from psotrack.store.vocabulary import Role

DAY_ZERO = date(2026, 3, 2)


def scored(db, actor, program_id, mrn: str, pasi: list[tuple[int, str]]) -> int:
    """A patient with these (study day, PASI) rows, imported; the patient's id."""
    frame = pl.DataFrame(
        {
            "patient_id": [mrn] * len(pasi),
            "visit": [f"D{day}" for day, _ in pasi],
            "day": [day for day, _ in pasi],
            "pasi": [value for _, value in pasi],
        }
    )
    import_assessments(db, actor, frame, program_id=program_id, day_zero=DAY_ZERO, source="t")
    with db.transaction() as session:
        return session.scalar(select(PatientIdentity.patient_id).where(PatientIdentity.mrn == mrn))


# (rows, kind, sentence): each worked out by hand from the rules in services/status.py.
CASES = {
    # 20.0 → 5.0 on day 84 is exactly 75 %; 4.0 (80 %) and 3.0 (85 %) hold it to day 140.
    "sustained": (
        [(0, "20.0"), (28, "12.0"), (56, "8.0"), (84, "5.0"), (112, "4.0"), (140, "3.0")],
        "sustained",
        "PASI 75 reached on day 84 and sustained for 56 days",
    ),
    # 5.0 on day 28 is PASI 75, 2.0 on day 56 is PASI 90 (exactly 90 %).
    "pasi90": (
        [(0, "20.0"), (28, "5.0"), (56, "2.0")],
        "sustained",
        "PASI 90 reached on day 56; PASI 75 reached on day 28 and sustained for 28 days",
    ),
    # PASI 75 at the last visit: nothing to say about how long it lasts yet.
    "latest": (
        [(0, "20.0"), (28, "5.0")],
        "sustained",
        "PASI 75 reached on day 28, at the latest visit",
    ),
    # Best 5.0 (day 56); 8.0 is 3.0 above it, 60 % ≥ 50 %: a flare.
    "flare": (
        [(0, "20.0"), (28, "10.0"), (56, "5.0"), (84, "8.0")],
        "flare",
        "possible flare: PASI up 60 % from the best value (5.0 on day 56 → 8.0 on day 84)",
    ),
    "no_baseline": (
        [(28, "8.0")],
        "no_baseline",
        "no baseline PASI recorded yet (latest PASI 8.0 on day 28)",
    ),
    # 15.0 → 12.0: −20 %.
    "no_response": (
        [(0, "15.0"), (28, "12.0")],
        "no_response",
        "PASI 12.0 on day 28, 20 % below baseline (no response threshold reached yet)",
    ),
    "no_follow_up": (
        [(0, "12.0")],
        "no_follow_up",
        "baseline PASI 12.0; no PASI recorded after the first administration yet",
    ),
    # PASI 75 on day 28 (5.0); 10.5 on day 56 is 47.5 % < 50 %: lost; 7.0 on day 84 is −65 %
    # and only 40 % above the best 5.0, so not a flare.
    "lost": (
        [(0, "20.0"), (28, "5.0"), (56, "10.5"), (84, "7.0")],
        "lost",
        "PASI 75 reached on day 28 and lost on day 56 (improvement below 50 %); "
        "PASI 7.0 on day 84, 65 % below baseline",
    ),
    # 10.0 is exactly 50 %; 9.0 is −55 %.
    "reached": (
        [(0, "20.0"), (28, "10.0"), (56, "9.0")],
        "reached",
        "PASI 50 reached on day 28; PASI 9.0 on day 56, 55 % below baseline",
    ),
    "reached_now": (
        [(0, "20.0"), (28, "16.0"), (56, "9.0")],
        "reached",
        "PASI 50 reached on day 56, at the latest visit (PASI 9.0, 55 % below baseline)",
    ),
    # 5.0 is PASI 75; 6.0 is −70 % (below 75, not below 50) and 20 % above the best: no flare.
    "not_sustained": (
        [(0, "20.0"), (28, "5.0"), (56, "6.0")],
        "not_sustained",
        "PASI 75 reached on day 28, not held since; PASI 6.0 on day 56, 70 % below baseline",
    ),
    "zero_baseline": (
        [(0, "0.0"), (28, "1.2")],
        "zero_baseline",
        "PASI 1.2 on day 28; baseline PASI 0.0: no percent change from baseline exists",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_sentence_kind(db, clinician, program_id, case):
    rows, kind, sentence = CASES[case]
    patient = scored(db, clinician, program_id, f"MRN-{case}", rows)
    status = patient_status(db, clinician, patient)
    assert (status.kind, status.sentence) == (kind, sentence)
    assert status.patient_id == patient
    assert status.rows["day"].to_list() == [day for day, _ in rows]
    assert status.current_day == rows[-1][0]
    assert status.current_pasi == float(rows[-1][1])


def test_the_services_package_exports_it():
    import psotrack.services as services

    assert services.patient_status is patient_status
    with pytest.raises(AttributeError):
        _ = services.no_such_service


def test_rows_and_endpoints_are_the_engines(db, clinician, program_id):
    rows = CASES["sustained"][0]
    status = patient_status(db, clinician, scored(db, clinician, program_id, "MRN-1", rows))
    table = status.summary()
    assert table.columns[:4] == ["research_id", "visit", "day", "pasi"]
    assert table["research_id"].unique().to_list() == [status.research_id]
    # (p − 20) / 20 × 100 for 12, 8, 5, 4, 3; nothing at baseline.
    assert table["pchg"].to_list() == [None, -40.0, -60.0, -75.0, -80.0, -85.0]
    assert table["pasi75"].to_list() == [None, 0, 0, 1, 1, 1]
    assert table["pasi50"].to_list() == [None, 0, 1, 1, 1, 1]
    assert table["pasi90"].to_list() == [None, 0, 0, 0, 0, 0]
    (endpoints,) = status.endpoints.iter_rows(named=True)
    assert endpoints["first_pasi50_day"] == 56
    assert endpoints["first_pasi75_day"] == 84
    assert endpoints["pasi75_sustained"] is True
    assert endpoints["flare_count"] == 0
    assert (status.baseline_pasi, status.current_pchg) == (20.0, -85.0)


def test_a_patient_with_no_scores_has_no_baseline(db, clinician, patient_id):
    status = patient_status(db, clinician, patient_id)
    assert (status.kind, status.sentence) == ("no_baseline", "no baseline PASI recorded yet")
    assert status.rows.is_empty() and status.current_pasi is None


def test_researchers_get_the_status_by_research_id_only(db, actors, clinician, program_id):
    patient = scored(db, clinician, program_id, "MRN-R", CASES["flare"][0])
    researcher = actors[Role.RESEARCHER]
    by_id = patient_status(db, researcher, patient)
    assert by_id.patient_id is None
    assert by_id.sentence == CASES["flare"][2]
    # Visits are named by study day (labels are free text), the MRN appears nowhere.
    assert by_id.rows["visit"].to_list() == ["day 0", "day 28", "day 56", "day 84"]
    assert "MRN-R" not in str(by_id.summary().rows())
    by_code = patient_status(db, researcher, by_id.research_id.lower())
    assert by_code.research_id == by_id.research_id and by_code.sentence == by_id.sentence


def test_refusals(db, actors, clinician, program_id):
    patient = scored(db, clinician, program_id, "MRN-X", [(0, "12.0")])
    with pytest.raises(PermissionDenied):
        patient_status(db, actors[Role.PATIENT], patient)
    with pytest.raises(NotFound, match="PT-00000000"):
        patient_status(db, clinician, "PT-00000000")
    with pytest.raises(NotFound):
        patient_status(db, clinician, patient + 1000)
    with pytest.raises(ValidationError, match="patient_id"):
        patient_status(db, clinician, "")


def test_a_change_to_the_record_is_seen_at_once(db, clinician, program_id):
    """Derived status and list changes are kept per recorded values (services/memo.py): the
    view after a deletion is computed anew, never the kept one."""
    from psotrack.services.corrections import delete_record
    from psotrack.services.search import search_patients
    from psotrack.store.models import Assessment

    rows = [(0, "20.0"), (28, "12.0"), (56, "8.0"), (84, "5.0"), (112, "4.0"), (140, "3.0")]
    patient = scored(db, clinician, program_id, "MRN-MEMO", rows)
    assert patient_status(db, clinician, patient).kind == "sustained"
    assert search_patients(db, clinician, "MRN-MEMO").rows[0].pchg == -85.0  # (3 − 20) / 20
    with db.transaction() as session:
        ids = session.scalars(
            select(Assessment.id).where(Assessment.patient_id == patient).order_by(Assessment.id)
        ).all()
    for assessment_id in ids[3:]:  # days 84, 112 and 140
        delete_record(db, clinician, "assessments", assessment_id, "entered for the wrong patient")
    after = patient_status(db, clinician, patient)
    assert (after.kind, after.sentence) == (
        "reached",
        "PASI 50 reached on day 56, at the latest visit (PASI 8.0, 60 % below baseline)",
    )
    assert search_patients(db, clinician, "MRN-MEMO").rows[0].pchg == -60.0


def test_statuses_derived_in_one_pass_are_those_of_one_patient(
    db, clinician, program_id, patient_id
):
    """``keep_statuses`` of the recent patients derives every case above in one pass of the
    engine; each status the service then gives comes from that pass (no new derivation) and
    equals, frame for frame, what the one-patient path derives; the patient without a PASI is
    left to its first view."""
    from psotrack.services import status

    patients = {
        case: scored(db, clinician, program_id, f"MRN-{case}", CASES[case][0]) for case in CASES
    }
    status._DERIVED.clear()
    assert status.keep_statuses(db, status.recent_patients(db)) == len(CASES)
    warmed = {case: patient_status(db, clinician, pid) for case, pid in patients.items()}
    assert len(status._DERIVED) == len(CASES)  # every status above came from the one pass
    status._DERIVED.clear()
    for case, pid in patients.items():
        alone, kept = patient_status(db, clinician, pid), warmed[case]
        assert (kept.kind, kept.sentence) == (alone.kind, alone.sentence) == CASES[case][1:]
        assert kept.rows.equals(alone.rows) and kept.rows.schema == alone.rows.schema
        assert kept.endpoints.equals(alone.endpoints)
        assert kept.endpoints.schema == alone.endpoints.schema
        assert (kept.current_pasi, kept.current_day, kept.current_pchg) == (
            alone.current_pasi,
            alone.current_day,
            alone.current_pchg,
        )
    status._DERIVED.clear()
    assert status.keep_statuses(db, status.recent_patients(db, limit=2)) == 2
    assert status.keep_statuses(db, status.recent_patients(db, limit=0)) == 0


def test_a_batch_the_engine_refuses_warms_nothing(db, clinician, program_id, patient_id):
    """Two visits of one patient on one day cannot both be scored by the engine: the pass
    keeps nothing, and the patient's own view reports the problem for that patient."""
    from psotrack.services import status
    from psotrack.services.assessments import record_assessment
    from tests.services.conftest import add_visit

    scored(db, clinician, program_id, "MRN-FINE", CASES["sustained"][0])
    for label in ("W0", "W0-repeat"):
        visit = add_visit(db, clinician, patient_id, label=label)
        region = {"erythema": 2, "induration": 2, "desquamation": 1, "area": 3}
        responses = dict.fromkeys(("head", "upper_limbs", "trunk", "lower_limbs"), region)
        record_assessment(
            db, clinician, {"visit_id": visit, "instrument": "pasi", "responses": responses}
        )
    status._DERIVED.clear()
    assert status.keep_statuses(db, status.recent_patients(db)) == 0
    with pytest.raises(ValidationError, match="day"):
        patient_status(db, clinician, patient_id)
