"""psotrack's one error tree mapped once to HTTP: pages get a page, ``/api/`` gets JSON.

====================================  ======  ==================================================
error                                 status  answer
====================================  ======  ==================================================
:class:`~psotrack.errors.ValidationError`, FastAPI's request validation
                                      422     every problem: ``loc``, ``msg`` (the one line:
                                              field, value, what is allowed), ``type``
:class:`~psotrack.web.rules.NotSignedIn`
                                      401     API (``WWW-Authenticate: Bearer``); pages send
                                              the visitor to ``/login?next=…``
:class:`~psotrack.errors.PermissionDenied`, :class:`~psotrack.web.rules.CsrfRefused`
                                      403     the refusal, never whether the record exists
:class:`~psotrack.errors.NotFound`    404     "not found", nothing more
:class:`~psotrack.errors.Conflict`    409     what clashed
====================================  ======  ==================================================

A form page catches :class:`~psotrack.errors.ValidationError` itself and shows the problems next
to the fields; the handler here is the fallback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from psotrack.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationError
from psotrack.web.rules import CsrfRefused, NotSignedIn
from psotrack.web.templating import render

NOT_FOUND = "not found"
#: The first part of a request error's location, where the value came from (kept in ``loc``,
#: left out of the field's name).
_WHERE = ("body", "query", "path", "header", "cookie")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def problem_details(problems: tuple[Problem, ...]) -> list[dict[str, Any]]:
    """The problems as FastAPI's validation details (``loc``, ``msg``, ``type``)."""
    return [
        {
            "loc": ["body", *p.field.split(".")],
            "msg": str(p),
            "type": p.kind,
            **({"row": p.row} if p.row is not None else {}),
        }
        for p in problems
    ]


def request_problems(exc: RequestValidationError) -> tuple[Problem, ...]:
    """FastAPI's validation errors as psotrack problems (field, value, what is allowed)."""
    found = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in _WHERE]
        field = ".".join(location) or "request"
        value = error.get("input")
        if error.get("type") == "missing":
            found.append(Problem(field, None, "a value is required", "missing"))
        else:
            found.append(Problem(field, _short(value), str(error.get("msg", "")), "invalid"))
    return tuple(found)


def _short(value: object) -> object:
    text = value if isinstance(value, str | int | float | bool) or value is None else "…"
    if isinstance(text, str) and len(text) > 80:
        return text[:77] + "…"
    return text


def error_response(
    request: Request, status: int, message: str, problems: tuple[Problem, ...] = ()
) -> Response:
    if is_api(request):
        if problems:
            return JSONResponse({"detail": problem_details(problems)}, status_code=status)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    context = {"status": status, "message": message, "problems": [str(p) for p in problems]}
    return render(request, "error.html", context, status_code=status)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        return error_response(request, 422, "the input breaks a rule", exc.problems)

    async def request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = request_problems(exc)
        if is_api(request):
            # FastAPI's own location, which says where the value was: query, path or body.
            details = [
                {**detail, "loc": [str(part) for part in error.get("loc", ())] or ["body"]}
                for detail, error in zip(problem_details(problems), exc.errors(), strict=True)
            ]
            return JSONResponse({"detail": details}, status_code=422)
        return error_response(request, 422, "the input breaks a rule", problems)

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        if is_api(request):
            return error_response(request, 401, str(exc) or "sign in to continue")
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)

    async def denied(request: Request, exc: Exception) -> Response:
        return error_response(request, 403, str(exc) or "not allowed")

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(request, 404, NOT_FOUND)

    async def conflict(request: Request, exc: Exception) -> Response:
        return error_response(request, 409, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = NOT_FOUND if exc.status_code == 404 else str(exc.detail)
        response = error_response(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    app.add_exception_handler(ValidationError, validation)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(PermissionDenied, denied)
    app.add_exception_handler(CsrfRefused, denied)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(StarletteHTTPException, http_error)
