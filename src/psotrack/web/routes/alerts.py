"""The alerts page: open safety flags across the program, oldest deadline first; acknowledge, close.

Researchers see each flag's coded message and the research id only (the service gives nothing
else to a role without identified access); the care team acknowledges and closes (audited).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from psotrack.services.context import Actor
from psotrack.services.flags import acknowledge_alert, close_alert, list_alerts
from psotrack.services.payloads import MAX_ID
from psotrack.store.vocabulary import Role
from psotrack.web import rules
from psotrack.web.params import WholeNumber
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.templating import render

router = Router(include_in_schema=False)

FlagId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="the alert's id")]


@router.get("/alerts", response_class=HTMLResponse)
@reads_many_patients
def alerts(request: Request, actor: Actor = Depends(rules.RESEARCH)) -> Response:
    found = list_alerts(request.app.state.db, actor, include_acknowledged=True, order="deadline")
    role = Role(actor.role)
    context = {
        "open": [a for a in found if not a.acknowledged],
        "in_hand": [a for a in found if a.acknowledged],
        "can_act": rules.ACKNOWLEDGE_ALERTS.allows(role),
        "identified": rules.IDENTIFIED.allows(role),
        "today": date.today(),
    }
    return render(request, "alerts.html", context)


@router.post("/alerts/{flag_id}/acknowledge")
def acknowledge(
    request: Request,
    flag_id: FlagId,
    note: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(rules.ACKNOWLEDGE_ALERTS),
) -> Response:
    acknowledge_alert(request.app.state.db, actor, flag_id, note)
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{flag_id}/close")
def close(
    request: Request,
    flag_id: FlagId,
    reason: Annotated[str, Form(max_length=1000)],
    actor: Actor = Depends(rules.ACKNOWLEDGE_ALERTS),
) -> Response:
    close_alert(request.app.state.db, actor, flag_id, reason)
    return RedirectResponse("/alerts", status_code=303)
