"""Importing the hand-written REDCap export through the services: scores recomputed, all or none.

Known answers (PASI = Σ weight × (E + I + D) × area, weights 0.1/0.2/0.3/0.4; instruments.md):
- record 1, baseline: 0.1×5×2 + 0.2×4×3 + 0.3×7×3 + 0.4×6×4 = 1.0 + 2.4 + 6.3 + 9.6 = 19.3
- record 1, week 4: 0.1×2×1 + 0.2×3×2 + 0.3×4×2 + 0.4×3×3 = 0.2 + 1.2 + 2.4 + 3.6 = 7.4; the
  file's calculated pasi_total says 12.4 (deliberately wrong): reported, 7.4 stored.
- record 2, baseline: 0 + 0.2×3×1 + 0.3×6×2 + 0.4×6×2 = 0.6 + 3.6 + 4.8 = 9.0; REDCap's float
  8.999999999999998 rounds to 9.0 and agrees.
- DLQI record 1: 3+2+1+0+1+2+3+1+0+2 = 15 (q7 coded 3 = "yes"); record 3: 1+1+0+0+0+0+1+0+0 and
  q10 blank (one blank scores 0) = 3 (q7 coded 1 = "no, a little").
"""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from psotrack.errors import ValidationError
from psotrack.interop.redcap_files import read_dictionary, read_records
from psotrack.interop.redcap_mapping import mapping_from, read_mapping
from psotrack.services import redcap_plan
from psotrack.services.assessments import record_assessment
from psotrack.services.audit import created_fields
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, record_visit
from psotrack.services.redcap_import import import_redcap
from psotrack.services.users import create_user
from psotrack.store.audit_chain import verify_chain
from psotrack.store.models import (
    AdverseEvent,
    Assessment,
    AuditEntry,
    LabResult,
    Patient,
    PatientIdentity,
    Visit,
)
from psotrack.store.vocabulary import Role

DATA = Path(__file__).parents[1] / "data" / "redcap"


@pytest.fixture
def setup(engine):
    db = Database.from_engine(engine)
    form = {"username": "ada", "display_name": "Ada", "role": "clinician"}
    ada = Actor(create_user(db, SYSTEM, form), Role.CLINICIAN, "ada")
    program = {"name": "P", "regimen": "r", "product_source": "UC-MSC", "route": "IV"}
    create_program(db, SYSTEM, program)
    return db, ada


def run(db, actor, records="records.csv", dry_run=False, mapping=None):
    dictionary = read_dictionary(DATA / "dictionary.csv")
    rows = read_records(DATA / records, dictionary)
    return import_redcap(
        db, actor, dictionary, rows, mapping or read_mapping(None), program="P", dry_run=dry_run
    )


def stored(db):
    with db.transaction() as session:
        scores = session.execute(
            select(Visit.label, Assessment.instrument, Assessment.score)
            .join(Visit, Visit.id == Assessment.visit_id)
            .order_by(Assessment.id)
        ).all()
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Patient, Visit, Assessment, LabResult, AdverseEvent)
        }
    return [(label, i.value, s) for label, i, s in scores], counts


EXPECTED = [
    ("baseline_arm_1", "pasi", "19.3"),
    ("baseline_arm_1", "dlqi", "15"),
    ("baseline_arm_1", "bsa", "25"),
    ("baseline_arm_1", "pga", "3"),
    ("week_4_arm_1", "pasi", "7.4"),
    ("baseline_arm_2", "pasi", "9.0"),
    ("baseline_arm_2", "pga", "2"),
    ("baseline_arm_1", "dlqi", "3"),
]
EXPECTED_COUNTS = {
    "patients": 3,
    "visits": 4,
    "assessments": 8,
    "lab_results": 2,
    "adverse_events": 2,
}


