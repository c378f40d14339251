"""Signing in and out, the start page, changing one's own password, and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.auth import authenticate, change_password, signed_in_user
from psotrack.services.context import Actor
from psotrack.store.vocabulary import Role
from psotrack.web import rules
from psotrack.web.routing import Router
from psotrack.web.sessions import Signer
from psotrack.web.templating import render, set_session_cookie

router = Router(include_in_schema=False)

#: Where each role starts after signing in.
START_PAGE = {
    Role.ADMIN: "/patients",
    Role.CLINICIAN: "/patients",
    Role.COORDINATOR: "/patients",
    Role.RESEARCHER: "/cohort",
    Role.PATIENT: "/me",
}
FIELD = Annotated[str, Form(max_length=200)]


def local_target(target: str | None, fallback: str) -> str:
    """``target`` if it is a path on this site (no scheme, host or ``//``), else ``fallback``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    if any(ord(c) < 32 for c in target) or len(target) > 500:
        return fallback
    return target


@router.get("/healthz")
def health(actor: Actor | None = Depends(rules.PUBLIC)) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/")
def home(actor: Actor | None = Depends(rules.PUBLIC)) -> RedirectResponse:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(START_PAGE[Role(actor.role)], status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str | None = None, actor: Actor | None = Depends(rules.PUBLIC)
) -> Response:
    return render(request, "login.html", {"next": local_target(next, "")})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: FIELD,
    password: FIELD,
    next: Annotated[str, Form(max_length=500)] = "",
    actor: Actor | None = Depends(rules.PUBLIC),
) -> Response:
    db = request.app.state.db
    try:
        signed = await run_in_threadpool(authenticate, db, username, password)
    except PermissionDenied as refused:
        context = {"next": local_target(next, ""), "username": username, "error": str(refused)}
        return render(request, "login.html", context, status_code=401)
    current = await run_in_threadpool(signed_in_user, db, signed.user_id)
    if current is None:  # deactivated between the two reads
        return render(request, "login.html", {"error": "the account may not sign in"}, 401)
    signer: Signer = request.app.state.signer
    cookie, _ = signer.session_cookie(current.actor.user_id or 0, current.stamp)
    target = local_target(next, START_PAGE[Role(current.actor.role)])
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, cookie)
    return response


@router.post("/logout")
def logout(request: Request, actor: Actor = Depends(rules.SIGNED_IN)) -> Response:
    signer: Signer = request.app.state.signer
    cookie, _ = signer.session_cookie(0, "")  # a new anonymous session: old CSRF tokens die
    response = RedirectResponse("/login", status_code=303)
    set_session_cookie(request, response, cookie)
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(
    request: Request, changed: bool = False, actor: Actor = Depends(rules.SIGNED_IN)
) -> Response:
    return render(request, "password.html", {"done": changed})


@router.post("/account/password", response_class=HTMLResponse)
async def password_change(
    request: Request,
    current_password: FIELD,
    new_password: FIELD,
    actor: Actor = Depends(rules.SIGNED_IN),
) -> Response:
    db = request.app.state.db
    try:
        await run_in_threadpool(change_password, db, actor, current_password, new_password)
    except (PermissionDenied, ValidationError) as refused:
        return render(request, "password.html", {"error": str(refused)}, status_code=422)
    current = await run_in_threadpool(signed_in_user, db, actor.user_id)
    if current is None:
        return RedirectResponse("/login", status_code=303)
    signer: Signer = request.app.state.signer
    cookie, _ = signer.session_cookie(current.actor.user_id or 0, current.stamp)
    # The new password ended every older session, this one included: issue a new one.
    response = RedirectResponse("/account/password?changed=true", status_code=303)
    set_session_cookie(request, response, cookie)
    return response
