"""Adverse events: stored with the program's CTCAE version, audited, and flagged with deadlines.

Known answers: ICH E2A (1994) expedited reports are due 7 calendar days after the sponsor knew
for fatal or life-threatening unexpected related events, 15 for other serious unexpected related
ones; the recording day is day 0 (2026-03-02 + 7 = 2026-03-09, + 15 = 2026-03-17).
"""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.context import SYSTEM
from psotrack.services.patients import create_program, enroll_patient
from psotrack.store.models import AdverseEvent, AuditEntry, SafetyFlag
from psotrack.store.vocabulary import FlagKind, Role
from tests.audit_rows import audited_values
from tests.services.conftest import patient_form
from tests.services.test_administrations import dose_form

RECORDED = date(2026, 3, 2)


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def event_form(patient_id: int, **changes) -> dict:
    """A mild, non-serious headache, possibly related, recovered."""
    form = {
        "patient_id": patient_id,
        "term": "headache",
        "verbatim_term": "Headache",
        "onset_date": date(2026, 2, 27),
        "resolution_date": date(2026, 2, 28),
        "grade": 1,
        "serious": False,
        "expected": True,
        "relatedness": "possible",
        "action_taken": "none",
        "outcome": "recovered",
    }
    form.update(changes)
    return form


def serious_form(patient_id: int, criteria: list[str], **changes) -> dict:
    """A serious, unexpected, probably related event (so expedited reporting applies)."""
    base = {
        "term": "thromboembolic event",
        "verbatim_term": "Pulmonary embolism",
        "grade": 4,
        "serious": True,
        "serious_criteria": criteria,
        "expected": False,
        "relatedness": "probable",
        "resolution_date": None,
        "outcome": "recovering",
    }
    return event_form(patient_id, **{**base, **changes})


def flags(db) -> list[SafetyFlag]:
    with db.transaction() as session:
        return list(session.scalars(select(SafetyFlag).order_by(SafetyFlag.id)))


def test_stores_event_with_program_ctcae_version_and_audit(db, clinician):
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "AD-MSC SC",
            "regimen": "AD-MSC subcutaneous",
            "product_source": "AD-MSC",
            "route": "subcutaneous",
            "ctcae_version": "6.0",
        },
    )
    patient = enroll_patient(db, clinician, patient_form(program, mrn="MRN-6"))
    event_id = report_adverse_event(db, clinician, event_form(patient), recorded_on=RECORDED)
    with db.transaction() as session:
        event = session.get(AdverseEvent, event_id)
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "adverse_events", AuditEntry.entity_id == event_id
            )
        ).all()
    assert (event.patient_id, event.term, event.verbatim_term, event.grade) == (
        patient,
        "headache",
        "Headache",
        1,
    )
    assert event.ctcae_version == "6.0"
    assert (event.onset_date, event.resolution_date) == (date(2026, 2, 27), date(2026, 2, 28))
    assert (event.serious, event.serious_criteria, event.expected) == (False, [], True)
    assert (event.relatedness.value, event.outcome.value) == ("possible", "recovered")
    assert (event.infusion_reaction, event.administration_id) == (False, None)
    by_field = audited_values(audit)
    assert by_field["ctcae_version"] == "6.0"
    assert by_field["grade"] == "1"
    assert by_field["relatedness"] == "possible"
    assert all(a.actor_id == clinician.user_id and a.action == "create" for a in audit)
    assert flags(db) == []  # grade 1, not serious, no infusion reaction


def test_default_program_version_is_ctcae_5(db, clinician, patient_id):
    event_id = report_adverse_event(db, clinician, event_form(patient_id))
    with db.transaction() as session:
        assert session.get(AdverseEvent, event_id).ctcae_version == "5.0"


@pytest.mark.parametrize(
    ("criteria", "days", "due"),
    [
        (["life-threatening"], 7, date(2026, 3, 9)),
        (["hospitalisation", "life-threatening"], 7, date(2026, 3, 9)),
        (["hospitalisation"], 15, date(2026, 3, 17)),
        (["important medical event"], 15, date(2026, 3, 17)),
    ],
)
def test_serious_unexpected_related_event_gets_its_expedited_deadline(
    db, clinician, patient_id, criteria, days, due
):
    event_id = report_adverse_event(
        db, clinician, serious_form(patient_id, criteria), recorded_on=RECORDED
    )
    sae = [f for f in flags(db) if f.kind is FlagKind.SERIOUS_ADVERSE_EVENT]
    assert len(sae) == 1
    assert (sae[0].due_date, sae[0].entity, sae[0].entity_id) == (due, "adverse_events", event_id)
    assert f"{days} calendar days from 2026-03-02) due {due.isoformat()}" in sae[0].message