def test_export_is_imported_with_scores_recomputed(setup):
    db, ada = setup
    result = run(db, ada)
    scores, counts = stored(db)
    assert scores == EXPECTED
    assert counts == EXPECTED_COUNTS
    assert (result.rows, result.skipped_rows, result.patients_created) == (9, 1, 3)
    assert [str(d) for d in result.disagreements] == [
        "record 1, event week_4_arm_1: pasi_total=12.4 in the file, psotrack computes 7.4"
    ]
    with db.transaction() as session:
        events = session.execute(
            select(AdverseEvent.serious, AdverseEvent.serious_criteria).order_by(AdverseEvent.id)
        ).all()
        # the audit log names the person who imported, not the system user
        actors = set(
            session.scalars(select(AuditEntry.actor_id).where(AuditEntry.entity == "visits"))
        )
    # instance 1 not serious: its hidden checkbox gives no criteria; instance 2 hospitalisation
    assert [(s, list(c)) for s, c in events] == [(False, []), (True, ["hospitalisation"])]
    assert actors == {ada.user_id}


def test_labels_export_imports_the_same(setup):
    db, ada = setup
    result = run(db, ada, "records_labels.csv")
    assert stored(db)[0] == EXPECTED
    assert len(result.disagreements) == 1


def test_dry_run_reports_and_stores_nothing(setup):
    db, ada = setup
    result = run(db, ada, dry_run=True)
    assert result.dry_run and result.assessments == 8 and len(result.disagreements) == 1
    assert stored(db) == ([], dict.fromkeys(stored(db)[1], 0))


def test_bad_export_names_every_problem_and_stores_nothing(setup):
    db, ada = setup
    with db.transaction() as session:
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ValidationError) as refused:
        run(db, ada, "records_bad.csv")
    assert [str(p) for p in refused.value.problems] == [
        "record 1, event baseline_arm_1: pasi_trunk_area=7 is outside 0–6 (an area score)",
        "record 1, event baseline_arm_1: dlqi_q3='5' is not a DLQI answer coded 0–3 or its label",
        "record 1, event week_4_arm_1: visit_date='05/02/2024' is not a date as YYYY-MM-DD "
        "(REDCap's raw date format)",
        "record 2, event baseline_arm_2: pasi_head_area='٣' is not a whole number",
        "record 1, event baseline_arm_1, instance 1: lab_unit='mmol/L': a unit of C-reactive "
        "protein: mg/L",
        "record 1, event week_4_arm_1, instance 2: ae_serious_criteria=[]: at least one ICH E2A "
        "criterion when serious is true",
    ]
    assert stored(db) == ([], dict.fromkeys(stored(db)[1], 0))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_a_second_import_of_the_same_visits_is_refused(setup):
    db, ada = setup
    run(db, ada)
    with pytest.raises(ValidationError) as refused:
        run(db, ada)
    assert len(refused.value.problems) == 4
    assert "a visit is imported once" in str(refused.value.problems[0])
    assert stored(db)[1]["assessments"] == 8


def test_the_system_user_may_not_import_adverse_events(setup):
    from psotrack.errors import PermissionDenied

    db, _ = setup
    with pytest.raises(PermissionDenied):
        run(db, SYSTEM)
    assert stored(db)[1]["patients"] == 0


def test_a_mapping_can_turn_sections_off(setup):
    db, ada = setup
    mapping = mapping_from({"adverse_events": {"enabled": False}, "labs": {"enabled": False}})
    result = run(db, ada, mapping=mapping)
    assert (result.adverse_events, result.lab_results, result.assessments) == (0, 0, 8)


ADMINISTRATION_FIELDS = [
    ("adm_product_source", "dropdown", "1, UC-MSC | 2, AD-MSC"),
    ("adm_manufacturer", "text", ""),
    ("adm_lot", "text", ""),
    ("adm_cryopreserved", "yesno", ""),
    ("adm_total_cells", "text", ""),
    ("adm_body_weight_kg", "text", ""),
    ("adm_cells_per_kg", "text", ""),
    ("adm_viability_pct", "text", ""),
    ("adm_route", "dropdown", "1, IV | 2, subcutaneous"),
    ("adm_started_at", "text", ""),
]


