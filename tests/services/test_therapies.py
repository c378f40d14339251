"""Concomitant therapy: biologics carry their target and nothing else does; stopping is audited."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from psotrack.errors import Conflict, NotFound, PermissionDenied, ValidationError
from psotrack.services.therapies import (
    BIOLOGIC_TARGETS,
    record_concomitant_therapy,
    stop_concomitant_therapy,
)
from psotrack.store.models import AuditEntry, ConcomitantTherapy
from psotrack.store.vocabulary import Role, TherapyClass
from tests.audit_rows import audited_values


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def therapy_form(patient_id: int, **changes) -> dict:
    form = {
        "patient_id": patient_id,
        "therapy_class": "biologic",
        "agent": "secukinumab",
        "biologic_target": "IL-17A",
        "start_date": date(2025, 6, 1),
        "dose": "300 mg s.c. every 4 weeks",
    }
    form.update(changes)
    return form


def test_biologic_is_stored_with_target_and_audit(db, clinician, patient_id):
    therapy_id = record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    with db.transaction() as session:
        therapy = session.get(ConcomitantTherapy, therapy_id)
        assert therapy.therapy_class is TherapyClass.BIOLOGIC
        assert (therapy.agent, therapy.biologic_target) == ("secukinumab", "IL-17A")
        assert (therapy.start_date, therapy.stop_date) == (date(2025, 6, 1), None)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "concomitant_therapies")
        ).all()
    fields = audited_values(audit)
    assert fields["therapy_class"] == "biologic"
    assert fields["biologic_target"] == "IL-17A"
    assert fields["start_date"] == "2025-06-01"
    assert "stop_date" not in fields  # empty columns get no audit row
    assert all(a.action == "create" and a.actor_id == clinician.user_id for a in audit)


@pytest.mark.parametrize("target", BIOLOGIC_TARGETS)
def test_each_known_biologic_target_is_accepted(db, clinician, patient_id, target):
    therapy_id = record_concomitant_therapy(
        db, clinician, therapy_form(patient_id, biologic_target=target)
    )
    with db.transaction() as session:
        assert session.get(ConcomitantTherapy, therapy_id).biologic_target == target


def test_biologic_without_target_or_with_an_unknown_one_is_refused(db, clinician, patient_id):
    with pytest.raises(ValidationError) as info:
        record_concomitant_therapy(db, clinician, therapy_form(patient_id, biologic_target=None))
    (problem,) = info.value.problems
    assert (problem.field, problem.kind) == ("biologic_target", "missing")
    assert "IL-23" in problem.allowed and "IL-12/23" in problem.allowed
    with pytest.raises(ValidationError, match="biologic_target='IL-99'"):
        record_concomitant_therapy(db, clinician, therapy_form(patient_id, biologic_target="IL-99"))
    assert count(db, ConcomitantTherapy) == 0


@pytest.mark.parametrize("therapy_class", [c.value for c in TherapyClass if c != "biologic"])
def test_target_is_refused_for_every_other_class(db, clinician, patient_id, therapy_class):
    form = therapy_form(patient_id, therapy_class=therapy_class, agent=None)
    with pytest.raises(ValidationError) as info:
        record_concomitant_therapy(db, clinician, form)
    assert [(p.field, p.value) for p in info.value.problems] == [("biologic_target", "IL-17A")]
    record_concomitant_therapy(db, clinician, {**form, "biologic_target": None})
    assert count(db, ConcomitantTherapy) == 1


def test_stop_date_must_not_precede_start(db, clinician, patient_id):
    form = therapy_form(patient_id, stop_date=date(2025, 5, 31))
    with pytest.raises(ValidationError, match=r"on or after start_date \(2025-06-01\)"):
        record_concomitant_therapy(db, clinician, form)
    # A one-day course (stop == start) is fine.
    record_concomitant_therapy(db, clinician, {**form, "stop_date": date(2025, 6, 1)})
    assert count(db, ConcomitantTherapy) == 1


def test_every_bad_field_is_listed_and_nothing_is_stored(db, clinician, patient_id):
    before = count(db, AuditEntry)
    form = {**therapy_form(patient_id, therapy_class="steroid", dose=""), "patient_id": True}
    del form["start_date"]
    with pytest.raises(ValidationError) as info:
        record_concomitant_therapy(db, clinician, form)
    assert {p.field for p in info.value.problems} == {
        "therapy_class",
        "patient_id",
        "dose",
        "start_date",
    }
    form = therapy_form(
        patient_id, therapy_class="methotrexate", stop_date=date(2025, 1, 1), agent=None
    )
    with pytest.raises(ValidationError) as info:
        record_concomitant_therapy(db, clinician, form)
    assert [p.field for p in info.value.problems] == ["biologic_target", "stop_date"]
    assert count(db, ConcomitantTherapy) == 0
    assert count(db, AuditEntry) == before


def test_unknown_patient_is_not_found(db, clinician, patient_id):
    with pytest.raises(NotFound):
        record_concomitant_therapy(db, clinician, therapy_form(4040))
    assert count(db, ConcomitantTherapy) == 0


def test_stopping_is_audited_as_an_update_with_the_reason(db, clinician, patient_id):
    therapy_id = record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    stop_concomitant_therapy(db, clinician, therapy_id, date(2026, 1, 2), "  washout before MSC ")
    with db.transaction() as session:
        assert session.get(ConcomitantTherapy, therapy_id).stop_date == date(2026, 1, 2)
        rows = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "concomitant_therapies", AuditEntry.action == "update"
            )
        ).all()
    assert [
        (r.entity_id, r.field, r.old_value, r.new_value, r.reason, r.actor_id) for r in rows
    ] == [(therapy_id, "stop_date", None, "2026-01-02", "washout before MSC", clinician.user_id)]
    with pytest.raises(Conflict, match="already stopped on 2026-01-02"):
        stop_concomitant_therapy(db, clinician, therapy_id, date(2026, 2, 1), "again")


def test_stopping_is_refused_when_the_input_is_wrong(db, clinician, patient_id):
    therapy_id = record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    before = count(db, AuditEntry)
    with pytest.raises(ValidationError) as info:
        stop_concomitant_therapy(db, clinician, therapy_id, datetime(2026, 1, 2, 10, 0), " ")
    assert [p.field for p in info.value.problems] == ["stop_date", "reason"]
    with pytest.raises(ValidationError, match=r"stop_date='2025-05-01': on or after start_date"):
        stop_concomitant_therapy(db, clinician, therapy_id, date(2025, 5, 1), "ended")
    with pytest.raises(NotFound):
        stop_concomitant_therapy(db, clinician, 9999, date(2026, 1, 2), "ended")
    with db.transaction() as session:
        assert session.get(ConcomitantTherapy, therapy_id).stop_date is None
    assert count(db, AuditEntry) == before


def test_failure_in_the_middle_leaves_nothing_half_written(db, clinician, patient_id, monkeypatch):
    import psotrack.services.therapies as service

    therapy_id = record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    before = count(db, AuditEntry)

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    def failing_after_flush(session, actor, row, reason=None):
        session.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "audit_created", failing_after_flush)
    monkeypatch.setattr(service, "audit_changed", failing)
    with pytest.raises(RuntimeError):
        record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    with pytest.raises(RuntimeError):
        stop_concomitant_therapy(db, clinician, therapy_id, date(2026, 1, 2), "ended")
    with db.transaction() as session:
        assert session.get(ConcomitantTherapy, therapy_id).stop_date is None
    assert count(db, ConcomitantTherapy) == 1
    assert count(db, AuditEntry) == before


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_record_or_stop(db, actors, clinician, patient_id, role):
    therapy_id = record_concomitant_therapy(db, clinician, therapy_form(patient_id))
    with pytest.raises(PermissionDenied):
        record_concomitant_therapy(db, actors[role], therapy_form(patient_id))
    with pytest.raises(PermissionDenied):
        stop_concomitant_therapy(db, actors[role], therapy_id, date(2026, 1, 2), "ended")
    assert count(db, ConcomitantTherapy) == 1


def test_a_coordinator_records_and_stops(db, actors, patient_id):
    coordinator = actors[Role.COORDINATOR]
    therapy_id = record_concomitant_therapy(db, coordinator, therapy_form(patient_id))
    stop_concomitant_therapy(db, coordinator, therapy_id, date(2026, 1, 2), "ended")
    with db.transaction() as session:
        assert session.get(ConcomitantTherapy, therapy_id).stop_date == date(2026, 1, 2)
