"""``POST /api/v1/token``: the OAuth2 password flow, answering a bearer token with an expiry."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Form, Request
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from psotrack.errors import PermissionDenied
from psotrack.services.auth import SIGN_IN_REFUSED, authenticate, signed_in_user
from psotrack.services.context import Actor
from psotrack.web import rules
from psotrack.web.routing import Router
from psotrack.web.rules import NotSignedIn
from psotrack.web.schemas import Message
from psotrack.web.sessions import Signer

#: Declares the bearer scheme in the OpenAPI schema; :mod:`psotrack.web.rules` checks it.
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/token", auto_error=False)

router = Router(prefix="/api/v1", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    #: Seconds until the token expires.
    expires_in: int


@router.post(
    "/token",
    response_model=Token,
    responses={401: {"model": Message, "description": SIGN_IN_REFUSED}},
)
async def token(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=200)],
    actor: Actor | None = Depends(rules.PUBLIC),
) -> Token:
    db = request.app.state.db
    try:
        signed = await run_in_threadpool(authenticate, db, username, password)
    except PermissionDenied:
        raise NotSignedIn(SIGN_IN_REFUSED) from None
    current = await run_in_threadpool(signed_in_user, db, signed.user_id)
    if current is None:
        raise NotSignedIn(SIGN_IN_REFUSED)
    signer: Signer = request.app.state.signer
    return Token(
        access_token=signer.token(current.actor.user_id or 0, current.stamp),
        expires_in=signer.token_seconds,
    )