def test_criteria_are_stored_in_ich_order(db, clinician, patient_id):
    form = serious_form(patient_id, ["important medical event", "hospitalisation", "disability"])
    event_id = report_adverse_event(db, clinician, form, recorded_on=RECORDED)
    with db.transaction() as session:
        stored = session.get(AdverseEvent, event_id).serious_criteria
    assert stored == ["hospitalisation", "disability", "important medical event"]


def test_fatal_event_is_due_in_seven_days_across_a_month_end(db, clinician, patient_id):
    form = serious_form(patient_id, ["death"], grade=5, outcome="fatal")
    report_adverse_event(db, clinician, form, recorded_on=date(2026, 2, 25))
    kinds = {f.kind: f for f in flags(db)}
    assert kinds[FlagKind.SERIOUS_ADVERSE_EVENT].due_date == date(2026, 3, 4)  # 2026: no 29 Feb
    assert set(kinds) == {FlagKind.SERIOUS_ADVERSE_EVENT, FlagKind.GRADE_3_OR_MORE}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"expected": True}, "(expected)"),
        ({"relatedness": "unlikely"}, "(relatedness 'unlikely')"),
        ({"relatedness": "not related"}, "(relatedness 'not related')"),
        ({"expected": True, "relatedness": "not related"}, "(expected and relatedness"),
    ],
)
def test_expected_or_unrelated_serious_event_has_no_expedited_deadline(
    db, clinician, patient_id, changes, why
):
    form = serious_form(patient_id, ["life-threatening"], **changes)
    report_adverse_event(db, clinician, form, recorded_on=RECORDED)
    (sae,) = [f for f in flags(db) if f.kind is FlagKind.SERIOUS_ADVERSE_EVENT]
    assert sae.due_date is None
    assert "expedited reporting (ICH E2A) does not apply by these criteria" in sae.message
    assert why in sae.message


@pytest.mark.parametrize("relatedness", ["certain", "possible", "conditional", "unassessable"])
def test_unknown_expectedness_and_unruled_out_causality_count_towards_reporting(
    db, clinician, patient_id, relatedness
):
    form = serious_form(patient_id, ["hospitalisation"], expected=None, relatedness=relatedness)
    report_adverse_event(db, clinician, form, recorded_on=RECORDED)
    (sae,) = [f for f in flags(db) if f.kind is FlagKind.SERIOUS_ADVERSE_EVENT]
    assert sae.due_date == date(2026, 3, 17)


def test_recording_day_defaults_to_today(db, clinician, patient_id):
    before = date.today()
    report_adverse_event(db, clinician, serious_form(patient_id, ["hospitalisation"]))
    after = date.today()
    (sae,) = [f for f in flags(db) if f.kind is FlagKind.SERIOUS_ADVERSE_EVENT]
    assert sae.due_date in {before + timedelta(days=15), after + timedelta(days=15)}


@pytest.mark.parametrize(("grade", "flagged"), [(2, False), (3, True), (4, True)])
def test_grade_three_or_more_is_flagged(db, clinician, patient_id, grade, flagged):
    report_adverse_event(db, clinician, event_form(patient_id, grade=grade), recorded_on=RECORDED)
    raised = flags(db)
    assert [f.kind for f in raised] == ([FlagKind.GRADE_3_OR_MORE] if flagged else [])
    if flagged:
        assert raised[0].message == (
            "adverse event 'headache' (reported as 'Headache', "
            f"grade {grade}, onset 2026-02-27) is grade ≥ 3"
        )
        assert raised[0].due_date is None


def test_infusion_reaction_links_the_administration_and_is_flagged(db, clinician, patient_id):
    admin_id = log_administration(db, clinician, dose_form(patient_id))
    form = event_form(
        patient_id,
        term="infusion related reaction",
        verbatim_term="Infusion related reaction",
        grade=2,
        infusion_reaction=True,
        administration_id=admin_id,
        action_taken="infusion interrupted",
    )
    event_id = report_adverse_event(db, clinician, form, recorded_on=RECORDED)
    with db.transaction() as session:
        event = session.get(AdverseEvent, event_id)
        assert (event.infusion_reaction, event.administration_id) == (True, admin_id)
    (flag,) = flags(db)
    assert (flag.kind, flag.entity_id) == (FlagKind.INFUSION_REACTION, event_id)
    assert flag.message.endswith(f"after administration {admin_id}")


def test_grade_three_serious_infusion_reaction_raises_three_flags(db, clinician, patient_id):
    admin_id = log_administration(db, clinician, dose_form(patient_id))
    form = serious_form(
        patient_id, ["hospitalisation"], grade=3, infusion_reaction=True, administration_id=admin_id
    )
    report_adverse_event(db, clinician, form, recorded_on=RECORDED)
    assert [f.kind for f in flags(db)] == [
        FlagKind.SERIOUS_ADVERSE_EVENT,
        FlagKind.GRADE_3_OR_MORE,
        FlagKind.INFUSION_REACTION,
    ]
    with db.transaction() as session:
        flag_audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "safety_flags", AuditEntry.action == "create"
            )
        ).all()
    assert len(flag_audit) == 3  # one creation row per flag
    assert [audited_values([a])["kind"] for a in flag_audit] == [
        FlagKind.SERIOUS_ADVERSE_EVENT.value,
        FlagKind.GRADE_3_OR_MORE.value,
        FlagKind.INFUSION_REACTION.value,
    ]


