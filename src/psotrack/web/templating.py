"""Rendering pages: one Jinja2 environment (autoescaped), the context every page gets.

Every page gets ``actor`` (or ``None``), ``csrf_token`` for its forms and ``nav``, the menu
entries the actor's role may open. A visitor without a session gets an anonymous one here, so
that the sign-in form carries a CSRF token too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from psotrack.services.context import Actor
from psotrack.store.vocabulary import Role
from psotrack.web import rules
from psotrack.web.sessions import COOKIE, SessionClaim, Signer

TEMPLATES: Final = Jinja2Templates(directory=Path(__file__).parent / "templates")
# The templates are package files: read once, not stat()ed again on every page (and each page's
# base) to see whether they changed.
TEMPLATES.env.auto_reload = False

#: The menu: label, address and the rule of the page it opens (shown only where it passes).
NAV: Final = (
    ("Patients", "/patients", rules.IDENTIFIED),
    ("Alerts", "/alerts", rules.RESEARCH),
    ("Cohort", "/cohort", rules.RESEARCH),
    ("Users", "/admin/users", rules.MANAGE_USERS),
    ("My record", "/me", rules.OWN_RECORD),
)

#: The actions a page may offer, by the rule of the route they lead to.
OFFERS: Final = {
    "record": rules.CLINICAL_RECORD,
    "administer": rules.ADMINISTRATION,
    "report_adverse_event": rules.ADVERSE_EVENT,
    "enroll": rules.ENROLL,
    "correct": rules.CORRECT,
}


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """``template`` rendered with ``context`` and the page basics; status ``status_code``."""
    actor: Actor | None = getattr(request.state, "actor", None)
    signer: Signer = request.app.state.signer
    claim: SessionClaim | None = getattr(request.state, "claim", None)
    if claim is None:  # no rule ran (an unknown address), or a bearer token: keep the cookie's
        claim = signer.read_session(request.cookies.get(COOKIE))
    new_cookie = None
    if claim is None:
        new_cookie, claim = signer.session_cookie(0, "")
    role = Role(actor.role) if actor is not None else None
    page = {
        "actor": actor,
        "role": role.value if role is not None else "",
        "csrf_token": signer.csrf_token(claim.sid),
        "nav": [(label, href) for label, href, rule in NAV if role and rule.allows(role)],
        "can": offers(role),
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, page, status_code=status_code)
    if new_cookie is not None:
        set_session_cookie(request, response, new_cookie)
    return response


def offers(role: Role | None) -> dict[str, bool]:
    """What a page may offer ``role`` (links only; every route checks again)."""
    return {name: role is not None and rule.allows(role) for name, rule in OFFERS.items()}


def offered(role: Role) -> tuple[bool, ...]:
    """What a page offers ``role``, as a key: roles with the same offers get the same parts."""
    return tuple(offers(role).values())


def render_part(template: str, role: Role, context: dict[str, Any]) -> Markup:
    """``template``, a part of a page without its frame, rendered with ``context`` and what the
    page may offer ``role`` (``can``) only: the same for every user of that role, so it may be
    kept and placed in any of their pages."""
    return render_fragment(template, {**context, "can": offers(role)})


def render_fragment(template: str, context: dict[str, Any]) -> Markup:
    """``template``, a part of a page without its frame, rendered with ``context`` alone (what
    it shows is a function of ``context``, so it may be kept by it and placed in any page)."""
    return Markup(TEMPLATES.get_template(template).render(context))


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    """Attach the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    signer: Signer = request.app.state.signer
    response.set_cookie(
        COOKIE,
        value,
        max_age=signer.session_seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
