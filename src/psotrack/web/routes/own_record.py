"""The patient's own pages: their record read-only (``/me``), their own progress report (HTML or
PDF), their DLQI and itch entry forms.

The patient is the one linked to the signed-in account (:mod:`psotrack.services.own_record`
reads it from the database); no page takes a patient id from the request.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from psotrack.errors import NotFound, Problem, ValidationError
from psotrack.instruments.dlqi import COPYRIGHT, ITEM_LABELS, DlqiAnswer, Q7Answer
from psotrack.number_text import parse_integer
from psotrack.reports.document import ReportFormat, parse_generated_at
from psotrack.reports.patient_report import patient_document
from psotrack.services.context import Actor
from psotrack.services.own_record import own_record, record_own_outcome
from psotrack.services.own_report import own_report
from psotrack.web import rules
from psotrack.web.downloads import report_response
from psotrack.web.routing import Router
from psotrack.web.templating import render

router = Router(include_in_schema=False)

#: The answers offered for each DLQI item ("not relevant" only for items 3–10, as scored).
_ANSWERS: Final = [a.value for a in DlqiAnswer if a is not DlqiAnswer.NOT_RELEVANT]
DLQI_CHOICES: Final = {
    n: (
        [a.value for a in Q7Answer if a is not Q7Answer.NO_FOLLOW_UP_BLANK]
        if n == 7
        else _ANSWERS + ([DlqiAnswer.NOT_RELEVANT.value] if n >= 3 else [])
    )
    for n in ITEM_LABELS
}
FORMS: Final = {"dlqi": "own_dlqi.html", "itch_nrs": "own_itch.html"}


@router.get("/me", response_class=HTMLResponse)
def my_record(
    request: Request, saved: str = "", actor: Actor = Depends(rules.OWN_RECORD)
) -> Response:
    record = own_record(request.app.state.db, actor)
    saved_text = {"dlqi": "Your DLQI was saved.", "itch_nrs": "Your itch score was saved."}
    return render(
        request,
        "me.html",
        {"record": record, "scores": record.scores.to_dicts(), "saved": saved_text.get(saved)},
    )


@router.get("/me/report.html")
def my_report_html(request: Request, actor: Actor = Depends(rules.OWN_RECORD)) -> Response:
    return _my_report(request, actor, ReportFormat.HTML)


@router.get("/me/report.pdf")
def my_report_pdf(request: Request, actor: Actor = Depends(rules.OWN_RECORD)) -> Response:
    return _my_report(request, actor, ReportFormat.PDF)


def _my_report(request: Request, actor: Actor, fmt: ReportFormat) -> Response:
    """The patient's own progress report (their copy: :mod:`psotrack.services.own_report`)."""
    report = own_report(request.app.state.db, actor)
    content = patient_document(report, fmt, generated_at=parse_generated_at(None))
    research_id = report.overview.timeline.patient.research_id
    return report_response(content, fmt, f"progress-report-{research_id}")


@router.get("/me/dlqi", response_class=HTMLResponse)
def dlqi_form(request: Request, actor: Actor = Depends(rules.OWN_OUTCOMES)) -> Response:
    return _form(request, actor, "dlqi", {}, [])


@router.get("/me/itch", response_class=HTMLResponse)
def itch_form(request: Request, actor: Actor = Depends(rules.OWN_OUTCOMES)) -> Response:
    return _form(request, actor, "itch_nrs", {}, [])


FIELD = Annotated[str, Form(max_length=40)]


@router.post("/me/dlqi", response_class=HTMLResponse)
def dlqi_save(
    request: Request,
    visit_id: FIELD = "",
    q1: FIELD = "",
    q2: FIELD = "",
    q3: FIELD = "",
    q4: FIELD = "",
    q5: FIELD = "",
    q6: FIELD = "",
    q7: FIELD = "",
    q8: FIELD = "",
    q9: FIELD = "",
    q10: FIELD = "",
    actor: Actor = Depends(rules.OWN_OUTCOMES),
) -> Response:
    answers = [q1, q2, q3, q4, q5, q6, q7, q8, q9, q10]
    typed = {"visit_id": visit_id, **{f"q{n}": a for n, a in enumerate(answers, start=1)}}
    responses: dict[str, Any] = {f"q{n}": a or None for n, a in enumerate(answers, start=1)}
    return _save(request, actor, "dlqi", typed, responses, [])


@router.post("/me/itch", response_class=HTMLResponse)
def itch_save(
    request: Request,
    visit_id: FIELD = "",
    score: FIELD = "",
    actor: Actor = Depends(rules.OWN_OUTCOMES),
) -> Response:
    typed = {"visit_id": visit_id, "score": score}
    problems = []
    value = parse_integer(score) if score else None
    if value is None:
        allowed = "a whole number 0–10 (worst itch in the last 24 hours)"
        problems.append(Problem("score", score or None, allowed, "invalid" if score else "missing"))
    return _save(request, actor, "itch_nrs", typed, {"score": value}, problems)


def _save(
    request: Request,
    actor: Actor,
    instrument: str,
    typed: dict[str, str],
    responses: dict[str, Any],
    problems: list[Problem],
) -> Response:
    """Store the entry (one service call), or show the form again with the problems (422)."""
    visit = parse_integer(typed["visit_id"]) if typed["visit_id"] else None
    if visit is None or visit < 1:
        given = typed["visit_id"]
        problem = Problem("visit_id", given, "one of your visits", "invalid")
        if not given:
            problem = Problem("visit_id", None, "one of your visits", "missing")
        problems.insert(0, problem)
    if problems or visit is None:
        return _form(request, actor, instrument, typed, problems, 422)
    try:
        record_own_outcome(request.app.state.db, actor, visit, instrument, responses)
    except ValidationError as refused:
        return _form(request, actor, instrument, typed, list(refused.problems), 422)
    except NotFound:
        found = [Problem("visit_id", typed["visit_id"], "one of your visits", "invalid")]
        return _form(request, actor, instrument, typed, found, 422)
    return RedirectResponse(f"/me?saved={instrument}", status_code=303)


def _form(
    request: Request,
    actor: Actor,
    instrument: str,
    typed: dict[str, str],
    problems: list[Problem],
    status_code: int = 200,
) -> Response:
    record = own_record(request.app.state.db, actor)
    default = record.entry_visit(date.today())
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        name = problem.field.removeprefix("responses.")
        by_field.setdefault(name, []).append(str(problem))
    context = {
        "record": record,
        "typed": typed,
        "chosen_visit": typed.get("visit_id") or (str(default.id) if default else ""),
        "problems": [str(p) for p in problems],
        "field_problems": by_field,
        "items": ITEM_LABELS,
        "choices": DLQI_CHOICES,
        "copyright": COPYRIGHT,
    }
    return render(request, FORMS[instrument], context, status_code)
