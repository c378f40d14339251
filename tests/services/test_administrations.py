"""Cell-therapy administrations: stored and audited, dose checked, protocol breaches flagged.

The program fixture allows 1.0–3.0 × 10⁶ cells/kg with an 80 % viability release threshold
(tests/services/conftest.py); every known answer below is total cells ÷ weight by hand.
"""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from psotrack.errors import Conflict, NotFound, PermissionDenied, ValidationError
from psotrack.services.administrations import log_administration
from psotrack.services.context import SYSTEM
from psotrack.services.patients import (
    create_program,
    enroll_patient,
    record_visit,
    withdraw_patient,
)
from psotrack.store.models import Administration, AuditEntry, SafetyFlag
from psotrack.store.vocabulary import FlagKind, Role
from tests.audit_rows import audited_values
from tests.services.conftest import patient_form

STARTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
STOPPED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def dose_form(patient_id: int, **changes) -> dict:
    """70 kg, 1.05 × 10⁸ cells = 1.5 × 10⁶ cells/kg, viability 92.5 %: inside the protocol."""
    form = {
        "patient_id": patient_id,
        "product_source": "UC-MSC",
        "manufacturer": "Example Cell Bank",
        "lot": "UC-2026-014",
        "passage": 4,
        "cryopreserved": True,
        "total_cells": 105_000_000,
        "body_weight_kg": 70.0,
        "cells_per_kg": 1.5e6,
        "viability_pct": 92.5,
        "route": "IV",
        "volume_ml": 100.0,
        "rate_ml_per_h": 200.0,
        "started_at": STARTED,
        "stopped_at": STOPPED,
        "premedication": "none",
        "vitals_before": {
            "heart_rate": 72,
            "systolic": 120,
            "diastolic": 80,
            "temperature_c": 36.8,
        },
        "vitals_after": {"heart_rate": 80, "spo2": 98, "respiratory_rate": 16},
    }
    form.update(changes)
    return form


def flags(db) -> list[tuple[FlagKind, str]]:
    with db.transaction() as session:
        return [(f.kind, f.message) for f in session.scalars(select(SafetyFlag).order_by("id"))]


