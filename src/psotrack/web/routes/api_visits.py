"""``/api/v1`` visits: one patient's visits (with study days), and recording a visit."""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Request

from psotrack.services.context import Actor
from psotrack.services.patients import VisitIn, record_visit
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import VisitType
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import ERRORS, WRITE_ERRORS, ApiModel, Created, PageOut, page_of

router = Router(prefix="/api/v1", tags=["visits"], dependencies=[Depends(bearer)])


class VisitOut(ApiModel):
    id: int
    patient_id: int
    visit_date: date
    visit_type: VisitType
    label: str
    #: Days from day 0 (the first cell-therapy administration; else the first enrollment).
    study_day: int | None


@router.get("/patients/{patient_id}/visits", response_model=PageOut[VisitOut], responses=ERRORS)
def list_visits(
    request: Request,
    patient_id: PatientId,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[VisitOut]:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    rows = [
        {
            "id": v.id,
            "patient_id": v.patient_id,
            "visit_date": v.visit_date,
            "visit_type": v.visit_type,
            "label": v.label,
            "study_day": timeline.study_day(v),
        }
        for v in timeline.visits
    ]
    return page_of(VisitOut, rows, page, page_size)


@router.post("/visits", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def add_visit(
    request: Request, visit: VisitIn, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Created:
    return Created(id=record_visit(request.app.state.db, actor, visit))
