"""Recording assessments: computed scores, audit rows, strict refusals, the possible-flare flag."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.assessments import list_assessments, record_assessment
from psotrack.services.patients import enroll_patient, record_visit
from psotrack.store.models import Administration, Assessment, AuditEntry, SafetyFlag, Visit
from psotrack.store.vocabulary import FlagKind, ProductSource, Role, Route
from tests.audit_rows import audited_values
from tests.services.conftest import patient_form

DAY0 = date(2026, 1, 5)  # first administration


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def counts(db) -> tuple[int, int, int]:
    return count(db, Assessment), count(db, AuditEntry), count(db, SafetyFlag)


def add_visit(db, actor, patient_id, day: int, label: str | None = None) -> int:
    kind = "baseline" if day <= 0 else "follow-up"
    form = {
        "patient_id": patient_id,
        "visit_date": DAY0 + timedelta(days=day),
        "visit_type": kind,
        "label": label or f"D{day}",
    }
    return record_visit(db, actor, form)


def add_administration(db, patient_id, day: int = 0) -> None:
    """A first infusion on ``DAY0 + day`` (inserted directly: only its date matters here)."""
    with db.transaction() as session:
        session.add(
            Administration(
                patient_id=patient_id,
                product_source=ProductSource.UC_MSC,
                manufacturer="Test Biologics",
                lot="LOT-1",
                cryopreserved=True,
                total_cells=105_000_000,
                body_weight_kg=70.0,
                cells_per_kg=1.5e6,
                viability_pct=92.0,
                route=Route.IV,
                started_at=datetime.combine(
                    DAY0 + timedelta(days=day), datetime.min.time()
                ).replace(hour=10, tzinfo=UTC),
            )
        )


def region(e=0, i=0, d=0, area=0) -> dict:
    return {"erythema": e, "induration": i, "desquamation": d, "area": area}


def pasi_form(head=(), upper=(), trunk=(), lower=()) -> dict:
    return {
        "head": region(*head),
        "upper_limbs": region(*upper),
        "trunk": region(*trunk),
        "lower_limbs": region(*lower),
    }


# Hand-computed PASI forms (weights head 0.1, upper 0.2, trunk 0.3, lower 0.4; Fredriksson 1978)
PASI = {
    "0.0": pasi_form(),
    "0.1": pasi_form(head=(1, 0, 0, 1)),  # 0.1 × 1 × 1
    "3.0": pasi_form(trunk=(4, 4, 2, 1)),  # 0.3 × 10 × 1
    "4.0": pasi_form(lower=(4, 4, 2, 1)),  # 0.4 × 10 × 1
    "5.0": pasi_form(lower=(2, 2, 1, 2), upper=(2, 2, 1, 1)),  # 0.4 × 5 × 2 + 0.2 × 5 × 1
    "5.9": pasi_form(lower=(4, 4, 2, 1), trunk=(2, 2, 2, 1), head=(1, 0, 0, 1)),  # 4.0 + 1.8 + 0.1
    "6.0": pasi_form(lower=(2, 2, 1, 3)),  # 0.4 × 5 × 3
    "9.0": pasi_form(lower=(3, 3, 3, 2), trunk=(2, 2, 2, 1)),  # 0.4 × 9 × 2 + 0.3 × 6 × 1
    "20.0": pasi_form(lower=(4, 4, 2, 5)),  # 0.4 × 10 × 5
}


def record_pasi(db, actor, visit_id: int, score: str) -> int:
    payload = {"visit_id": visit_id, "instrument": "pasi", "responses": PASI[score]}
    return record_assessment(db, actor, payload)


def flares(db) -> list[SafetyFlag]:
    with db.transaction() as session:
        query = select(SafetyFlag).where(SafetyFlag.kind == FlagKind.POSSIBLE_FLARE)
        return list(session.scalars(query.order_by(SafetyFlag.id)))


def test_pasi_is_scored_stored_as_entered_and_audited(db, clinician, actors, patient_id):
    visit_id = add_visit(db, clinician, patient_id, 0)
    responses = {
        "head": {"erythema": 2, "induration": 1, "desquamation": 1, "area": 2},  # 0.8
        "upper_limbs": {"erythema": 3, "induration": 2, "desquamation": 2, "area_pct": 35},  # 4.2
        "trunk": {"erythema": 1, "induration": 1, "desquamation": 0, "area": 1},  # 0.6
        "lower_limbs": {"erythema": 4, "induration": 3, "desquamation": 3, "area_pct": 90},  # 24
    }
    assessor = actors[Role.ADMIN].user_id
    payload = {
        "visit_id": visit_id,
        "instrument": "pasi",
        "responses": responses,
        "assessor_id": assessor,
    }
    assessment_id = record_assessment(db, clinician, payload)
    with db.transaction() as session:
        row = session.get(Assessment, assessment_id)
        assert (row.patient_id, row.visit_id, row.instrument.value) == (
            patient_id,
            visit_id,
            "pasi",
        )
        assert (row.score, row.score_value, row.assessor_id) == ("29.6", 29.6, assessor)
        assert row.responses == responses
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "assessments", AuditEntry.entity_id == assessment_id
            )
        ).all()
    values = audited_values(audit)
    assert values["score"] == "29.6"
    assert values["instrument"] == "pasi"
    assert '"area_pct": 35' in values["responses"]
    assert all(a.actor_id == clinician.user_id and a.action == "create" for a in audit)


@pytest.mark.parametrize(
    ("instrument", "responses", "score"),
    [
        ("bsa", {"handprints": 7, "unit": "palm"}, "3.5"),  # 7 × 0.5 %
        ("pga", {"grade": 3, "scale": 5}, "3"),
        # 3+2+1+0+0+1 + Q7 "no, a lot" 2 + 3+0+1 = 13 (Finlay 1994 scoring)
        (
            "dlqi",
            {"q1": "very much", "q2": "a lot", "q3": "a little", "q4": "not at all",
             "q5": "not relevant", "q6": "a little", "q7": "no, a lot", "q8": "very much",
             "q9": "not at all", "q10": "a little"},
            "13",
        ),
        ("itch_nrs", {"score": 7}, "7"),
        ("pssi", {"erythema": 3, "induration": 2, "desquamation": 4, "area_pct": 35}, "27"),
        ("napsi", {"nails": {"R1": {"matrix": 2, "bed": 1}, "RT1": {"matrix": 4, "bed": 4}}}, "11"),
        ("tpss", {"site": "left elbow", "erythema": 3, "induration": 2, "scaling": 2}, "7"),
    ],
)  # fmt: skip
def test_other_instruments_are_scored_through_the_service(
    db, clinician, patient_id, instrument, responses, score
):
    visit_id = add_visit(db, clinician, patient_id, 0)
    payload = {"visit_id": visit_id, "instrument": instrument, "responses": responses}
    assessment_id = record_assessment(db, clinician, payload)
    with db.transaction() as session:
        row = session.get(Assessment, assessment_id)
        assert (row.score, row.responses, row.assessor_id) == (score, responses, None)


def test_unscorable_dlqi_is_stored_without_a_score(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id, 0)
    answers = {f"q{n}": "a little" for n in range(1, 11)} | {"q7": None, "q9": None}
    payload = {"visit_id": visit_id, "instrument": "dlqi", "responses": answers}
    assessment_id = record_assessment(db, clinician, payload)
    with db.transaction() as session:
        row = session.get(Assessment, assessment_id)
        assert (row.score, row.score_value, row.responses) == (None, None, answers)


def test_bad_payload_lists_every_problem_and_stores_nothing(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id, 0)
    form = PASI["4.0"] | {"trunk": region(True, "3", 1, 7), "neck": {}}
    payload = {"visit_id": visit_id, "instrument": "pasi", "responses": form, "note": "x"}
    before = counts(db)
    with pytest.raises(ValidationError) as info:
        record_assessment(db, clinician, payload)
    assert {p.field for p in info.value.problems} == {"note"}  # the form first
    del payload["note"]
    with pytest.raises(ValidationError) as info:
        record_assessment(db, clinician, payload | {"score": "4.0"})
    assert {p.field: p.value for p in info.value.problems} == {
        "score": "4.0",
        "responses.trunk_erythema": True,
        "responses.trunk_induration": "3",
        "responses.trunk_area": 7,
        "responses.neck": {},
    }
    with pytest.raises(ValidationError) as info:
        record_assessment(db, clinician, {"visit_id": "1", "instrument": "easi", "responses": []})
    assert {p.field for p in info.value.problems} == {"visit_id", "instrument", "responses"}
    assert counts(db) == before


def test_a_supplied_score_is_refused_even_when_right(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id, 0)
    before = counts(db)
    payload = {"visit_id": visit_id, "instrument": "itch_nrs", "responses": {"score": 7}}
    for extra in ({"score": "7"}, {"score_value": 7.0}):
        with pytest.raises(ValidationError) as info:
            record_assessment(db, clinician, payload | extra)
        assert str(info.value.problems[0]).endswith(
            "psotrack computes the score from the responses"
        )
    assert counts(db) == before
    record_assessment(db, clinician, payload)
    assert count(db, Assessment) == 1


def test_values_json_cannot_keep_are_refused(db, clinician, patient_id):
    from decimal import Decimal

    visit_id = add_visit(db, clinician, patient_id, 0)
    payload = {"visit_id": visit_id, "instrument": "bsa", "responses": {"percent": Decimal("3")}}
    before = counts(db)
    with pytest.raises(ValidationError) as info:
        record_assessment(db, clinician, payload)
    assert info.value.field == "responses"
    assert counts(db) == before


def test_visit_and_assessor_must_exist(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id, 0)
    payload = {"visit_id": 999, "instrument": "itch_nrs", "responses": {"score": 1}}
    before = counts(db)
    with pytest.raises(NotFound):
        record_assessment(db, clinician, payload)
    with pytest.raises(ValidationError, match="assessor_id=999"):
        record_assessment(db, clinician, payload | {"visit_id": visit_id, "assessor_id": 999})
    with db.transaction() as session:
        session.get(Visit, visit_id).deleted_at = datetime.now(UTC)
    with pytest.raises(NotFound):
        record_assessment(db, clinician, payload | {"visit_id": visit_id})
    assert counts(db)[0] == before[0]


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_record(db, actors, clinician, patient_id, role):
    visit_id = add_visit(db, clinician, patient_id, 0)
    payload = {"visit_id": visit_id, "instrument": "itch_nrs", "responses": {"score": 1}}
    with pytest.raises(PermissionDenied):
        record_assessment(db, actors[role], payload)
    assert count(db, Assessment) == 0
    record_assessment(db, actors[Role.COORDINATOR], payload)
    assert count(db, Assessment) == 1


# --- possible flare: a post-baseline PASI ≥ 150 % of the best earlier post-baseline PASI -------


def test_flare_at_exactly_fifty_percent_over_the_best(db, clinician, patient_id):
    add_administration(db, patient_id)
    w0, w4, w8, w12, w16 = (add_visit(db, clinician, patient_id, d) for d in (0, 28, 56, 84, 112))
    record_pasi(db, clinician, w0, "20.0")  # baseline: not a best
    record_pasi(db, clinician, w4, "4.0")  # first post-baseline: no best yet
    record_pasi(db, clinician, w8, "5.9")  # 5.9 < 1.5 × 4.0
    assert flares(db) == []
    record_pasi(db, clinician, w12, "6.0")  # exactly 1.5 × 4.0
    flagged_id = record_pasi(db, clinician, w16, "9.0")  # 9.0 ≥ 6.0: the best is still 4.0
    found = flares(db)
    assert len(found) == 2
    flag = found[1]
    assert (flag.patient_id, flag.entity, flag.entity_id) == (patient_id, "assessments", flagged_id)
    assert flag.message == (
        "PASI 9.0 at visit D112 (2026-04-27) is ≥ 150 % of the best earlier post-baseline "
        "PASI 4.0: a possible flare"
    )
    with db.transaction() as session:
        audit = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "safety_flags", AuditEntry.entity_id == flag.id
            )
        ).all()
    assert audited_values(audit)["kind"] == FlagKind.POSSIBLE_FLARE.value
    assert all(a.actor_id == clinician.user_id for a in audit)


def test_a_flaring_pasi_and_its_flag_are_audited_in_one_append(db, clinician, patient_id):
    """The assessment's and the flag's audit rows go into the log with one INSERT (one round
    trip while the append lock is held), one after the other, at the same moment."""
    add_administration(db, patient_id)
    w4, w8 = add_visit(db, clinician, patient_id, 28), add_visit(db, clinician, patient_id, 56)
    record_pasi(db, clinician, w4, "4.0")
    inserts: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        flagged_id = record_pasi(db, clinician, w8, "6.0")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(inserts) == 1
    (flag,) = flares(db)
    with db.transaction() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(2)).all()
    assessment_row, flag_row = rows[1], rows[0]
    assert (assessment_row.entity, assessment_row.entity_id) == ("assessments", flagged_id)
    assert (flag_row.entity, flag_row.entity_id) == ("safety_flags", flag.id)
    assert flag_row.seq == assessment_row.seq + 1 and flag_row.at == assessment_row.at


def test_no_flag_before_therapy_nor_against_baseline(db, clinician, patient_id):
    screen, w0 = add_visit(db, clinician, patient_id, -14), add_visit(db, clinician, patient_id, 0)
    record_pasi(db, clinician, screen, "4.0")
    record_pasi(db, clinician, w0, "9.0")  # no administration yet: nothing is post-baseline
    add_administration(db, patient_id)
    w4 = add_visit(db, clinician, patient_id, 28)
    record_pasi(db, clinician, w4, "20.0")  # first post-baseline value: earlier ones are baseline
    assert flares(db) == []


def test_best_of_zero_flags_any_return_of_disease(db, clinician, patient_id):
    add_administration(db, patient_id)
    visits = [add_visit(db, clinician, patient_id, d) for d in (28, 56, 84)]
    record_pasi(db, clinician, visits[0], "0.0")
    record_pasi(db, clinician, visits[1], "0.0")  # 0 is not above a best of 0
    assert flares(db) == []
    record_pasi(db, clinician, visits[2], "0.1")
    assert len(flares(db)) == 1


def test_only_earlier_visits_and_live_assessments_count(db, clinician, patient_id):
    add_administration(db, patient_id)
    w2, w4, w8, w12, w16 = (add_visit(db, clinician, patient_id, d) for d in (14, 28, 56, 84, 112))
    record_pasi(db, clinician, w4, "5.0")
    record_pasi(db, clinician, w12, "4.0")  # entered early; W12 is not earlier than W8
    record_pasi(db, clinician, w8, "6.0")  # best before W8 is 5.0: 6.0 < 7.5
    deleted = record_pasi(db, clinician, w2, "3.0")
    assert flares(db) == []
    with db.transaction() as session:
        session.get(Assessment, deleted).deleted_at = datetime.now(UTC)
    record_pasi(db, clinician, w16, "5.9")  # ≥ 1.5 × 3.0 but the 3.0 is deleted; < 1.5 × 4.0
    assert flares(db) == []


def test_other_patients_values_do_not_count(db, clinician, program_id, patient_id):
    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0002"))
    for pid in (patient_id, other):
        add_administration(db, pid)
    record_pasi(db, clinician, add_visit(db, clinician, other, 28), "3.0")
    record_pasi(db, clinician, add_visit(db, clinician, patient_id, 56), "5.0")
    record_pasi(db, clinician, add_visit(db, clinician, patient_id, 84), "6.0")  # 6.0 < 7.5
    assert flares(db) == []


def test_failure_in_the_middle_leaves_nothing_half_written(db, clinician, patient_id, monkeypatch):
    import psotrack.services.assessments as service

    add_administration(db, patient_id)
    w4, w8 = add_visit(db, clinician, patient_id, 28), add_visit(db, clinician, patient_id, 56)
    record_pasi(db, clinician, w4, "4.0")

    def failing(*args, **kwargs):  # after the assessment's row, before its flag and audit rows
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "new_flag", failing)
    before = counts(db)
    with pytest.raises(RuntimeError):
        record_pasi(db, clinician, w8, "6.0")
    assert counts(db) == before


# --- listing -----------------------------------------------------------------------------------


def test_list_by_visit_date_filtered_by_instrument(db, clinician, actors, patient_id):
    later, earlier = (
        add_visit(db, clinician, patient_id, 28),
        add_visit(db, clinician, patient_id, 0),
    )
    record_pasi(db, clinician, later, "3.0")
    itch = {"visit_id": earlier, "instrument": "itch_nrs", "responses": {"score": 6}}
    record_assessment(db, clinician, itch)
    record_pasi(db, clinician, earlier, "20.0")
    rows = list_assessments(db, clinician, patient_id)
    assert [(r.visit_label, r.instrument, r.score) for r in rows] == [
        ("D0", "itch_nrs", "6"),
        ("D0", "pasi", "20.0"),
        ("D28", "pasi", "3.0"),
    ]
    researcher = actors[Role.RESEARCHER]  # the same, without the visit label (free text)
    rows = list_assessments(db, researcher, patient_id)
    assert [(r.visit_label, r.visit_type, r.instrument, r.score) for r in rows] == [
        (None, "baseline", "itch_nrs", "6"),
        (None, "baseline", "pasi", "20.0"),
        (None, "follow-up", "pasi", "3.0"),
    ]
    pasi_rows = list_assessments(db, researcher, patient_id, instrument="pasi")
    assert [(r.visit_date, r.score_value) for r in pasi_rows] == [
        (DAY0, 20.0),
        (DAY0 + timedelta(days=28), 3.0),
    ]
    assert pasi_rows[1].responses == PASI["3.0"]


def test_list_refuses_bad_arguments_and_roles(db, clinician, actors, patient_id):
    with pytest.raises(ValidationError, match="instrument='easi'"):
        list_assessments(db, clinician, patient_id, instrument="easi")
    with pytest.raises(NotFound):
        list_assessments(db, clinician, 999)
    with pytest.raises(PermissionDenied):
        list_assessments(db, actors[Role.PATIENT], patient_id)
    assert list_assessments(db, clinician, patient_id) == []