def utc(moment: datetime) -> datetime:
    """SQLite hands times back naive (they were stored in UTC); PostgreSQL aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_stores_every_field_with_audit_rows(db, clinician, patient_id):
    form = dose_form(patient_id, operator_id=clinician.user_id)
    admin_id = log_administration(db, clinician, form)
    with db.transaction() as session:
        row = session.get(Administration, admin_id)
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "administrations", AuditEntry.entity_id == admin_id
            )
        ).all()
    assert (row.patient_id, row.product_source.value, row.route.value) == (
        patient_id,
        "UC-MSC",
        "IV",
    )
    assert (row.lot, row.passage, row.cryopreserved) == ("UC-2026-014", 4, True)
    assert (row.total_cells, row.body_weight_kg, row.cells_per_kg) == (105_000_000, 70.0, 1.5e6)
    assert (row.viability_pct, row.volume_ml, row.rate_ml_per_h) == (92.5, 100.0, 200.0)
    assert (utc(row.started_at), utc(row.stopped_at)) == (STARTED, STOPPED)
    assert row.operator_id == clinician.user_id
    assert row.vitals_before == {
        "heart_rate": 72,
        "systolic": 120,
        "diastolic": 80,
        "temperature_c": 36.8,
    }
    assert row.vitals_after == {"heart_rate": 80, "spo2": 98, "respiratory_rate": 16}
    assert len(audit) == 1  # the creation is one change: one audit row with every value
    assert audit[0].field is None and audit[0].old_value is None
    by_field = audited_values(audit)
    assert by_field["total_cells"] == "105000000"
    assert by_field["cells_per_kg"] == "1500000.0"
    assert by_field["lot"] == "UC-2026-014"
    assert by_field["vitals_after"] == '{"heart_rate": 80, "respiratory_rate": 16, "spo2": 98}'
    assert "visit_id" not in by_field  # empty columns get no audit row
    assert all(a.actor_id == clinician.user_id and a.action == "create" for a in audit)
    assert flags(db) == []


def test_times_with_an_offset_are_stored_in_utc(db, clinician, patient_id):
    form = dose_form(
        patient_id, started_at="2026-01-05T11:00:00+02:00", stopped_at="2026-01-05T11:45:00+02:00"
    )
    admin_id = log_administration(db, clinician, form)
    with db.transaction() as session:
        row = session.get(Administration, admin_id)
    assert utc(row.started_at) == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert utc(row.stopped_at) == datetime(2026, 1, 5, 9, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("total_cells", "cells_per_kg", "flagged"),
    [
        (70_000_000, 1.0e6, False),  # 7.0e7 / 70 = 1.0e6: exactly the minimum
        (69_999_930, 999_999.0, True),  # 6.999993e7 / 70 = 999 999: one cell/kg below
        (210_000_000, 3.0e6, False),  # 2.1e8 / 70 = 3.0e6: exactly the maximum
        (210_000_070, 3_000_001.0, True),  # one cell/kg above
    ],
)
def test_dose_range_is_inclusive_at_both_limits(
    db, clinician, patient_id, total_cells, cells_per_kg, flagged
):
    form = dose_form(patient_id, total_cells=total_cells, cells_per_kg=cells_per_kg)
    admin_id = log_administration(db, clinician, form)
    raised = flags(db)
    assert count(db, Administration) == 1  # stored either way: it is what was given
    if not flagged:
        assert raised == []
        return
    assert [kind for kind, _ in raised] == [FlagKind.DOSE_OUT_OF_RANGE]
    side = "below" if cells_per_kg < 1e6 else "above"
    assert f"is {side} the protocol range 1e+06–3e+06 cells/kg" in raised[0][1]
    with db.transaction() as session:
        flag = session.scalars(select(SafetyFlag)).one()
        assert (flag.entity, flag.entity_id, flag.patient_id) == (
            "administrations",
            admin_id,
            patient_id,
        )
        flag_audit = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "safety_flags")
        ).all()
    assert audited_values(flag_audit)["kind"] == FlagKind.DOSE_OUT_OF_RANGE.value
    assert all(a.actor_id == clinician.user_id for a in flag_audit)


@pytest.mark.parametrize(("viability", "flagged"), [(80.0, False), (80, False), (79.9, True)])
def test_viability_exactly_at_threshold_is_not_flagged(
    db, clinician, patient_id, viability, flagged
):
    log_administration(db, clinician, dose_form(patient_id, viability_pct=viability))
    raised = flags(db)
    assert count(db, Administration) == 1
    if flagged:
        assert raised == [
            (
                FlagKind.LOW_VIABILITY,
                "viability 79.9 % is below the release threshold 80 % of program "
                "'UC-MSC IV, 3 infusions 4 weeks apart' (lot UC-2026-014)",
            )
        ]
    else:
        assert raised == []


def test_dose_and_viability_breaches_raise_two_flags(db, clinician, patient_id):
    form = dose_form(patient_id, total_cells=280_000_000, cells_per_kg=4.0e6, viability_pct=60.0)
    log_administration(db, clinician, form)
    kinds = [kind for kind, _ in flags(db)]
    assert kinds == [FlagKind.DOSE_OUT_OF_RANGE, FlagKind.LOW_VIABILITY]


def test_program_without_dose_range_never_flags_dose(db, clinician):
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "Exosome topical",
            "regimen": "open dose",
            "product_source": "exosome/secretome",
            "route": "topical",
        },
    )
    patient = enroll_patient(db, clinician, patient_form(program, mrn="MRN-9"))
    form = dose_form(patient, total_cells=700_000_000, cells_per_kg=1.0e7, viability_pct=70.0)
    log_administration(db, clinician, form)
    assert flags(db) == []  # default threshold 70 %: exactly met


@pytest.mark.parametrize(
    ("total_cells", "weight", "cells_per_kg", "accepted"),
    [
        (100_000_000, 100.0, 1_010_000.0, True),  # computed 1.0e6: exactly 1 % above
        (100_000_000, 100.0, 1_010_001.0, False),
        (70_100_000, 70.1, 990_000.0, True),  # computed 1.0e6: exactly 1 % below (float misses)
        (70_100_000, 70.1, 989_999.0, False),
    ],
)
def test_cells_per_kg_must_agree_with_total_over_weight_within_one_percent(
    db, clinician, patient_id, total_cells, weight, cells_per_kg, accepted
):
    form = dose_form(
        patient_id, total_cells=total_cells, body_weight_kg=weight, cells_per_kg=cells_per_kg
    )
    if accepted:
        log_administration(db, clinician, form)
        assert count(db, Administration) == 1
        return
    with pytest.raises(ValidationError) as info:
        log_administration(db, clinician, form)
    (problem,) = info.value.problems
    assert (problem.field, problem.value) == ("cells_per_kg", cells_per_kg)
    assert f"= {total_cells} / {weight:g} = 1e+06 cells/kg, within 1 %" in str(problem)
    assert count(db, Administration) == 0


def test_disagreeing_dose_message_names_value_and_computed_dose(db, clinician, patient_id):
    with pytest.raises(ValidationError) as info:
        log_administration(db, clinician, dose_form(patient_id, cells_per_kg=1.5e7))
    assert str(info.value) == (
        "cells_per_kg=15000000.0: total_cells / body_weight_kg = 105000000 / 70 "
        "= 1.5e+06 cells/kg, within 1 %"
    )


def test_bad_form_lists_every_problem_and_stores_nothing(db, clinician, patient_id):
    before = count(db, AuditEntry)
    form = dose_form(
        patient_id,
        total_cells=True,
        body_weight_kg="70",
        cryopreserved=1,
        viability_pct=100.5,
        route="intravenous",
        passage=-1,
        vitals_before={"heart_rate": 300, "systolic": 120, "pulse": 70},
        vitals_after={"temperature_c": True},
        dose=5,
    )
    del form["lot"]
    with pytest.raises(ValidationError) as info:
        log_administration(db, clinician, form)
    fields = {p.field for p in info.value.problems}
    assert fields == {
        "total_cells",
        "body_weight_kg",
        "cryopreserved",
        "viability_pct",
        "route",
        "passage",
        "vitals_before.heart_rate",
        "vitals_before.pulse",
        "vitals_after.temperature_c",
        "dose",
        "lot",
    }
    assert count(db, Administration) == 0
    assert count(db, AuditEntry) == before


def test_cross_field_problems_are_listed_together(db, clinician, patient_id):
    form = dose_form(
        patient_id,
        cells_per_kg=2.0e6,
        stopped_at=datetime(2026, 1, 5, 8, 59, tzinfo=UTC),
        vitals_after={"systolic": 90, "diastolic": 90},
    )
    with pytest.raises(ValidationError) as info:
        log_administration(db, clinician, form)
    assert [p.field for p in info.value.problems] == [
        "cells_per_kg",
        "stopped_at",
        "vitals_after.diastolic",
    ]
    assert count(db, Administration) == 0


def test_stop_at_the_start_minute_is_allowed(db, clinician, patient_id):
    log_administration(db, clinician, dose_form(patient_id, stopped_at=STARTED))
    assert count(db, Administration) == 1


def test_visit_and_operator_must_exist_and_fit(db, clinician, program_id, patient_id):
    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-2"))
    visit = {"visit_date": date(2026, 1, 5), "visit_type": "treatment", "label": "W0"}
    own_visit = record_visit(db, clinician, {**visit, "patient_id": patient_id})
    other_visit = record_visit(db, clinician, {**visit, "patient_id": other})
    wrong_visit = rf"visit_id={other_visit}: a visit of patient {patient_id}"
    with pytest.raises(ValidationError, match=wrong_visit):
        log_administration(db, clinician, dose_form(patient_id, visit_id=other_visit))
    with pytest.raises(ValidationError, match="operator_id=999"):
        log_administration(db, clinician, dose_form(patient_id, operator_id=999))
    with pytest.raises(NotFound):
        log_administration(db, clinician, dose_form(patient_id, visit_id=999))
    with pytest.raises(NotFound):
        log_administration(db, clinician, dose_form(404))
    assert count(db, Administration) == 0
    admin_id = log_administration(db, clinician, dose_form(patient_id, visit_id=own_visit))
    with db.transaction() as session:
        assert session.get(Administration, admin_id).visit_id == own_visit


def test_withdrawn_patient_cannot_be_dosed(db, clinician, patient_id):
    withdraw_patient(db, clinician, patient_id, "moved away")
    with pytest.raises(Conflict, match="no open enrollment"):
        log_administration(db, clinician, dose_form(patient_id))
    assert count(db, Administration) == 0


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_log(db, actors, patient_id, role):
    with pytest.raises(PermissionDenied):
        log_administration(db, actors[role], dose_form(patient_id))
    assert count(db, Administration) == 0


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.ADMIN])
def test_roles_with_the_right_can_log(db, actors, patient_id, role):
    log_administration(db, actors[role], dose_form(patient_id))
    assert count(db, Administration) == 1


def test_failure_while_flagging_leaves_nothing_half_written(db, clinician, patient_id, monkeypatch):
    import psotrack.services.administrations as service

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "store_flag", failing)
    before = count(db, AuditEntry)
    with pytest.raises(RuntimeError):
        log_administration(db, clinician, dose_form(patient_id, viability_pct=50.0))
    assert count(db, Administration) == 0
    assert count(db, SafetyFlag) == 0
    assert count(db, AuditEntry) == before
