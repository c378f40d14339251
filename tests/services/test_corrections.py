"""Corrections and soft deletion: checked like the original form, audited with old, new, reason."""

from datetime import date

import pytest
from sqlalchemy import select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.corrections import correct_value, delete_record
from psotrack.services.patients import record_visit
from psotrack.store.models import AuditEntry, Patient, PatientIdentity, Visit
from psotrack.store.vocabulary import Role


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
    visit_id = record_visit(
        db,
        clinician,
        {
            "patient_id": patient_id,
            "visit_date": date(2026, 1, 5),
            "visit_type": "baseline",
            "label": "W0",
        },
    )
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

    visit_id = record_visit(
        db,
        clinician,
        {
            "patient_id": patient_id,
            "visit_date": date(2026, 1, 5),
            "visit_type": "baseline",
            "label": "W0",
        },
    )
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
