"""Lab results: coded analytes, units checked per analyte, ordered reference ranges, audited."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import enroll_patient, record_visit
from psotrack.store.models import AuditEntry, LabResult
from psotrack.store.vocabulary import ANALYTES, Role
from tests.audit_rows import audited_values
from tests.services.conftest import add_visit, patient_form


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def lab_form(patient_id: int, **changes) -> dict:
    form = {
        "patient_id": patient_id,
        "analyte": "crp",
        "value": 4.2,
        "unit": "mg/L",
        "reference_low": 0.0,
        "reference_high": 5.0,
        "sampled_at": datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
    }
    form.update(changes)
    return form


def utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL an aware time: compare both in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_lab_result_is_stored_with_audit_rows(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id)
    lab_id = record_lab_result(db, clinician, lab_form(patient_id, visit_id=visit_id))
    with db.transaction() as session:
        lab = session.get(LabResult, lab_id)
        assert (lab.analyte, lab.value, lab.unit) == ("crp", 4.2, "mg/L")
        assert (lab.reference_low, lab.reference_high, lab.visit_id) == (0.0, 5.0, visit_id)
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "lab_results", AuditEntry.entity_id == lab_id
            )
        ).all()
    fields = audited_values(audit)
    assert fields["analyte"] == "crp"
    assert fields["value"] == "4.2"
    assert fields["unit"] == "mg/L"
    assert all(a.action == "create" and a.actor_id == clinician.user_id for a in audit)


def test_sample_time_with_an_offset_is_stored_in_utc(db, clinician, patient_id):
    # 09:30 at UTC+02:00 is 07:30 UTC.
    local = datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    lab_id = record_lab_result(db, clinician, lab_form(patient_id, sampled_at=local))
    with db.transaction() as session:
        stored = session.get(LabResult, lab_id).sampled_at
    assert utc(stored) == datetime(2026, 1, 5, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("analyte", "unit"),
    [(code, unit) for code, (_, units) in sorted(ANALYTES.items()) for unit in sorted(units)],
)
def test_every_analyte_takes_each_of_its_units(db, clinician, patient_id, analyte, unit):
    form = lab_form(patient_id, analyte=analyte, unit=unit, value=12, reference_high=50.0)
    lab_id = record_lab_result(db, clinician, form)
    with db.transaction() as session:
        assert session.get(LabResult, lab_id).unit == unit


@pytest.mark.parametrize(
    ("analyte", "unit", "allowed"),
    [
        ("crp", "mg/dL", "mg/L"),
        ("treg_pct_cd4", "pg/mL", "%"),
        ("il17a", "ng/L", "pg/mL"),
        ("haemoglobin", "mmol/L", "g/L, g/dL"),
        ("wbc", "/uL", "10*9/L"),
        ("creatinine", "mmol/L", "mg/dL, umol/L"),
    ],
)
def test_a_unit_of_another_analyte_is_refused(db, clinician, patient_id, analyte, unit, allowed):
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, lab_form(patient_id, analyte=analyte, unit=unit))
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == ("unit", unit)
    assert problem.allowed.endswith(": " + allowed)
    assert count(db, LabResult) == 0


def test_unknown_analyte_lists_the_allowed_codes(db, clinician, patient_id):
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, lab_form(patient_id, analyte="ldh", unit="U/L"))
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == ("analyte", "ldh")
    for code in ANALYTES:
        assert code in problem.allowed
    assert count(db, LabResult) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("value", True),
        ("value", False),
        ("value", "4.2"),
        ("value", float("nan")),
        ("value", float("inf")),
        ("value", -0.1),
        ("reference_low", True),
        ("reference_high", float("inf")),
        ("reference_low", -1.0),
        ("patient_id", True),
    ],
)
def test_bools_text_non_finite_and_negative_numbers_are_refused(
    db, clinician, patient_id, field, value
):
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, {**lab_form(patient_id), field: value})
    assert [p.field for p in info.value.problems] == [field]
    assert count(db, LabResult) == 0


def test_an_integer_value_is_taken_as_a_number(db, clinician, patient_id):
    lab_id = record_lab_result(db, clinician, lab_form(patient_id, value=3))
    with db.transaction() as session:
        assert session.get(LabResult, lab_id).value == 3.0


def test_reference_range_must_be_ordered(db, clinician, patient_id):
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, lab_form(patient_id, reference_low=6.0))
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == ("reference_low", 6.0)
    assert "reference_high (5.0)" in problem.allowed
    # A range of one value (low == high) and a one-sided range are both accepted.
    record_lab_result(db, clinician, lab_form(patient_id, reference_low=5.0))
    record_lab_result(db, clinician, lab_form(patient_id, reference_low=None))
    assert count(db, LabResult) == 2


def test_a_percentage_is_at_most_100(db, clinician, patient_id):
    form = lab_form(patient_id, analyte="treg_pct_cd4", unit="%", value=100.5)
    with pytest.raises(ValidationError, match=r"value=100.5 is outside 0–100"):
        record_lab_result(db, clinician, form)
    record_lab_result(db, clinician, {**form, "value": 100.0})
    assert count(db, LabResult) == 1


def test_every_bad_field_is_listed_and_nothing_is_stored(db, clinician, patient_id):
    before = count(db, AuditEntry)
    form = lab_form(patient_id, value=True, sampled_at="2026-02-30T10:00:00", colour="red")
    del form["unit"]
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, form)
    assert {p.field for p in info.value.problems} == {"value", "sampled_at", "colour", "unit"}
    # Cross-field rules are reported together too.
    form = lab_form(patient_id, analyte="alt", unit="mg/L", reference_low=50.0, reference_high=7.0)
    with pytest.raises(ValidationError) as info:
        record_lab_result(db, clinician, form)
    assert [p.field for p in info.value.problems] == ["unit", "reference_low"]
    assert count(db, LabResult) == 0
    assert count(db, AuditEntry) == before


def test_visit_must_belong_to_the_patient(db, clinician, program_id, patient_id):
    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0002"))
    visit = {"visit_date": date(2026, 1, 5), "visit_type": "baseline", "label": "W0"}
    others_visit = record_visit(db, clinician, {**visit, "patient_id": other})
    with pytest.raises(ValidationError, match=f"visit_id={others_visit}"):
        record_lab_result(db, clinician, lab_form(patient_id, visit_id=others_visit))
    with pytest.raises(ValidationError, match="visit_id=9999"):
        record_lab_result(db, clinician, lab_form(patient_id, visit_id=9999))
    with pytest.raises(NotFound):
        record_lab_result(db, clinician, lab_form(4040))
    assert count(db, LabResult) == 0


def test_failure_in_the_middle_leaves_nothing_half_written(db, clinician, patient_id, monkeypatch):
    import psotrack.services.labs as service

    def failing(session, actor, row, reason=None):
        session.flush()  # the lab row reaches the database, then the audit write fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "audit_created", failing)
    before = count(db, AuditEntry)
    with pytest.raises(RuntimeError):
        record_lab_result(db, clinician, lab_form(patient_id))
    assert count(db, LabResult) == 0
    assert count(db, AuditEntry) == before


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_record_labs(db, actors, patient_id, role):
    with pytest.raises(PermissionDenied):
        record_lab_result(db, actors[role], lab_form(patient_id))
    assert count(db, LabResult) == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.CLINICIAN, Role.COORDINATOR])
def test_clinical_roles_record_labs(db, actors, patient_id, role):
    record_lab_result(db, actors[role], lab_form(patient_id))
    assert count(db, LabResult) == 1
