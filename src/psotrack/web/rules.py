"""The access rule every route declares, as a FastAPI dependency that yields the acting user.

A route states its rule once, as a parameter: ``actor: Actor = Depends(rules.CLINICAL_RECORD)``.
The rule signs the request in (session cookie, or bearer token under ``/api/``), checks the CSRF
token of a cookie-signed unsafe request, and checks the role's permission. The services check
the permission again against the role as stored (:func:`psotrack.services.context.resolve_actor`):
the rule only answers early and the same way on every page.

``tests/web/test_route_rules.py`` walks every route with every role and anonymously and checks
the answer against a table written there, independently of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from anyio import to_thread
from fastapi import Request

from psotrack.errors import PermissionDenied, PsotrackError
from psotrack.services.auth import SignedIn, signed_in_user
from psotrack.services.context import Actor, Database, Permission
from psotrack.store.vocabulary import Role
from psotrack.web.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, SessionClaim, Signer

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(PsotrackError):
    """No valid session or token: pages send the visitor to sign in, the API answers 401."""


class CsrfRefused(PsotrackError):
    """An unsafe request signed in by cookie without this session's CSRF token (403)."""


@dataclass(frozen=True)
class Rule:
    """Who may use a route: anyone, any signed-in user, or a role with ``permission``.

    ``roles`` narrows it further to the listed roles (e.g. the patient's own pages).
    """

    name: str
    permission: Permission | None = None
    signed_in: bool = True
    roles: frozenset[Role] | None = None

    async def __call__(self, request: Request) -> Actor | None:
        actor = await sign_in(request)
        if request.method not in SAFE_METHODS:
            await _check_csrf(request)
        if not self.signed_in:
            return actor
        if actor is None:
            raise NotSignedIn("sign in (a session, or a bearer token for the API) to continue")
        if self.roles is not None and Role(actor.role) not in self.roles:
            raise PermissionDenied(f"the {actor.role} role may not open this page")
        if self.permission is not None:
            actor.require(self.permission)
        return actor

    def allows(self, role: Role | None) -> bool:
        """Whether ``role`` (``None``: anonymous) passes this rule; for documentation."""
        if not self.signed_in:
            return True
        if role is None or (self.roles is not None and role not in self.roles):
            return False
        return self.permission is None or Actor(None, role).may(self.permission)


#: The login page, static files, the health check.
PUBLIC: Final = Rule("public", signed_in=False)
#: Any signed-in user: the start page, sign-out, their own password, the stateless scorer.
SIGNED_IN: Final = Rule("signed in")
#: Identified records of any patient (names, MRNs, photos, free text).
IDENTIFIED: Final = Rule("identified records", Permission.READ_IDENTIFIED)
#: Coded, de-identified views: cohort rates, research ids, coded alerts.
RESEARCH: Final = Rule("de-identified records", Permission.READ_RESEARCH)
CLINICAL_RECORD: Final = Rule("record clinical data", Permission.RECORD_CLINICAL)
ADMINISTRATION: Final = Rule("record administrations", Permission.RECORD_ADMINISTRATION)
ADVERSE_EVENT: Final = Rule("report adverse events", Permission.REPORT_ADVERSE_EVENT)
ENROLL: Final = Rule("enroll and withdraw", Permission.ENROLL)
CORRECT: Final = Rule("correct or delete", Permission.CORRECT)
MANAGE_USERS: Final = Rule("manage users", Permission.MANAGE_USERS)
#: Acknowledging and closing safety alerts (the care team).
ACKNOWLEDGE_ALERTS: Final = Rule("acknowledge alerts", Permission.ACKNOWLEDGE_ALERTS)
#: A patient's own record (the patient linked to the signed-in account, read-only).
OWN_RECORD: Final = Rule("own record", Permission.READ_OWN_RECORD)
#: A patient's own DLQI and itch entries.
OWN_OUTCOMES: Final = Rule("record own outcomes", Permission.RECORD_OWN_OUTCOMES)


def app_state(request: Request) -> tuple[Database, Signer]:
    return request.app.state.db, request.app.state.signer


async def sign_in(request: Request) -> Actor | None:
    """The signed-in user of ``request`` (cached on it), or ``None``; never raises."""
    if hasattr(request.state, "actor"):
        actor: Actor | None = request.state.actor
        return actor
    db, signer = app_state(request)
    claim: SessionClaim | None = None
    via_cookie = False
    header = request.headers.get("authorization", "")
    if request.url.path.startswith("/api/") and header[:7].lower() == "bearer ":
        claim = signer.read_token(header[7:].strip())
    else:
        claim = signer.read_session(request.cookies.get(COOKIE))
        via_cookie = claim is not None
    actor = None
    if claim is not None and claim.user_id > 0:
        signed = await _look_up(request, db, claim.user_id)
        if signed is not None and signed.stamp == claim.stamp:
            actor = signed.actor
    request.state.actor = actor
    request.state.claim = claim if via_cookie else None
    return actor


async def _look_up(request: Request, db: Database, user_id: int) -> SignedIn | None:
    """The user a request's session or token names, read from the database, as every request
    needs: in a SQLite file a look-up of about 50 µs, done here on the event loop (a trip to a
    thread and back cost more, about 130 µs of CPU: measured on this project's 2-core machine);
    from a database server, a round trip that the event loop must not wait for, on threads of
    its own (set up when the app starts), not queued behind the handlers' page reads."""
    if db.engine.dialect.name == "sqlite":
        return signed_in_user(db, user_id)
    limiter = getattr(request.app.state, "sign_in_threads", None)
    return await to_thread.run_sync(signed_in_user, db, user_id, limiter=limiter)


async def _check_csrf(request: Request) -> None:
    """Refuse a cookie-signed unsafe request whose CSRF token is not this session's."""
    claim: SessionClaim | None = request.state.claim
    if claim is None:
        if request.url.path.startswith("/api/"):
            return  # a bearer token, or nobody: no ambient cookie authority to abuse
        raise CsrfRefused("the form has expired: reload the page and try again")
    _, signer = app_state(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not signer.csrf_ok(claim.sid, sent):
        raise CsrfRefused("the form has expired: reload the page and try again")


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
