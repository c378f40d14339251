"""The patient page (record, status, flags, charts), its SVG charts, the mirror, and photos.

Every route here shows identified records (names, MRNs, photos): rule ``IDENTIFIED``. An unknown
patient, chart or photo is the services' :class:`~psotrack.errors.NotFound`, answered 404 by
:mod:`psotrack.web.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Final

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from psotrack.errors import NotFound, ValidationError
from psotrack.number_text import scientific
from psotrack.reports.document import ReportFormat, parse_generated_at
from psotrack.reports.figures import SCORES, course_chart, lab_chart, score_chart
from psotrack.reports.patient_report import patient_document
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.memo import Memo, database_token
from psotrack.services.mirror import MAX_VISITS, mirror
from psotrack.services.patient_charts import expected_course, lab_series, score_series
from psotrack.services.patient_overview import (
    SCORE_CHARTS,
    PatientOverview,
    overview_unless_kept,
)
from psotrack.services.patient_report import patient_report
from psotrack.services.photos import open_photo
from psotrack.store.vocabulary import Role
from psotrack.web import rules
from psotrack.web.downloads import report_response
from psotrack.web.middleware import SVG_CSP
from psotrack.web.params import WholeNumber
from psotrack.web.routing import Router
from psotrack.web.templating import offered, render, render_part

router = Router(include_in_schema=False)

#: The charts of a patient: a score's (``SCORES``), a lab's (this prefix and the analyte's
#: code) and the expected course.
LAB_PREFIX: Final = "lab-"
#: The patient page's content, without the page frame.
PAGE: Final = "patient_main.html"
COURSE: Final = "course"


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


#: Patient pages' content kept rendered by each process (about 18 kB for a patient with 7
#: visits and 39 scores: some 40 MB when full).
KEPT_PAGES: Final = 2048
#: Research id and rendered content (``patient_main.html``) of a patient's page, kept under
#: the database, the patient, their revision and what the page offers the reader's role (see
#: patient_page; roles offered the same actions share a page).
_PAGES: Final[Memo[tuple[str, Markup]]] = Memo(KEPT_PAGES)
#: The role whose pages :func:`keep_pages` renders: the clinicians, who read them most.
WARMED_ROLE: Final = Role.CLINICIAN


def _page_key(db: Database, patient_id: int, revision: int, role: Role) -> tuple[object, ...]:
    return (database_token(db.engine), patient_id, revision, offered(role))


def _kept_page(
    db: Database, patient_id: int, role: Role
) -> Callable[[int], tuple[str, Markup] | None]:
    """The look-up of the patient's page kept for ``role``, by the revision read."""
    return lambda revision: _PAGES.get(_page_key(db, patient_id, revision, role))


def _keep_page(db: Database, found: PatientOverview, role: Role) -> tuple[str, Markup]:
    """The research id and the rendered content of the page of ``found`` for ``role``, kept
    under the revision it was read at."""
    context = {
        "overview": found,
        "timeline": found.timeline,
        "status": found.status,
        "score_charts": [(name, SCORES[name].name) for name in SCORE_CHARTS],
        "lab_prefix": LAB_PREFIX,
        "scientific": scientific,
    }
    patient = found.timeline.patient
    page = (patient.research_id, render_part(PAGE, role, context))
    _PAGES.put(_page_key(db, patient.id, patient.revision, role), page)
    return page


def keep_pages(db: Database, patient_ids: Sequence[int], role: Role = WARMED_ROLE) -> int:
    """Render the page content of each of ``patient_ids`` (the first :data:`KEPT_PAGES`) for
    ``role`` and keep it, as a first view would; the number rendered.

    The web app calls it when a process starts, with the patients of the latest visits, so
    that their first views find their pages ready, as later views of a patient whose record
    has not changed do. Each page is read and rendered exactly as :func:`patient_page` does
    (the same function), read for the system actor (it reads identified records, as the page's
    readers do; nobody is shown anything here). A patient gone meanwhile, or whose record the
    endpoint engine refuses, is skipped: their view renders (or reports) it.
    """
    chosen = list(patient_ids)[:KEPT_PAGES]
    rendered = 0
    for patient_id in reversed(chosen):  # the latest visits last: the last dropped when full
        try:
            found = overview_unless_kept(db, SYSTEM, patient_id, _kept_page(db, patient_id, role))
            if isinstance(found, PatientOverview):
                _keep_page(db, found, role)
                rendered += 1
        except (NotFound, ValidationError):
            continue
    return rendered


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request, patient_id: WholeNumber, actor: Actor = Depends(rules.IDENTIFIED)
) -> Response:
    """The page's content is a function of the patient's record and of what the role may do,
    nothing else (no user, session or clock): it is kept under the patient's revision, which
    the database raises on any change to the record, read before the record itself. A kept
    page is therefore never older than the record it stands for; the service checks the actor
    and the patient on every request all the same."""
    db = _db(request)
    role = Role(actor.role)
    found = overview_unless_kept(db, actor, patient_id, _kept_page(db, patient_id, role))
    kept = _keep_page(db, found, role) if isinstance(found, PatientOverview) else found
    research_id, main = kept
    return render(request, "patient.html", {"research_id": research_id, "main": main})


