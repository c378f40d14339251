"""``/api/v1/alerts``: open safety flags across the program, and those of one patient.

A researcher reads the program's list with coded messages and research ids; the list of one
patient is keyed by the internal id, so it is for the care team only.
"""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Request

from psotrack.services.context import Actor
from psotrack.services.flags import list_alerts
from psotrack.store.vocabulary import FlagKind
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.schemas import ERRORS, ApiModel, Moment, PageOut, page_of

router = Router(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(bearer)])


class AlertOut(ApiModel):
    id: int
    #: Internal patient id; null for a role without access to identified records.
    patient_id: int | None
    research_id: str
    kind: FlagKind
    message: str
    #: The record that raised the flag (table and id).
    entity: str
    entity_id: int
    raised_at: Moment
    #: The expedited-report deadline, when the flag starts one.
    due_date: date | None
    acknowledged: bool


@router.get("/alerts", response_model=PageOut[AlertOut], responses=ERRORS)
@reads_many_patients
def alerts(
    request: Request,
    include_acknowledged: bool = False,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.RESEARCH),
) -> PageOut[AlertOut]:
    found = list_alerts(request.app.state.db, actor, include_acknowledged=include_acknowledged)
    return page_of(AlertOut, found, page, page_size)


@router.get("/patients/{patient_id}/alerts", response_model=PageOut[AlertOut], responses=ERRORS)
def patient_alerts(
    request: Request,
    patient_id: PatientId,
    include_acknowledged: bool = False,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[AlertOut]:
    found = list_alerts(
        request.app.state.db,
        actor,
        include_acknowledged=include_acknowledged,
        patient_id=patient_id,
    )
    return page_of(AlertOut, found, page, page_size)
