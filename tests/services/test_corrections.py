"""Corrections and soft deletion: checked like the original form, audited with old, new, reason."""

from datetime import date

import pytest
from sqlalchemy import select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.corrections import correct_value, delete_record
from psotrack.store.models import AuditEntry, Patient, PatientIdentity, Visit
from psotrack.store.vocabulary import Role
from tests.services.conftest import add_visit, administration_form


def audit_rows(db, table, action):
    with db.transaction() as session:
        return session.scalars(
            select(AuditEntry).where(AuditEntry.entity == table, AuditEntry.action == action)
        ).all()


def test_correction_changes_one_field_and_audits_old_new_and_reason(db, clinician, patient_id):
    correct_value(db, clinician, "patients", patient_id, "fitzpatrick", 4, "typo at intake")
    with db.transaction() as session:
        assert session.get(Patient, patient_id).fitzpatrick == 4
    (row,) = audit_rows(db, "patients", "update")
    assert (row.field, row.old_value, row.new_value, row.reason) == (
        "fitzpatrick",
        "3",
        "4",
        "typo at intake",
    )
    assert row.actor_id == clinician.user_id


def test_correction_is_checked_like_the_form(db, clinician, patient_id):
    for bad in (7, True, "4"):
        with pytest.raises(ValidationError) as info:
            correct_value(db, clinician, "patients", patient_id, "fitzpatrick", bad, "why")
        assert info.value.field == "fitzpatrick"
    with db.transaction() as session:
        assert session.get(Patient, patient_id).fitzpatrick == 3
    assert audit_rows(db, "patients", "update") == []


def test_identity_fields_and_visit_dates_can_be_corrected(db, clinician, patient_id):
    correct_value(
        db, clinician, "patient_identities", patient_id, "family_name", "Roe", "married name"
    )
    visit_id = add_visit(db, clinician, patient_id)
    correct_value(db, clinician, "visits", visit_id, "visit_date", "2026-01-06", "wrong day")
    with db.transaction() as session:
        assert session.get(PatientIdentity, patient_id).family_name == "Roe"
        assert session.get(Visit, visit_id).visit_date == date(2026, 1, 6)


def test_refusals(db, clinician, actors, patient_id):
    with pytest.raises(ValidationError, match="a correctable field"):
        correct_value(db, clinician, "patients", patient_id, "research_id", "X", "why")
    with pytest.raises(ValidationError, match="one of"):
        correct_value(db, clinician, "audit_log", 1, "new_value", "x", "why")
    with pytest.raises(ValidationError, match="reason"):
        correct_value(db, clinician, "patients", patient_id, "fitzpatrick", 4, "")
    with pytest.raises(ValidationError, match="different"):
        correct_value(db, clinician, "patients", patient_id, "fitzpatrick", 3, "same")
    with pytest.raises(NotFound):
        correct_value(db, clinician, "patients", 999, "fitzpatrick", 4, "why")
    with pytest.raises(PermissionDenied):
        correct_value(db, actors[Role.COORDINATOR], "patients", patient_id, "fitzpatrick", 4, "x")


def test_soft_delete_keeps_the_row_and_hides_it(db, clinician, patient_id):
    delete_record(db, clinician, "patients", patient_id, "enrolled by mistake")
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        assert patient.deleted_at is not None and patient.deleted_reason == "enrolled by mistake"
    (row,) = audit_rows(db, "patients", "delete")
    assert row.reason == "enrolled by mistake"
    with pytest.raises(NotFound):
        delete_record(db, clinician, "patients", patient_id, "again")
    with pytest.raises(NotFound):
        correct_value(db, clinician, "patients", patient_id, "fitzpatrick", 4, "why")


PASI_ALL_ONES = {
    r: {"erythema": 1, "induration": 1, "desquamation": 1, "area": 1}
    for r in ("head", "upper_limbs", "trunk", "lower_limbs")
}


def test_assessment_correction_rescores_and_audits_both(db, clinician, patient_id):
    from psotrack.services.assessments import correct_assessment, record_assessment
    from psotrack.store.models import Assessment

    visit_id = add_visit(db, clinician, patient_id)
    # All ones: 0.1·3 + 0.2·3 + 0.3·3 + 0.4·3 = 3.0
    assessment_id = record_assessment(
        db, clinician, {"visit_id": visit_id, "instrument": "pasi", "responses": PASI_ALL_ONES}
    )
    corrected = {
        **PASI_ALL_ONES,
        "trunk": {"erythema": 1, "induration": 1, "desquamation": 1, "area": 3},
    }
    correct_assessment(db, clinician, assessment_id, corrected, "trunk area misread")
    with db.transaction() as session:
        stored = session.get(Assessment, assessment_id)
        assert stored.score == "4.8"  # trunk 0.3·3·3 = 2.7 instead of 0.9
        assert stored.responses["trunk"]["area"] == 3
    rows = {r.field: r for r in audit_rows(db, "assessments", "update")}
    assert (rows["score"].old_value, rows["score"].new_value) == ("3.0", "4.8")
    assert rows["score"].reason == "trunk area misread"
    bad = {**PASI_ALL_ONES, "trunk": {"erythema": 9, "induration": 1, "desquamation": 1, "area": 3}}
    with pytest.raises(ValidationError, match="trunk_erythema=9"):
        correct_assessment(db, clinician, assessment_id, bad, "oops")
    with db.transaction() as session:
        assert session.get(Assessment, assessment_id).score == "4.8"
    delete_record(db, clinician, "assessments", assessment_id, "wrong patient")
    with pytest.raises(NotFound):
        correct_assessment(db, clinician, assessment_id, PASI_ALL_ONES, "again")


