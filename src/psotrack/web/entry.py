"""What every data-entry page shares: the submitted form as a dependency, id path parameters,
and rendering a form again with its problems next to its fields and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.services.payloads import MAX_ID, Payload, parse_payload
from psotrack.web.forms import (
    FormReader,
    Refusal,
    drop_empty,
    other_problems,
    payload_problems,
    place,
)
from psotrack.web.params import WholeNumber
from psotrack.web.templating import render

PatientId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="a patient id")]
_T = TypeVar("_T")

RowId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="a record id")]


async def form_data(request: Request) -> FormData:
    """The submitted form (urlencoded or multipart), read once (the CSRF check may have read it)."""
    return await request.form()


def patient_page(patient_id: int) -> RedirectResponse:
    """Where a saved entry goes: the patient's page (303, so a reload does not post again)."""
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


def form_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    typed: dict[str, Any] | None = None,
    problems: Iterable[Problem] = (),
    fields: Iterable[str] = (),
    prefix: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` with the typed values, each problem beside its field, the rest on top."""
    placed = place(problems, fields, prefix)
    page = {
        "typed": typed or {},
        "errors": placed.by_field,
        "general_problems": placed.general,
        "problem_count": placed.count,
        **context,
    }
    return render(request, template, page, status_code=status_code)


def submit(
    reader: FormReader,
    payload: dict[str, Any],
    model: type[Payload],
    store: Callable[[dict[str, Any]], _T],
) -> tuple[_T | None, list[Problem]]:
    """Store ``payload`` with ``store`` (one service call), or the problems and nothing stored.

    A field the reader could not read is left out of the payload; then nothing is stored and
    the payload is only checked against the service's form ``model``, so that every other
    problem is named too.
    """
    payload = drop_empty(payload)
    if reader.problems:
        others = payload_problems(lambda: parse_payload(model, payload))
        return None, [*reader.problems, *other_problems(others, reader.problems)]
    try:
        return store(payload), []
    except ValidationError as invalid:
        return None, list(invalid.problems)
    except Conflict as clash:  # e.g. an MRN already registered, no open enrollment to dose under
        return None, [Refusal(str(clash))]
