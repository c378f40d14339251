"""Enrollment, visits and withdrawal: one transaction each, audited, refused cleanly when wrong."""

from datetime import date

import pytest
from sqlalchemy import func, select

from psotrack.errors import Conflict, NotFound, PermissionDenied, ValidationError
from psotrack.services.patients import enroll_patient, record_visit, withdraw_patient
from psotrack.store.models import AuditEntry, Enrollment, Patient, PatientIdentity, Visit
from psotrack.store.vocabulary import Role
from tests.audit_rows import audited_values
from tests.services.conftest import patient_form


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_enroll_stores_patient_identity_and_enrollment_with_audit(db, clinician, program_id):
    patient_id = enroll_patient(db, clinician, patient_form(program_id, arm="A"))
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        assert patient.birth_year == 1980
        assert patient.research_id.startswith("PT-")
        identity = session.get(PatientIdentity, patient_id)
        assert (identity.mrn, identity.family_name) == ("MRN-0001", "Doe")
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.arm, enrollment.status.value) == ("A", "active")
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "patient_identities")
        ).all()
    assert audited_values(audit)["mrn"] == "MRN-0001"
    assert all(a.actor_id == clinician.user_id and a.action == "create" for a in audit)


def test_bad_form_lists_every_problem_and_stores_nothing(db, clinician, program_id):
    before = count(db, AuditEntry)
    form = patient_form(program_id, fitzpatrick=7, sex="f", birth_date="1980-02-30")
    form["weight"] = 70
    del form["mrn"]
    with pytest.raises(ValidationError) as info:
        enroll_patient(db, clinician, form)
    fields = {p.field for p in info.value.problems}
    assert fields == {"fitzpatrick", "sex", "birth_date", "weight", "mrn"}
    assert count(db, Patient) == 0
    assert count(db, AuditEntry) == before


def test_strict_numbers_refuse_bools_and_text(db, clinician, program_id):
    with pytest.raises(ValidationError) as info:
        enroll_patient(db, clinician, patient_form(program_id, fitzpatrick=True))
    assert str(info.value.problems[0]) == "fitzpatrick=True is not a valid integer"
    with pytest.raises(ValidationError):
        enroll_patient(db, clinician, patient_form(program_id, fitzpatrick="3"))


def test_unknown_program_and_duplicate_mrn(db, clinician, program_id):
    with pytest.raises(ValidationError, match="program_id=999"):
        enroll_patient(db, clinician, patient_form(999))
    enroll_patient(db, clinician, patient_form(program_id))
    with pytest.raises(Conflict):
        enroll_patient(db, clinician, patient_form(program_id, family_name="Other"))
    assert count(db, Patient) == 1


def test_failure_in_the_middle_leaves_nothing_half_written(db, clinician, program_id, monkeypatch):
    import psotrack.services.patients as service

    calls = {"n": 0}
    real = service.audit_created

    def failing(session, actor, row, reason=None):
        calls["n"] += 1
        if calls["n"] == 2:  # after the patient row, before identity and enrollment
            raise RuntimeError("disk full")
        real(session, actor, row, reason)

    monkeypatch.setattr(service, "audit_created", failing)
    before = count(db, AuditEntry)
    with pytest.raises(RuntimeError):
        enroll_patient(db, clinician, patient_form(program_id))
    assert count(db, Patient) == 0
    assert count(db, PatientIdentity) == 0
    assert count(db, AuditEntry) == before


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_enroll(db, actors, program_id, role):
    actor = actors[role]  # the patient account comes with its own patient
    before = count(db, Patient)
    with pytest.raises(PermissionDenied):
        enroll_patient(db, actor, patient_form(program_id))
    assert count(db, Patient) == before


def test_visit_needs_an_existing_patient(db, clinician, patient_id):
    visit = {"patient_id": patient_id, "visit_date": date(2026, 1, 5)}
    visit_id = record_visit(db, clinician, {**visit, "visit_type": "baseline", "label": "W0"})
    with db.transaction() as session:
        assert session.get(Visit, visit_id).label == "W0"
    with pytest.raises(NotFound):
        record_visit(
            db, clinician, {**visit, "patient_id": 404, "visit_type": "baseline", "label": "x"}
        )


def test_withdrawal_is_audited_with_reason_and_needs_one(db, clinician, patient_id):
    with pytest.raises(ValidationError, match="reason"):
        withdraw_patient(db, clinician, patient_id, "  ")
    withdraw_patient(db, clinician, patient_id, "moved away")
    with db.transaction() as session:
        enrollment = session.scalars(select(Enrollment)).one()
        assert enrollment.status.value == "withdrawn"
        rows = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "enrollments", AuditEntry.action == "update"
            )
        ).all()
    assert {(r.field, r.old_value, r.new_value, r.reason) for r in rows} == {
        ("status", "active", "withdrawn", "moved away"),
        ("withdrawal_reason", None, "moved away", "moved away"),
    }
    with pytest.raises(Conflict):
        withdraw_patient(db, clinician, patient_id, "again")


def test_ids_beyond_the_integer_column_are_refused_not_sent(db, clinician, program_id):
    # Found by the hypothesis payload tests: PostgreSQL raised "integer out of range".
    from psotrack.services.timeline import load_timeline

    with pytest.raises(ValidationError, match="program_id=2147483648"):
        enroll_patient(db, clinician, patient_form(2**31))
    with pytest.raises(ValidationError, match="patient_id"):
        load_timeline(db, clinician, 10**12)
    with pytest.raises(ValidationError, match="patient_id=True"):
        load_timeline(db, clinician, True)
