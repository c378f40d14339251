"""Assessment entry: one instrument's form for one of the patient's visits, scored on the server.

``GET /patients/{id}/assessments/new?instrument=pasi`` shows the form; while the assessor types,
``static/entry.js`` asks ``POST /api/v1/score/{instrument}`` for the score and its parts (the
server is the only place a score is computed). ``POST`` to the same address records it with
:func:`psotrack.services.assessments.record_assessment`; on any problem nothing is stored and
the form comes back (422) with each problem beside its field and every value as typed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from psotrack.errors import Problem, ValidationError
from psotrack.services.assessments import AssessmentIn, record_assessment
from psotrack.services.context import Actor
from psotrack.services.entry_choices import EntryChoices, entry_choices
from psotrack.services.payloads import parse_payload
from psotrack.services.scoring import score_responses
from psotrack.store.vocabulary import Instrument
from psotrack.web import rules
from psotrack.web.assessment_forms import RESPONSES, TITLES, fields, page_facts, read_responses
from psotrack.web.entry import PatientId, form_data, form_page, patient_page
from psotrack.web.forms import FormReader, other_problems, payload_problems
from psotrack.web.params import WholeNumber
from psotrack.web.routing import Router

router = Router(include_in_schema=False)

VisitChoice = Annotated[WholeNumber | None, Query(ge=1, description="the visit to preselect")]


@router.get("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def assessment_form(
    request: Request,
    patient_id: PatientId,
    instrument: Instrument = Instrument.PASI,
    visit_id: VisitChoice = None,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
) -> Response:
    choices = entry_choices(request.app.state.db, actor, patient_id)
    typed = {"visit_id": str(visit_id or ""), "assessed_by_me": "yes"}
    return _page(request, choices, instrument, typed, [])


@router.post("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def assessment_record(
    request: Request,
    patient_id: PatientId,
    instrument: Instrument = Instrument.PASI,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
    form: FormData = Depends(form_data),
) -> Response:
    db = request.app.state.db
    reader = FormReader(form, prefix=RESPONSES)
    responses = read_responses(instrument, reader)
    visit = FormReader(form)
    visit_id = visit.integer("visit_id", "one of the patient's visits")
    if visit_id is None:
        # Checked here so that the responses are checked too (the service stops at the visit).
        visit.problems.append(Problem("visit_id", None, "one of the patient's visits", "missing"))
    payload: dict[str, Any] = {
        "patient_id": patient_id,
        "visit_id": visit_id,
        "instrument": instrument,
        "responses": responses,
    }
    if visit.checked("assessed_by_me"):
        payload["assessor_id"] = actor.user_id
    payload = {key: value for key, value in payload.items() if value is not None}
    refused = [*visit.problems, *reader.problems]
    if refused:
        # Something typed is not a number: store nothing, and name every other problem too.
        others = payload_problems(lambda: parse_payload(AssessmentIn, payload))
        others += payload_problems(lambda: score_responses(instrument, responses))
        problems = [*refused, *other_problems(others, refused)]
    else:
        try:
            record_assessment(db, actor, payload)
        except ValidationError as invalid:
            problems = list(invalid.problems)
        else:
            return patient_page(patient_id)
    choices = entry_choices(db, actor, patient_id)
    return _page(request, choices, instrument, reader.typed, problems, status_code=422)


def _page(
    request: Request,
    choices: EntryChoices,
    instrument: Instrument,
    typed: dict[str, str],
    problems: list[Problem],
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "choices": choices,
        "instrument": instrument.value,
        "title": TITLES[instrument],
        "instruments": [(i.value, TITLES[i].split(" — ")[0]) for i in TITLES],
        **page_facts(instrument),
    }
    # Problems of the responses are named "responses.<field>", the visit's "visit_id".
    return form_page(
        request,
        "entry/assessment.html",
        context,
        typed=typed,
        problems=problems,
        fields=(*fields(instrument), "visit_id"),
        prefix=RESPONSES,
        status_code=status_code,
    )