@router.get("/patients/{patient_id}/charts/{chart}.svg")
def patient_chart(
    request: Request,
    patient_id: WholeNumber,
    chart: Annotated[str, Path(max_length=60)],
    actor: Actor = Depends(rules.IDENTIFIED),
) -> Response:
    db = _db(request)
    if chart in SCORES:
        series = score_series(db, actor, patient_id)
        svg = score_chart(series.scores, chart, baseline_pasi=series.baseline_pasi)
    elif chart.startswith(LAB_PREFIX):
        lab = lab_series(db, actor, patient_id, chart.removeprefix(LAB_PREFIX))
        svg = lab_chart(lab.results, name=lab.name, unit=lab.unit)
    elif chart == COURSE:
        course = expected_course(db, actor, patient_id)
        forecast = course.forecast
        if forecast is None:
            reading, warning = f"No expected course: {course.reason}.", None
        else:
            reading, warning = forecast.reading, forecast.warning
            if course.irregular:
                reading += "; the intervals between doses were averaged"
            reading += f". Schedule: {course.schedule}."
        expected = forecast.expected_course if forecast is not None else None
        svg = course_chart(course.measured, expected, reading=reading, warning=warning)
    else:
        raise NotFound(f"no chart {chart}")
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": SVG_CSP})


@router.get("/patients/{patient_id}/report.html")
def patient_report_html(
    request: Request, patient_id: WholeNumber, actor: Actor = Depends(rules.IDENTIFIED)
) -> Response:
    return _patient_report(request, patient_id, actor, ReportFormat.HTML)


@router.get("/patients/{patient_id}/report.pdf")
def patient_report_pdf(
    request: Request, patient_id: WholeNumber, actor: Actor = Depends(rules.IDENTIFIED)
) -> Response:
    return _patient_report(request, patient_id, actor, ReportFormat.PDF)


def _patient_report(request: Request, patient_id: int, actor: Actor, fmt: ReportFormat) -> Response:
    report = patient_report(_db(request), actor, patient_id)
    content = patient_document(report, fmt, generated_at=parse_generated_at(None))
    research_id = report.overview.timeline.patient.research_id
    return report_response(content, fmt, f"progress-report-{research_id}")


@router.get("/patients/{patient_id}/mirror", response_class=HTMLResponse)
def patient_mirror(
    request: Request,
    patient_id: WholeNumber,
    site: Annotated[str | None, Query(max_length=80)] = None,
    visit: Annotated[list[WholeNumber] | None, Query(max_length=MAX_VISITS * 4)] = None,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> Response:
    db = _db(request)
    try:
        shown = mirror(db, actor, patient_id, site, visit or [])
    except ValidationError as refused:
        context = {
            "mirror": mirror(db, actor, patient_id, None, []),
            "problems": [str(p) for p in refused.problems],
            "patient_id": patient_id,
            "max_visits": MAX_VISITS,
        }
        return render(request, "mirror.html", context, status_code=422)
    context = {"mirror": shown, "patient_id": patient_id, "max_visits": MAX_VISITS}
    return render(request, "mirror.html", context)


@router.get("/photos/{photo_id}")
def photo(
    request: Request, photo_id: WholeNumber, actor: Actor = Depends(rules.IDENTIFIED)
) -> Response:
    stored = open_photo(_db(request), actor, photo_id)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": "inline"}
    return Response(stored.content, media_type=stored.media_type, headers=headers)
