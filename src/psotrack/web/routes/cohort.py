"""The cohort dashboard (``/cohort``) and its charts as SVG (coded fields and research ids only).

Each chart route sets its own Content-Security-Policy: matplotlib's SVG carries inline styles,
and nothing else may load or run in it. The cohort report (``/cohort/report.html`` and
``.pdf``, the document ``psotrack report cohort`` writes) gets its own as well: inline styles and
``data:`` images (its charts), nothing else; the PDF comes as an attachment.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from psotrack.endpoints.rates import MissingRule
from psotrack.reports.cohort_figures import (
    adverse_events_svg,
    responder_rates_svg,
    waterfall_svg,
)
from psotrack.reports.cohort_report import cohort_document
from psotrack.reports.document import ReportFormat
from psotrack.services.cohort_report import cohort_report
from psotrack.services.context import Actor
from psotrack.services.dashboard import (
    adverse_event_grades,
    best_pasi_change,
    cohort_dashboard,
    labelled_rates,
)
from psotrack.web import rules
from psotrack.web.middleware import REPORT_CSP, SVG_CSP
from psotrack.web.params import WholeNumber
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.templating import render

router = Router(include_in_schema=False)

Program = Annotated[WholeNumber | None, Query(ge=1, description="a program's id (default: all)")]
Threshold = Annotated[
    WholeNumber, Query(ge=1, le=100, description="PASI improvement threshold, % (1–100)")
]
Missing = Annotated[MissingRule, Query(description="missing-data rule: nri, observed or locf")]


def svg_response(svg: str) -> Response:
    return Response(svg, media_type="image/svg+xml", headers={"Content-Security-Policy": SVG_CSP})


@router.get("/cohort", response_class=HTMLResponse)
@reads_many_patients
def cohort_page(
    request: Request,
    threshold: Threshold = 75,
    missing: Missing = "nri",
    actor: Actor = Depends(rules.RESEARCH),
) -> Response:
    dashboard = cohort_dashboard(request.app.state.db, actor, threshold, missing)
    context = {
        "d": dashboard,
        "threshold": threshold,
        "missing": missing,
        "rates": dashboard.rates.rates.to_dicts(),
        "published": dashboard.evidence.rows.to_dicts(),
        "studies": dashboard.evidence.rows.unique("study_id", maintain_order=True).to_dicts(),
        "grades": dashboard.adverse_events.to_dicts(),
        "biomarkers": [
            (section, section.change.summary().to_dicts()) for section in dashboard.biomarkers
        ],
    }
    return render(request, "cohort.html", context)


@router.get("/cohort/rates.svg")
@reads_many_patients
def rates_chart(
    request: Request,
    threshold: Threshold = 75,
    missing: Missing = "nri",
    actor: Actor = Depends(rules.RESEARCH),
) -> Response:
    found = labelled_rates(request.app.state.db, actor, threshold, missing)
    title = f"PASI {threshold} responders by visit ({missing})"
    svg = responder_rates_svg(found.rates.rates, title, note=found.synthetic_label)
    return svg_response(svg)


@router.get("/cohort/waterfall.svg")
@reads_many_patients
def waterfall_chart(request: Request, actor: Actor = Depends(rules.RESEARCH)) -> Response:
    found = best_pasi_change(request.app.state.db, actor)
    best = found.waterfall["best_pchg"].to_list()
    return svg_response(waterfall_svg(best, note=found.synthetic_label))


@router.get("/cohort/adverse-events.svg")
@reads_many_patients
def adverse_events_chart(request: Request, actor: Actor = Depends(rules.RESEARCH)) -> Response:
    found = adverse_event_grades(request.app.state.db, actor)
    return svg_response(adverse_events_svg(found.by_grade, note=found.synthetic_label))


def _report(request: Request, actor: Actor, program: int | None, fmt: ReportFormat) -> bytes:
    from datetime import UTC, datetime

    report = cohort_report(request.app.state.db, actor, program)
    generated_at = datetime.now(UTC).replace(microsecond=0)
    return cohort_document(report, fmt, generated_at=generated_at)


@router.get("/cohort/report.html")
@reads_many_patients
def cohort_report_html(
    request: Request, program: Program = None, actor: Actor = Depends(rules.RESEARCH)
) -> Response:
    html = _report(request, actor, program, ReportFormat.HTML)
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/cohort/report.pdf")
@reads_many_patients
def cohort_report_pdf(
    request: Request, program: Program = None, actor: Actor = Depends(rules.RESEARCH)
) -> Response:
    pdf = _report(request, actor, program, ReportFormat.PDF)
    headers = {
        "Content-Security-Policy": REPORT_CSP,
        "Content-Disposition": 'attachment; filename="cohort-report.pdf"',
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
