"""Administration: the users and their roles (list, add with a password or a patient link, set a
password, deactivate), through :mod:`psotrack.services.users`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from psotrack.errors import Conflict, NotFound, Problem, ValidationError
from psotrack.number_text import parse_integer
from psotrack.services.context import Actor
from psotrack.services.payloads import MAX_ID
from psotrack.services.users import create_user, deactivate_user, list_users, set_password
from psotrack.store.vocabulary import Role
from psotrack.web import rules
from psotrack.web.params import WholeNumber
from psotrack.web.routing import Router
from psotrack.web.templating import render

router = Router(include_in_schema=False)

UserId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="the user's id")]
FIELD = Annotated[str, Form(max_length=200)]
DONE = {
    "added": "The user was added.",
    "password": "The password was set.",
    "deactivated": "The user was deactivated.",
}


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, done: str = "", actor: Actor = Depends(rules.MANAGE_USERS)
) -> Response:
    return _page(request, actor, {"done": DONE.get(done)})


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    username: FIELD,
    role: FIELD,
    display_name: FIELD = "",
    password: FIELD = "",
    patient_id: FIELD = "",
    actor: Actor = Depends(rules.MANAGE_USERS),
) -> Response:
    typed = {"username": username, "display_name": display_name, "role": role}
    typed |= {"patient_id": patient_id}
    form: dict[str, Any] = {
        "username": username,
        "display_name": display_name or username,
        "role": role,
    }
    if patient_id.strip():
        number = parse_integer(patient_id.strip())
        if number is None:
            allowed = "a patient id (a whole number), or empty for a staff account"
            problem = Problem("patient_id", patient_id, allowed, "invalid")
            return _page(request, actor, {"typed": typed, "add_problems": [problem]}, 422)
        form["patient_id"] = number
    try:
        create_user(request.app.state.db, actor, form, password or None)
    except ValidationError as refused:
        context = {"typed": typed, "add_problems": list(refused.problems)}
        return _page(request, actor, context, 422)
    except (Conflict, NotFound) as refused:
        problem = Problem(
            "patient_id" if isinstance(refused, NotFound) else "username",
            patient_id if isinstance(refused, NotFound) else username,
            str(refused),
            "invalid",
        )
        status = 404 if isinstance(refused, NotFound) else 409
        return _page(request, actor, {"typed": typed, "add_problems": [problem]}, status)
    return RedirectResponse("/admin/users?done=added", status_code=303)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
def set_user_password(
    request: Request,
    user_id: UserId,
    new_password: FIELD,
    actor: Actor = Depends(rules.MANAGE_USERS),
) -> Response:
    try:
        set_password(request.app.state.db, actor, user_id, new_password)
    except ValidationError as refused:
        context = {"row_problems": {user_id: [str(p) for p in refused.problems]}}
        return _page(request, actor, context, 422)
    return RedirectResponse("/admin/users?done=password", status_code=303)


@router.post("/admin/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(
    request: Request,
    user_id: UserId,
    reason: FIELD,
    actor: Actor = Depends(rules.MANAGE_USERS),
) -> Response:
    try:
        deactivate_user(request.app.state.db, actor, user_id, reason)
    except ValidationError as refused:
        context = {"row_problems": {user_id: [str(p) for p in refused.problems]}}
        return _page(request, actor, context, 422)
    return RedirectResponse("/admin/users?done=deactivated", status_code=303)


def _page(
    request: Request, actor: Actor, context: dict[str, Any], status_code: int = 200
) -> Response:
    problems: list[Problem] = context.pop("add_problems", [])
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(str(problem))
    page = {
        "users": list_users(request.app.state.db, actor),
        "roles": [r.value for r in Role],
        "typed": {},
        "add_problems": [str(p) for p in problems],
        "field_problems": by_field,
        "row_problems": {},
        **context,
    }
    return render(request, "admin_users.html", page, status_code)
