"""A record's audit history, and correcting or deleting a recorded value with a required reason.

``GET /history/{table}/{row_id}`` lists who changed what, when, old → new and why
(:func:`psotrack.services.history.record_history`). ``/records/{table}/{row_id}/correct`` shows
each field open to correction with its current value; posting a field, its new value and a
reason calls :func:`~psotrack.services.corrections.correct_value`, and ``…/delete`` with a reason
calls :func:`~psotrack.services.corrections.delete_record`. Both then show the history.
"""

from __future__ import annotations

import types
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.number_text import parse_decimal, parse_integer
from psotrack.services.context import Actor, Permission
from psotrack.services.corrections import CORRECTABLE, correct_value, delete_record
from psotrack.services.history import RecordHistory, record_history
from psotrack.web import rules
from psotrack.web.entry import RowId, form_data, form_page
from psotrack.web.forms import DECIMAL, WHOLE, FormReader, Refusal
from psotrack.web.routing import Router

router = Router(include_in_schema=False)

Table = Annotated[str, Path(max_length=40, description="a table of the clinical record")]


@router.get("/history/{table}/{row_id}", response_class=HTMLResponse)
def history(
    request: Request, table: Table, row_id: RowId, actor: Actor = Depends(rules.IDENTIFIED)
) -> Response:
    found = record_history(request.app.state.db, actor, table, row_id)
    context = {"history": found, "may_correct": actor.may(Permission.CORRECT)}
    return form_page(request, "entry/history.html", context)


@router.get("/records/{table}/{row_id}/correct", response_class=HTMLResponse)
def correction_form(
    request: Request, table: Table, row_id: RowId, actor: Actor = Depends(rules.CORRECT)
) -> Response:
    found = record_history(request.app.state.db, actor, table, row_id)
    return _correction_page(request, found, "", {}, [])


@router.post("/records/{table}/{row_id}/correct", response_class=HTMLResponse)
def correction_record(
    request: Request,
    table: Table,
    row_id: RowId,
    actor: Actor = Depends(rules.CORRECT),
    form: FormData = Depends(form_data),
) -> Response:
    db = request.app.state.db
    reader = FormReader(form)
    field = reader.text("field") or ""
    reason = reader.text("reason") or ""
    value, problem = correction_value(table, field, reader.text("value"))
    problems = [problem] if problem is not None else []
    if not problems:
        try:
            correct_value(db, actor, table, row_id, field, value, reason)
        except ValidationError as invalid:
            problems = list(invalid.problems)
        except Conflict as clash:  # e.g. a visit label the patient already has
            problems = [Refusal(str(clash))]
        else:
            return RedirectResponse(f"/history/{table}/{row_id}", status_code=303)
    found = record_history(db, actor, table, row_id)
    return _correction_page(request, found, field, reader.typed, problems, 422)


@router.post("/records/{table}/{row_id}/delete", response_class=HTMLResponse)
def deletion_record(
    request: Request,
    table: Table,
    row_id: RowId,
    actor: Actor = Depends(rules.CORRECT),
    form: FormData = Depends(form_data),
) -> Response:
    db = request.app.state.db
    reader = FormReader(form)
    try:
        delete_record(db, actor, table, row_id, reader.text("delete_reason") or "")
    except ValidationError as invalid:
        problems = [_renamed(p, "reason", "delete_reason") for p in invalid.problems]
        found = record_history(db, actor, table, row_id)
        return _correction_page(request, found, "", reader.typed, problems, 422)
    return RedirectResponse(f"/history/{table}/{row_id}", status_code=303)


def _renamed(problem: Problem, old: str, new: str) -> Problem:
    if problem.field != old:
        return problem
    return Problem(new, problem.value, problem.allowed, problem.kind, problem.row)


def _correction_page(
    request: Request,
    found: RecordHistory,
    active: str,
    typed: dict[str, str],
    problems: list[Problem],
    status_code: int = 200,
) -> HTMLResponse:
    rows = [(name, current, _choices(found.table, name)) for name, current in found.current.items()]
    context = {"history": found, "rows": rows, "active": active}
    return form_page(
        request,
        "entry/correct.html",
        context,
        typed=typed,
        problems=problems,
        fields=(*found.current, "reason", "delete_reason"),
        status_code=status_code,
    )


# --- reading a corrected value -----------------------------------------------------------------


def correction_value(table: str, field: str, text: str | None) -> tuple[Any, Problem | None]:
    """The typed text as the value the field takes (a number by the number grammar); a blank
    clears the field. The service checks the value by the field's own rule.
    """
    if text is None:
        return None, None
    kind = _field_type(table, field)
    if kind is int:
        number = parse_integer(text)
        return number, None if number is not None else Problem(field, text, WHOLE, "type")
    if kind is float:
        exact = parse_decimal(text)
        value = None if exact is None else float(exact)
        return value, None if exact is not None else Problem(field, text, DECIMAL, "type")
    return text, None


def _field_type(table: str, field: str) -> type | None:
    entry = CORRECTABLE.get(table)
    if entry is None or field not in entry.fields:
        return None  # the service names the table or field that may not be corrected
    return _base_type(entry.form.model_fields[field].annotation)


def _base_type(annotation: Any) -> type | None:
    """The type under Optional[...] and Annotated[...]: int, float, an Enum, str, date …"""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _base_type(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        kinds = [_base_type(a) for a in get_args(annotation) if a is not type(None)]
        return kinds[0] if kinds else None
    return annotation if isinstance(annotation, type) else None


def _choices(table: str, field: str) -> list[str]:
    """The allowed values of a coded field (an enum), else none (free input)."""
    kind = _field_type(table, field)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return [str(member.value) for member in kind]
    return []
