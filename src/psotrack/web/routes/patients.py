"""The patient list: search by name, MRN or research id; sortable; paginated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from psotrack.errors import ValidationError
from psotrack.services.context import Actor
from psotrack.services.search import SORT_KEYS, search_patients
from psotrack.store.vocabulary import EnrollmentStatus
from psotrack.web import rules
from psotrack.web.params import Page, PageSize
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.templating import render

router = Router(include_in_schema=False)


@router.get("/patients", response_class=HTMLResponse)
@reads_many_patients
def patient_list(
    request: Request,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "last_visit",
    desc: bool = True,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> Response:
    db = request.app.state.db
    context: dict[str, Any] = {
        "q": q,
        "status": status,
        "sort": sort,
        "desc": desc,
        "sort_keys": SORT_KEYS,
        "statuses": [s.value for s in EnrollmentStatus],
    }
    try:
        found = search_patients(db, actor, q, None, status or None, sort, desc, page, page_size)
    except ValidationError as refused:
        context["problems"] = [str(p) for p in refused.problems]
        return render(request, "patients.html", context, status_code=422)
    context["found"] = found
    return render(request, "patients.html", context)
