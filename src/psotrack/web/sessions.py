"""Who a request comes from: the signed session cookie (pages) and bearer tokens (the API).

Both are stateless and signed with the app's secret key (:mod:`itsdangerous`); what they carry
is only a claim. Each request re-reads the user from the database
(:func:`psotrack.services.auth.signed_in_user`): a deactivated user, or one whose password
changed since the cookie or token was issued (the *stamp*), is signed out at once.

- **Cookie** ``psotrack_session``: user id, stamp and a random session id; HttpOnly,
  SameSite=Lax, Secure when the app is served over HTTPS; it expires after
  ``settings.session_minutes`` (the signature's timestamp is checked, not only the browser's
  expiry). Signing in or out always issues a new session id.
- **CSRF**: every form carries ``csrf_token``, an HMAC of the session id; an unsafe request
  signed in by cookie must send it (form field, or the ``X-CSRF-Token`` header from scripts).
  A token from another session, or from before a sign-in or sign-out, does not match.
- **Bearer token** (``POST /api/v1/token``): user id and stamp, valid for
  ``settings.token_minutes``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE: Final = "psotrack_session"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"


@dataclass(frozen=True)
class SessionClaim:
    """What a valid cookie or token says: the user, their password stamp and the session id."""

    user_id: int
    stamp: str
    sid: str = ""


class Signer:
    """Signs and checks session cookies, bearer tokens and CSRF tokens with one secret key."""

    def __init__(self, secret_key: str, session_seconds: int, token_seconds: int) -> None:
        self._key = secret_key.encode()
        self._sessions = URLSafeTimedSerializer(secret_key, salt="psotrack-session")
        self._tokens = URLSafeTimedSerializer(secret_key, salt="psotrack-api-token")
        self.session_seconds = session_seconds
        self.token_seconds = token_seconds

    def session_cookie(self, user_id: int, stamp: str) -> tuple[str, SessionClaim]:
        claim = SessionClaim(user_id, stamp, secrets.token_urlsafe(18))
        return self._sessions.dumps([claim.user_id, claim.stamp, claim.sid]), claim

    def read_session(self, cookie: str | None) -> SessionClaim | None:
        return _claim(self._sessions, cookie, self.session_seconds, with_sid=True)

    def token(self, user_id: int, stamp: str) -> str:
        return self._tokens.dumps([user_id, stamp])

    def read_token(self, token: str | None) -> SessionClaim | None:
        return _claim(self._tokens, token, self.token_seconds, with_sid=False)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self._key, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, sid: str, sent: str | None) -> bool:
        return (
            bool(sid) and isinstance(sent, str) and hmac.compare_digest(self.csrf_token(sid), sent)
        )


def _claim(
    serializer: URLSafeTimedSerializer, text: str | None, max_age: int, *, with_sid: bool
) -> SessionClaim | None:
    """The claim in ``text`` if its signature holds and it has not expired; else ``None``."""
    if not text or len(text) > 1000:
        return None
    try:
        value = serializer.loads(text, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    size = 3 if with_sid else 2
    if not isinstance(value, list) or len(value) != size:
        return None
    user_id, stamp = value[0], value[1]
    sid = value[2] if with_sid else ""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not isinstance(stamp, str):
        return None
    if not isinstance(sid, str):
        return None
    return SessionClaim(user_id, stamp, sid)
