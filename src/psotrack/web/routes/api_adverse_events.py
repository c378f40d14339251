"""``/api/v1`` adverse events: one patient's events, and reporting one (its flags raised)."""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Request

from psotrack.services.adverse_events import AdverseEventIn, report_adverse_event
from psotrack.services.context import Actor
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import AeOutcome, AeTerm, Relatedness, SeriousCriterion
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import ERRORS, WRITE_ERRORS, ApiModel, Created, PageOut, page_of

router = Router(prefix="/api/v1", tags=["adverse events"], dependencies=[Depends(bearer)])


class AdverseEventOut(ApiModel):
    id: int
    patient_id: int
    term: AeTerm
    verbatim_term: str | None
    onset_date: date
    resolution_date: date | None
    #: CTCAE grade 1–5, of ``ctcae_version``.
    grade: int
    ctcae_version: str
    serious: bool
    serious_criteria: list[SeriousCriterion]
    expected: bool | None
    relatedness: Relatedness
    action_taken: str | None
    outcome: AeOutcome
    infusion_reaction: bool
    administration_id: int | None


@router.get(
    "/patients/{patient_id}/adverse-events",
    response_model=PageOut[AdverseEventOut],
    responses=ERRORS,
)
def list_adverse_events(
    request: Request,
    patient_id: PatientId,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[AdverseEventOut]:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    return page_of(AdverseEventOut, timeline.adverse_events, page, page_size)


@router.post("/adverse-events", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def add_adverse_event(
    request: Request, event: AdverseEventIn, actor: Actor = Depends(rules.ADVERSE_EVENT)
) -> Created:
    return Created(id=report_adverse_event(request.app.state.db, actor, event))