def test_administrations_come_first_so_the_flare_check_sees_the_dose(setup, tmp_path):
    """Record 7: PASI 10.0 before the dose, 4.0 at week 4, 6.0 at week 8.

    lower limbs (2+2+1) × area 5 × 0.4 = 10.0; × area 2 × 0.4 = 4.0; trunk (2+2+1) × 4 × 0.3 = 6.0.
    6.0 is 150 % of the best post-dose PASI 4.0: a possible flare (services.assessments).
    """
    import csv

    from psotrack.store.models import Administration, SafetyFlag

    db, ada = setup
    dictionary = tmp_path / "dictionary.csv"
    lines = (DATA / "dictionary.csv").read_text().splitlines()
    extra = [
        ",".join([name, "administration", "", kind, name, f'"{choices}"', *[""] * 12])
        for name, kind, choices in ADMINISTRATION_FIELDS
    ]
    dictionary.write_text("\n".join([*lines, *extra]) + "\n")
    regions = ["head", "upper_limbs", "trunk", "lower_limbs"]
    pasi = [
        f"pasi_{r}_{s}" for r in regions for s in ("erythema", "induration", "desquamation", "area")
    ]
    header = [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
    ]
    header += ["visit_date", "pasi_done", *pasi, *(name for name, _, _ in ADMINISTRATION_FIELDS)]
    zero = ["0"] * 4

    def visit(event, day, trunk, lower):
        row = ["7", event, "", "", day, "1", *zero, *zero, *trunk, *lower]
        return row + [""] * len(ADMINISTRATION_FIELDS)

    dose = ["1", "Acme", "L1", "1", "150000000", "75", "2000000", "92", "1", "2024-01-09 10:00"]
    rows = [
        visit("baseline_arm_1", "2024-01-08", zero, ["2", "2", "1", "5"]),
        ["7", "baseline_arm_1", "administration", "1", "", "", *[""] * 16, *dose],
        visit("week_4_arm_1", "2024-02-05", zero, ["2", "2", "1", "2"]),
        visit("week_8_arm_1", "2024-03-04", ["2", "2", "1", "4"], zero),
    ]
    records = tmp_path / "records.csv"
    with records.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    fields = read_dictionary(dictionary)
    result = import_redcap(
        db, ada, fields, read_records(records, fields), read_mapping(None), program="P"
    )
    assert (result.visits, result.assessments, result.administrations) == (3, 3, 1)
    scores, _ = stored(db)
    assert [s for _, _, s in scores] == ["10.0", "4.0", "6.0"]
    with db.transaction() as session:
        dose_visit = session.scalar(select(Administration.visit_id))
        flags = session.scalars(select(SafetyFlag.kind)).all()
        baseline = session.scalar(select(Visit.id).where(Visit.label == "baseline_arm_1"))
    assert dose_visit == baseline
    assert [f.value for f in flags] == ["possible flare (PASI ≥ 150 % of best)"]


def creation_rows(session, entity):
    """The creation audit row of each ``entity`` row, by its id (exactly one each)."""
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.action == "create")
    ).all()
    by_id = {}
    for row in rows:
        assert row.entity_id not in by_id, f"two creation rows for {entity} {row.entity_id}"
        by_id[row.entity_id] = (row.actor_id, row.reason, created_fields(row))
    return by_id


