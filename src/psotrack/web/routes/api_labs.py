"""``/api/v1`` labs: one patient's lab results, and recording one (analyte, value, unit)."""

from __future__ import annotations

from fastapi import Depends, Request

from psotrack.services.context import Actor
from psotrack.services.labs import LabResultIn, record_lab_result
from psotrack.services.timeline import load_timeline
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import ERRORS, WRITE_ERRORS, ApiModel, Created, Moment, PageOut, page_of

router = Router(prefix="/api/v1", tags=["labs"], dependencies=[Depends(bearer)])


class LabResultOut(ApiModel):
    id: int
    patient_id: int
    visit_id: int | None
    analyte: str
    value: float
    #: The UCUM unit of ``value`` and of the reference limits.
    unit: str
    reference_low: float | None
    reference_high: float | None
    sampled_at: Moment


@router.get("/patients/{patient_id}/labs", response_model=PageOut[LabResultOut], responses=ERRORS)
def list_labs(
    request: Request,
    patient_id: PatientId,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[LabResultOut]:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    return page_of(LabResultOut, timeline.labs, page, page_size)


@router.post("/labs", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def add_lab(
    request: Request, lab: LabResultIn, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Created:
    return Created(id=record_lab_result(request.app.state.db, actor, lab))