def test_corrections_keep_the_forms_cross_field_and_text_rules(
    db, clinician, patient_id, program_id
):
    # Found in review: a Treg % corrected to 150 and a name of blanks were stored; a taken MRN
    # surfaced as a driver IntegrityError.
    from datetime import UTC, datetime

    from psotrack.errors import Conflict
    from psotrack.services.labs import record_lab_result
    from psotrack.services.patients import enroll_patient
    from tests.services.conftest import patient_form

    lab = record_lab_result(
        db,
        clinician,
        {
            "patient_id": patient_id,
            "analyte": "treg_pct_cd4",
            "value": 4.2,
            "unit": "%",
            "sampled_at": datetime(2026, 1, 5, 9, tzinfo=UTC),
        },
    )
    with pytest.raises(ValidationError, match=r"value=150\.0 is outside 0–100"):
        correct_value(db, clinician, "lab_results", lab, "value", 150.0, "typo")
    with pytest.raises(ValidationError, match="family_name"):
        correct_value(db, clinician, "patient_identities", patient_id, "family_name", "   ", "x")
    correct_value(db, clinician, "patient_identities", patient_id, "given_name", "  Ann  ", "typo")
    with db.transaction() as session:
        assert session.get(PatientIdentity, patient_id).given_name == "Ann"
    enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0002"))
    with pytest.raises(Conflict):
        correct_value(db, clinician, "patient_identities", patient_id, "mrn", "MRN-0002", "typo")
    with pytest.raises(ValidationError, match="clinician_id=999"):
        enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0003", clinician_id=999))
    with pytest.raises(ValidationError, match="a correctable field"):
        correct_value(db, clinician, "adverse_events", 1, "relatedness", "probable", "x")


def test_a_corrected_pasi_is_checked_for_a_flare(db, clinician, patient_id):
    from datetime import UTC, datetime

    from psotrack.services.administrations import log_administration
    from psotrack.services.assessments import correct_assessment, record_assessment
    from psotrack.services.flags import list_alerts

    def visit(label, day):
        return add_visit(
            db, clinician, patient_id, visit_date=day, label=label, visit_type="follow-up"
        )

    def pasi(area):
        return {
            r: {"erythema": 1, "induration": 1, "desquamation": 1, "area": area}
            for r in ("head", "upper_limbs", "trunk", "lower_limbs")
        }

    w0 = visit("W0", date(2026, 1, 5))
    log_administration(
        db,
        clinician,
        administration_form(
            patient_id, visit_id=w0, started_at=datetime(2026, 1, 5, 10, tzinfo=UTC)
        ),
    )
    record_assessment(
        db,
        clinician,
        {"visit_id": visit("W4", date(2026, 2, 2)), "instrument": "pasi", "responses": pasi(2)},
    )
    later = record_assessment(
        db,
        clinician,
        {"visit_id": visit("W8", date(2026, 3, 2)), "instrument": "pasi", "responses": pasi(2)},
    )
    assert [a.kind for a in list_alerts(db, clinician)] == []
    correct_assessment(db, clinician, later, pasi(3), "area misread")  # 6.0 → 9.0: +50 %
    assert [a.kind for a in list_alerts(db, clinician)] == ["possible flare (PASI ≥ 150 % of best)"]


def test_flags_of_a_deleted_patient_are_no_longer_listed(db, clinician, patient_id):
    from psotrack.services.adverse_events import report_adverse_event
    from psotrack.services.flags import list_alerts

    report_adverse_event(
        db,
        clinician,
        {
            "patient_id": patient_id,
            "term": "infection",
            "verbatim_term": "Pneumonia",
            "onset_date": date(2026, 2, 1),
            "grade": 3,
            "serious": False,
            "relatedness": "unlikely",
            "outcome": "recovering",
        },
    )
    assert len(list_alerts(db, clinician)) == 1
    delete_record(db, clinician, "patients", patient_id, "enrolled in error")
    assert list_alerts(db, clinician) == []
    with pytest.raises(ValidationError, match="patient_id"):
        list_alerts(db, clinician, patient_id="7")
