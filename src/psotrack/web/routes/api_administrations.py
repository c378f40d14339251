"""``/api/v1`` administrations: one patient's cell-therapy administrations, and logging one."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from psotrack.services.administrations import AdministrationIn, log_administration
from psotrack.services.context import Actor
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import ProductSource, Route
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import ERRORS, WRITE_ERRORS, ApiModel, Created, Moment, PageOut, page_of

router = Router(prefix="/api/v1", tags=["administrations"], dependencies=[Depends(bearer)])


class AdministrationOut(ApiModel):
    id: int
    patient_id: int
    visit_id: int | None
    product_source: ProductSource
    manufacturer: str
    lot: str
    passage: int | None
    cryopreserved: bool
    total_cells: int
    body_weight_kg: float
    cells_per_kg: float
    viability_pct: float
    route: Route
    volume_ml: float | None
    rate_ml_per_h: float | None
    started_at: Moment
    stopped_at: Moment | None
    premedication: str | None
    operator_id: int | None
    vitals_before: dict[str, Any] | None
    vitals_after: dict[str, Any] | None


@router.get(
    "/patients/{patient_id}/administrations",
    response_model=PageOut[AdministrationOut],
    responses=ERRORS,
)
def list_administrations(
    request: Request,
    patient_id: PatientId,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[AdministrationOut]:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    return page_of(AdministrationOut, timeline.administrations, page, page_size)


@router.post("/administrations", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def add_administration(
    request: Request,
    administration: AdministrationIn,
    actor: Actor = Depends(rules.ADMINISTRATION),
) -> Created:
    return Created(id=log_administration(request.app.state.db, actor, administration))
