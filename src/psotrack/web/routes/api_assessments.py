"""``/api/v1`` assessments: one patient's scored assessments, and recording one.

The body of ``POST /api/v1/assessments`` carries the responses JSON of
:func:`psotrack.services.scoring.score_responses`; the score is computed by the service, never
taken from the client.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Depends, Request

from psotrack.services.assessments import AssessmentIn, list_assessments, record_assessment
from psotrack.services.context import Actor
from psotrack.store.vocabulary import Instrument, VisitType
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import ERRORS, WRITE_ERRORS, ApiModel, Created, Moment, PageOut, page_of

router = Router(prefix="/api/v1", tags=["assessments"], dependencies=[Depends(bearer)])


class AssessmentOut(ApiModel):
    id: int
    patient_id: int
    visit_id: int
    visit_date: date
    visit_type: VisitType
    visit_label: str | None
    instrument: Instrument
    #: The exact score as decimal text ("10.0"); null when the responses cannot be scored.
    score: str | None
    responses: dict[str, Any]
    assessor_id: int | None
    recorded_at: Moment


@router.get(
    "/patients/{patient_id}/assessments",
    response_model=PageOut[AssessmentOut],
    responses=ERRORS,
)
def list_patient_assessments(
    request: Request,
    patient_id: PatientId,
    instrument: Instrument | None = None,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[AssessmentOut]:
    found = list_assessments(request.app.state.db, actor, patient_id, instrument)
    return page_of(AssessmentOut, found, page, page_size)


@router.post("/assessments", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def add_assessment(
    request: Request, assessment: AssessmentIn, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Created:
    return Created(id=record_assessment(request.app.state.db, actor, assessment))
