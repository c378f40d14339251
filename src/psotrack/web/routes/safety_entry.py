"""Dosing and safety entry: the administration log (cells/kg computed from weight) and the
adverse-event form (CTCAE grade, ICH E2A seriousness, the expedited-report deadline shown).

Both record with one service call (:func:`~psotrack.services.administrations.log_administration`,
:func:`~psotrack.services.adverse_events.report_adverse_event`). Each form also has a second
button that stores nothing: "Compute cells/kg" shows the dose per kilogram from the total cells
and the weight; "Check reporting deadline" shows whether the event needs an expedited report
and by when (computed by the adverse-event service's own rule).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from psotrack.errors import Problem, ValidationError
from psotrack.services.administrations import (
    AdministrationIn,
    VitalsIn,
    cells_per_kg,
    log_administration,
)
from psotrack.services.adverse_events import (
    FATAL_OR_LIFE_THREATENING_DAYS,
    OTHER_SERIOUS_DAYS,
    AdverseEventIn,
    event_flags,
    expedited_report_days,
    report_adverse_event,
)
from psotrack.services.context import Actor
from psotrack.services.entry_choices import entry_choices
from psotrack.services.payloads import parse_payload
from psotrack.store.vocabulary import (
    AeOutcome,
    AeTerm,
    FlagKind,
    ProductSource,
    Relatedness,
    Route,
    SeriousCriterion,
)
from psotrack.web import rules
from psotrack.web.entry import PatientId, form_data, form_page, patient_page, submit
from psotrack.web.forms import FormReader, drop_empty
from psotrack.web.routing import Router

router = Router(include_in_schema=False)

#: Vital signs on the administration form: (field, label, unit, whole number?).
VITALS = (
    ("heart_rate", "heart rate", "beats/min", True),
    ("systolic", "systolic pressure", "mmHg", True),
    ("diastolic", "diastolic pressure", "mmHg", True),
    ("temperature_c", "temperature", "°C", False),
    ("spo2", "SpO₂", "%", True),
    ("respiratory_rate", "respiratory rate", "breaths/min", True),
)
#: CTCAE v5 grade meanings (general definitions).
CTCAE_GRADES = (
    (1, "1 — mild"),
    (2, "2 — moderate"),
    (3, "3 — severe or medically significant"),
    (4, "4 — life-threatening"),
    (5, "5 — death related to the event"),
)
ADMINISTRATION_FIELDS = (
    *(name for name in AdministrationIn.model_fields if not name.startswith("vitals_")),
    *(
        f"{when}.{name}"
        for when in ("vitals_before", "vitals_after")
        for name in VitalsIn.model_fields
    ),
)


def _options(values: Any) -> list[tuple[str, str]]:
    return [(v.value, v.value) for v in values]


# --- administration ----------------------------------------------------------------------------


@router.get("/patients/{patient_id}/administrations/new", response_class=HTMLResponse)
def administration_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.ADMINISTRATION)
) -> Response:
    return _administration_page(request, actor, patient_id, {}, [], None)


@router.post("/patients/{patient_id}/administrations/new", response_class=HTMLResponse)
def administration_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.ADMINISTRATION),
    form: FormData = Depends(form_data),
) -> Response:
    db = request.app.state.db
    reader = FormReader(form)
    total = reader.integer("total_cells", "cells in the dose")
    weight = reader.decimal("body_weight_kg", "kg")
    computed = None
    if isinstance(total, int) and isinstance(weight, Decimal) and total > 0 < weight:
        computed = cells_per_kg(total, weight)
    typed_dose = reader.real("cells_per_kg", "cells per kg")
    payload: dict[str, Any] = {
        "patient_id": patient_id,
        "visit_id": reader.integer("visit_id", "one of the patient's visits"),
        "product_source": reader.text("product_source"),
        "manufacturer": reader.text("manufacturer"),
        "lot": reader.text("lot"),
        "passage": reader.integer("passage", "0–50"),
        "cryopreserved": reader.yes_no("cryopreserved"),
        "total_cells": total,
        "body_weight_kg": float(weight) if isinstance(weight, Decimal) else weight,
        # Left blank, the dose is the one computed from the total and the weight.
        "cells_per_kg": typed_dose if typed_dose is not None else computed,
        "viability_pct": reader.real("viability_pct", "0–100 %"),
        "route": reader.text("route"),
        "volume_ml": reader.real("volume_ml", "mL"),
        "rate_ml_per_h": reader.real("rate_ml_per_h", "mL/h"),
        "started_at": reader.text("started_at"),
        "stopped_at": reader.text("stopped_at"),
        "premedication": reader.text("premedication"),
    }
    for when in ("vitals_before", "vitals_after"):
        vitals = {
            name: reader.integer(f"{when}.{name}", unit)
            if whole
            else reader.real(f"{when}.{name}", unit)
            for name, _, unit, whole in VITALS
        }
        payload[when] = drop_empty(vitals) or None
    if reader.text("action") == "compute":
        problems = [p for p in reader.problems if p.field in ("total_cells", "body_weight_kg")]
        if computed is None and not problems:
            allowed = "a number of cells above 0 and a body weight above 0 kg"
            problems = [Problem("total_cells", reader.text("total_cells"), allowed, "missing")]
        status = 422 if problems else 200
        return _administration_page(
            request, actor, patient_id, reader.typed, problems, computed, status
        )
    stored, problems = submit(
        reader, payload, AdministrationIn, lambda p: log_administration(db, actor, p)
    )
    if stored is not None:
        return patient_page(patient_id)
    return _administration_page(request, actor, patient_id, reader.typed, problems, computed, 422)


def _administration_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    typed: dict[str, str],
    problems: list[Problem],
    computed: float | None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "choices": entry_choices(request.app.state.db, actor, patient_id),
        "products": _options(ProductSource),
        "routes": _options(Route),
        "vitals": VITALS,
        "computed": None if computed is None else f"{computed:,.0f}",
    }
    return form_page(
        request,
        "entry/administration.html",
        context,
        typed=typed,
        problems=problems,
        fields=ADMINISTRATION_FIELDS,
        status_code=status_code,
    )


# --- adverse event -----------------------------------------------------------------------------


@router.get("/patients/{patient_id}/adverse-events/new", response_class=HTMLResponse)
def adverse_event_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.ADVERSE_EVENT)
) -> Response:
    return _event_page(request, actor, patient_id, {}, [], [], None)


@router.post("/patients/{patient_id}/adverse-events/new", response_class=HTMLResponse)
def adverse_event_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.ADVERSE_EVENT),
    form: FormData = Depends(form_data),
) -> Response:
    db = request.app.state.db
    reader = FormReader(form)
    criteria = reader.texts("serious_criteria")
    payload: dict[str, Any] = {
        "patient_id": patient_id,
        "term": reader.text("term"),
        "verbatim_term": reader.text("verbatim_term"),
        "onset_date": reader.text("onset_date"),
        "resolution_date": reader.text("resolution_date"),
        "grade": reader.integer("grade", "a CTCAE grade 1–5"),
        "serious": reader.yes_no("serious"),
        "serious_criteria": criteria,
        "expected": reader.yes_no("expected"),
        "relatedness": reader.text("relatedness"),
        "action_taken": reader.text("action_taken"),
        "outcome": reader.text("outcome"),
        "infusion_reaction": reader.checked("infusion_reaction"),
        "administration_id": reader.integer("administration_id", "one of the patient's doses"),
    }
    deadline = _deadline(payload) if not reader.problems else None
    if reader.text("action") == "check":
        problems = list(reader.problems)
        if not problems and deadline is None:
            try:
                parse_payload(AdverseEventIn, drop_empty(payload))
            except ValidationError as invalid:
                problems = list(invalid.problems)
        status = 422 if problems else 200
        return _event_page(
            request, actor, patient_id, reader.typed, criteria, problems, deadline, status
        )
    stored, problems = submit(
        reader, payload, AdverseEventIn, lambda p: report_adverse_event(db, actor, p)
    )
    if stored is not None:
        return patient_page(patient_id)
    return _event_page(request, actor, patient_id, reader.typed, criteria, problems, deadline, 422)


def _deadline(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Whether the event needs an expedited report, and by when if recorded today (or None)."""
    try:
        data = parse_payload(AdverseEventIn, drop_empty(payload))
    except ValidationError:
        return None
    days = expedited_report_days(data)
    if days is None:
        return {"days": None, "due": None, "serious": data.serious}
    today = date.today()
    flags = event_flags(data, today)
    due = next(due for kind, _, due in flags if kind is FlagKind.SERIOUS_ADVERSE_EVENT)
    return {"days": days, "due": due, "from": today, "serious": True}


def _event_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    typed: dict[str, str],
    criteria: list[str],
    problems: list[Problem],
    deadline: dict[str, Any] | None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "choices": entry_choices(request.app.state.db, actor, patient_id),
        "terms": _options(AeTerm),
        "grades": CTCAE_GRADES,
        "criteria_options": _options(SeriousCriterion),
        "criteria": criteria,
        "relatedness": _options(Relatedness),
        "outcomes": _options(AeOutcome),
        "deadline": deadline,
        "fatal_days": FATAL_OR_LIFE_THREATENING_DAYS,
        "other_days": OTHER_SERIOUS_DAYS,
    }
    return form_page(
        request,
        "entry/adverse_event.html",
        context,
        typed=typed,
        problems=problems,
        fields=tuple(AdverseEventIn.model_fields),
        status_code=status_code,
    )