def test_bulk_written_rows_are_audited_as_a_service_call_audits_them(setup):
    """New patients' visits and assessments are written in bulk: each row still has one creation
    row holding every stored value, the same as ``record_visit``/``record_assessment`` write for
    the same data by hand, and the hash chain verifies."""
    db, ada = setup
    run(db, ada)
    with db.transaction() as session:
        visit = session.scalars(select(Visit).where(Visit.label == "baseline_arm_2")).one()
        pasi = session.scalars(select(Assessment).where(Assessment.visit_id == visit.id)).first()
        patient_id, visit_date, responses = visit.patient_id, visit.visit_date, pasi.responses
        instrument = pasi.instrument
    by_hand = {
        "patient_id": patient_id,
        "visit_date": visit_date,
        "visit_type": "baseline",
        "label": "by hand",
    }
    hand_visit = record_visit(db, ada, by_hand)
    payload = {"visit_id": hand_visit, "instrument": instrument, "responses": responses}
    hand_pasi = record_assessment(db, ada, payload)
    with db.transaction() as session:
        visits = creation_rows(session, "visits")
        assessments = creation_rows(session, "assessments")
        patients = creation_rows(session, "patients")
        identities = creation_rows(session, "patient_identities")
        enrollments = creation_rows(session, "enrollments")
        stored_patients = session.execute(
            select(Patient.id, Patient.research_id, PatientIdentity.mrn).join(
                PatientIdentity, PatientIdentity.patient_id == Patient.id
            )
        ).all()
        report = verify_chain(session.connection())
    # the bulk rows read exactly as the hand-entered ones, but for the label and the visit id
    actor, reason, fields = visits[visit.id]
    assert (actor, reason) == (ada.user_id, None) == visits[hand_visit][:2]
    assert fields == {**visits[hand_visit][2], "label": "baseline_arm_2"}
    assert fields == {
        "patient_id": str(patient_id),
        "visit_date": visit_date.isoformat(),
        "visit_type": "baseline",
        "label": "baseline_arm_2",
    }
    actor, reason, fields = assessments[pasi.id]
    assert (actor, reason) == (ada.user_id, None) == assessments[hand_pasi][:2]
    assert fields == {**assessments[hand_pasi][2], "visit_id": str(visit.id)}
    assert (fields["instrument"], fields["score"], fields["score_value"]) == ("pasi", "9.0", "9.0")
    # every imported patient: one creation row each for it, its MRN and its enrollment
    assert len(stored_patients) == len(patients) == len(identities) == len(enrollments) == 3
    for patient_id, research_id, mrn in stored_patients:
        assert patients[patient_id] == (
            ada.user_id,
            "import REDCap export",
            {
                "research_id": research_id,
                "sex": "unknown",
                "psoriasis_type": "plaque",
                "history": "imported from REDCap export",
                "synthetic": "False",
            },
        )
        assert identities[patient_id][2] == {"patient_id": str(patient_id), "mrn": mrn}
    assert {f["arm"] for _, _, f in enrollments.values()} == {"arm 1", "arm 2"}
    assert report.intact and report.problem is None


def test_a_file_read_in_groups_of_records_stores_the_same(setup, monkeypatch):
    # One record per plan: three plans, made in a forked child while the previous is stored
    # (redcap_plan.plans_by_records); the result is that of the file read whole (above).
    monkeypatch.setattr(redcap_plan, "RECORDS_PER_PLAN", 1)
    db, ada = setup
    result = run(db, ada)
    scores, counts = stored(db)
    assert scores == EXPECTED
    assert counts == EXPECTED_COUNTS
    assert (result.rows, result.skipped_rows, result.records, result.patients_created) == (
        9, 1, 3, 3
    )  # fmt: skip
    assert len(result.disagreements) == 1
    with db.transaction() as session:
        assert verify_chain(session.connection()).intact


def test_a_bad_file_read_in_groups_names_every_problem_in_the_same_order(setup, monkeypatch):
    db, ada = setup
    with pytest.raises(ValidationError) as whole:
        run(db, ada, "records_bad.csv")
    monkeypatch.setattr(redcap_plan, "RECORDS_PER_PLAN", 1)
    with pytest.raises(ValidationError) as grouped:
        run(db, ada, "records_bad.csv")
    assert [str(p) for p in grouped.value.problems] == [str(p) for p in whole.value.problems]
    assert len(grouped.value.problems) == 6
    assert stored(db) == ([], dict.fromkeys(stored(db)[1], 0))


def test_records_are_grouped_in_the_order_they_first_appear():
    # plans_by_records: groups of whole records, each group's rows in the file's order.
    dictionary = read_dictionary(DATA / "dictionary.csv")
    rows = list(reversed(read_records(DATA / "records.csv", dictionary)))
    first_seen = list(dict.fromkeys(row.record for row in rows))
    plans = list(redcap_plan.plans_by_records(dictionary, rows, read_mapping(None), None, 2))
    assert [list(plan.records) for plan in plans] == [first_seen[:2], first_seen[2:]]
    assert sum(plan.rows for plan in plans) == len(rows)
    (whole,) = redcap_plan.plans_by_records(dictionary, rows, read_mapping(None), None, 3)
    assert list(whole.records) == first_seen