def test_administration_must_be_given_and_belong_to_the_patient(
    db, clinician, program_id, patient_id
):
    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-2"))
    other_admin = log_administration(db, clinician, dose_form(other))
    with pytest.raises(ValidationError) as info:
        report_adverse_event(db, clinician, event_form(patient_id, infusion_reaction=True))
    assert str(info.value) == (
        "administration_id is missing (the administration an infusion-related reaction followed)"
    )
    with pytest.raises(
        ValidationError,
        match=f"administration_id={other_admin}: an administration of patient {patient_id}",
    ):
        report_adverse_event(db, clinician, event_form(patient_id, administration_id=other_admin))
    with pytest.raises(ValidationError, match="administration_id=999"):
        report_adverse_event(db, clinician, event_form(patient_id, administration_id=999))
    with pytest.raises(NotFound):
        report_adverse_event(db, clinician, event_form(404))
    assert count(db, AdverseEvent) == 0


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"serious": True}, "serious_criteria", "at least one ICH E2A criterion"),
        ({"serious_criteria": ["hospitalisation"]}, "serious_criteria", "no criteria when"),
        (
            {"grade": 5, "serious": True, "serious_criteria": ["life-threatening"]},
            "grade",
            "serious with the 'death' criterion",
        ),
        ({"grade": 5}, "grade", "serious with the 'death' criterion"),
        ({"resolution_date": date(2026, 2, 26)}, "resolution_date", "onset_date (2026-02-27)"),
        (
            {"serious": True, "serious_criteria": ["disability", "disability"]},
            "serious_criteria",
            "each criterion once",
        ),
    ],
)
def test_inconsistent_fields_are_refused(db, clinician, patient_id, changes, field, text):
    before = count(db, AuditEntry)
    with pytest.raises(ValidationError) as info:
        report_adverse_event(db, clinician, event_form(patient_id, **changes))
    assert [p.field for p in info.value.problems] == [field]
    assert text in str(info.value)
    assert count(db, AdverseEvent) == 0
    assert count(db, AuditEntry) == before


def test_resolution_on_the_onset_day_is_allowed(db, clinician, patient_id):
    form = event_form(patient_id, resolution_date=date(2026, 2, 27))
    report_adverse_event(db, clinician, form)
    assert count(db, AdverseEvent) == 1


def test_bad_form_lists_every_problem_and_stores_nothing(db, clinician, patient_id):
    form = event_form(
        patient_id,
        grade=True,
        serious="no",
        expected=0,
        infusion_reaction=1,
        relatedness="maybe",
        outcome="dead",
        onset_date="2026-02-30",
        serious_criteria=["fatal"],
        severity=3,
    )
    del form["term"]
    with pytest.raises(ValidationError) as info:
        report_adverse_event(db, clinician, form)
    fields = {p.field for p in info.value.problems}
    assert fields == {
        "grade",
        "serious",
        "expected",
        "infusion_reaction",
        "relatedness",
        "outcome",
        "onset_date",
        "serious_criteria.0",
        "severity",
        "term",
    }
    assert count(db, AdverseEvent) == 0


@pytest.mark.parametrize("grade", [0, 6, 3.0, "3"])
def test_grade_is_an_integer_from_one_to_five(db, clinician, patient_id, grade):
    with pytest.raises(ValidationError) as info:
        report_adverse_event(db, clinician, event_form(patient_id, grade=grade))
    assert [p.field for p in info.value.problems] == ["grade"]


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_report(db, actors, patient_id, role):
    with pytest.raises(PermissionDenied):
        report_adverse_event(db, actors[role], event_form(patient_id))
    assert count(db, AdverseEvent) == 0


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.COORDINATOR, Role.ADMIN])
def test_roles_with_the_right_can_report(db, actors, patient_id, role):
    report_adverse_event(db, actors[role], event_form(patient_id))
    assert count(db, AdverseEvent) == 1


def test_failure_at_the_second_flag_leaves_nothing_half_written(
    db, clinician, patient_id, monkeypatch
):
    import psotrack.services.adverse_events as service

    calls = {"n": 0}
    real = service.store_flag

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # after the event and its first flag
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "store_flag", failing)
    before = count(db, AuditEntry)
    with pytest.raises(RuntimeError):
        report_adverse_event(
            db, clinician, serious_form(patient_id, ["hospitalisation"]), recorded_on=RECORDED
        )
    assert calls["n"] == 2
    assert count(db, AdverseEvent) == 0
    assert count(db, SafetyFlag) == 0
    assert count(db, AuditEntry) == before
