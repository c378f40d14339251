"""Researchers see coded fields only: a name planted in every free-text field never reaches them.

Reproduction (issue 14, part 3): through ``load_timeline``, ``list_alerts`` and
``list_assessments`` a researcher read an adverse event's action taken ("called Jane Doe at
555-0100"), visit labels ("Jane Doe home visit"), a TPSS site and flag messages built from the
AE term. The test enters the name through the services wherever a form takes free text, then
writes it straight into every free-text column of every table (found by walking the models, so
a new column is covered without touching this test), and reads every researcher-visible result.
"""

import dataclasses
import io
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest
from PIL import Image
from sqlalchemy import JSON, select

from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import list_assessments, record_assessment
from psotrack.services.context import SYSTEM
from psotrack.services.flags import list_alerts
from psotrack.services.imports import import_assessments
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import withdraw_patient
from psotrack.services.photos import attach_photo
from psotrack.services.research_views import coded_responses
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.services.timeline import assessments_frame, load_timeline
from psotrack.store.models import Base
from psotrack.store.models.base import free_text_columns
from psotrack.store.vocabulary import Role
from tests.services.conftest import add_visit, administration_form

NAME, PHONE = "Jane Doe", "555-0100"
SAID = f"{NAME} {PHONE}"


def shown(value: Any) -> str:
    """Everything a result carries, as text: dataclasses, rows' columns, frames, containers."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return " ".join(shown(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, Base):
        return " ".join(shown(getattr(value, c.key)) for c in value.__table__.columns)
    if isinstance(value, pl.DataFrame):
        return shown(value.to_dicts())
    if isinstance(value, dict):
        return " ".join(f"{shown(k)} {shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(shown(item) for item in value)
    return str(value)


def research_results(db, actor, patient_id: int) -> str:
    """Every result a service gives this actor about the patient and the cohort."""
    return " ".join(
        shown(result)
        for result in (
            load_timeline(db, actor, patient_id),
            list_alerts(db, actor, include_acknowledged=True),
            list_alerts(db, actor, patient_id=patient_id),
            list_assessments(db, actor, patient_id),
            assessments_frame(db, actor),
        )
    )


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 90, 90)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def record(db, clinician, program_id) -> int:
    """One patient with every kind of record, the name typed into every free-text form field."""
    frame = pl.DataFrame({"patient_id": ["P1"], "visit": ["W0"], "day": [0], "pasi": ["9.0"]})
    import_assessments(
        db, SYSTEM, frame, program_id=program_id, day_zero=date(2026, 1, 5), source=f"{NAME}.csv"
    )
    timeline = load_timeline(db, clinician, 1)
    patient_id = timeline.patient.id
    first = timeline.visits[0].id
    home = add_visit(db, clinician, patient_id, date(2026, 2, 2), f"{NAME} home visit", "follow-up")
    tpss = {"site": f"{NAME}'s left elbow", "erythema": 2, "induration": 1, "scaling": 1}
    record_assessment(db, clinician, {"visit_id": home, "instrument": "tpss", "responses": tpss})
    region = {"erythema": 3, "induration": 3, "desquamation": 3, "area": 4}
    pasi = {r: region for r in ("head", "upper_limbs", "trunk", "lower_limbs")}
    record_assessment(db, clinician, {"visit_id": home, "instrument": "pasi", "responses": pasi})
    dose = administration_form(
        patient_id,
        visit_id=first,
        manufacturer=f"{NAME} Cell Lab",
        lot=PHONE,
        premedication=f"paracetamol, given by {NAME}",
        viability_pct=60.0,  # below the threshold: a flag that names program and lot
        started_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
    )
    administration_id = log_administration(db, clinician, dose)
    report_adverse_event(
        db,
        clinician,
        {
            "patient_id": patient_id,
            "term": "infusion related reaction",
            "verbatim_term": f"{NAME}'s fever after the infusion",
            "onset_date": date(2026, 1, 5),
            "grade": 3,
            "serious": True,
            "serious_criteria": ["hospitalisation"],
            "relatedness": "probable",
            "action_taken": f"called {NAME} at {PHONE}",
            "outcome": "recovered",
            "infusion_reaction": True,
            "administration_id": administration_id,
        },
        recorded_on=date(2026, 1, 5),
    )
    therapy = {
        "patient_id": patient_id,
        "therapy_class": "topical steroid",
        "agent": f"cream from {NAME}",
        "start_date": date(2025, 6, 1),
        "dose": PHONE,
    }
    record_concomitant_therapy(db, clinician, therapy)
    lab = {
        "patient_id": patient_id,
        "analyte": "crp",
        "value": 4.2,
        "unit": "mg/L",
        "sampled_at": datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
    }
    record_lab_result(db, clinician, lab)
    attach_photo(
        db, clinician, patient_id=patient_id, image_bytes=png(), body_site=NAME, view=PHONE
    )
    withdraw_patient(db, clinician, patient_id, f"moved in with {NAME}, {PHONE}")
    return patient_id


def plant_everywhere(db) -> set[str]:
    """Write the name into every free-text column of every table; the columns written."""
    planted = set()
    with db.transaction() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            if model.__tablename__ == "audit_log":  # append-only; never shown to researchers
                continue
            columns = {name: model.__table__.columns[name] for name in free_text_columns(model)}
            for number, row in enumerate(session.scalars(select(model)), start=1):
                for name, column in columns.items():
                    if isinstance(column.type, JSON):
                        value: Any = {"site": SAID, "erythema": 2, "notes": [SAID, 1]}
                    else:
                        value = f"{SAID} {number}"  # numbered: some columns are unique
                    setattr(row, name, value)
                    planted.add(f"{model.__tablename__}.{name}")
    return planted


def test_a_name_typed_into_forms_never_reaches_a_researcher(db, actors, clinician, record):
    assert NAME in research_results(db, clinician, record)  # the care team reads it all
    seen = research_results(db, actors[Role.RESEARCHER], record)
    assert NAME not in seen and PHONE not in seen
    # What researchers still get: the coded term, the visit type, study days, scores.
    timeline = load_timeline(db, actors[Role.RESEARCHER], record)
    (event,) = timeline.adverse_events
    assert (event.term.value, event.grade, event.verbatim_term, event.action_taken) == (
        "infusion related reaction",
        3,
        None,
        None,
    )
    assert [v.visit_type.value for v in timeline.visits] == ["baseline", "follow-up"]
    assert {f.message for f in timeline.flags} >= {
        "adverse event 'infusion related reaction' (grade 3, onset 2026-01-05) is grade ≥ 3",
        "viability 60 % is below the release threshold 80 %",
    }
    frame = assessments_frame(db, actors[Role.RESEARCHER])
    assert frame.select("visit", "day", "pasi").rows() == [
        ("day 0", 0, "9.0"),
        ("day 28", 28, "36.0"),
    ]


def test_a_name_written_into_every_free_text_column_never_reaches_a_researcher(
    db, actors, clinician, record
):
    planted = plant_everywhere(db)
    # The walk found the free text the issue names (and every other such column).
    assert {
        "adverse_events.action_taken",
        "adverse_events.verbatim_term",
        "visits.label",
        "safety_flags.message",
        "assessments.responses",
        "patients.history",
        "enrollments.withdrawal_reason",
        "administrations.lot",
    } <= planted
    assert NAME in research_results(db, clinician, record)
    seen = research_results(db, actors[Role.RESEARCHER], record)
    assert NAME not in seen and PHONE not in seen


def test_coded_responses_keep_numbers_and_closed_list_answers_only():
    assert coded_responses(
        {"site": NAME, "erythema": 2, "q7": "no, a lot", "unit": "palm", "total": "12.5"}
    ) == {"erythema": 2, "q7": "no, a lot", "unit": "palm", "total": "12.5"}
    assert coded_responses({"q1": ["a lot", NAME], "R1": {"matrix": 1, "note": PHONE}}) == {
        "q1": ["a lot", None],
        "R1": {"matrix": 1},
    }
