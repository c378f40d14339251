"""Signing in and passwords: argon2 hashes, the password policy and the lock-out after failures.

psotrack's choices, where the issue leaves them open:

- **One refusal for every failed sign-in** (:data:`SIGN_IN_REFUSED`): a wrong password, an
  unknown username, a locked, deactivated or deleted account and the system user all read the
  same, so the message never tells whether a username exists. Unknown users are checked against
  a dummy hash, so they cost the same argon2 work as a known one.
- **Lock-out**: :data:`MAX_FAILED_SIGN_INS` wrong passwords in a row lock the account for
  :data:`LOCK_TIME`. The count lives in the users table (one atomic ``UPDATE``), so it holds
  across processes and workers. While locked even the right password is refused, and attempts
  neither count nor extend the lock; when it ends the count starts again from 0. A good sign-in
  resets the count; an administrator setting a new password also unlocks. The lock (not each
  failure) is written to the audit log, by the system user.
- **Policy** (:func:`check_password`): 12–128 characters (counted as Unicode characters, taken
  exactly as typed: no trimming), not the username (ignoring case). Errors name the field and
  the length, never the password itself (:class:`Hidden`).
- **Audit**: a password change is recorded as ``password_hash`` → "changed" (or "rehashed" when
  a sign-in upgrades the hash to new argon2 parameters): never the password or its hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Integer, bindparam, select, update
from sqlalchemy.orm import Session

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.audit import audit_changed
from psotrack.services.context import SYSTEM, Actor, Database, Permission, resolve_actor
from psotrack.services.payloads import CONTROL_CHARACTERS, as_utc
from psotrack.store.models import User
from psotrack.store.models.base import utcnow
from psotrack.store.vocabulary import SYSTEM_USERNAME

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 128
MAX_FAILED_SIGN_INS: Final = 5
LOCK_TIME: Final = timedelta(minutes=15)
SIGN_IN_REFUSED: Final = "username or password is wrong, or the account is locked"
#: What the audit log records in place of a password hash.
CHANGED: Final = "changed"
REHASHED: Final = "rehashed"


class Hidden:
    """Stands in for a password in an error: says how long it was, never what it was.

    >>> str(ValidationError("password", Hidden("secret"), "12–128 characters"))
    'password=(hidden, 6 characters) is outside 12–128 characters'
    """

    def __init__(self, secret: str) -> None:
        self.length = len(secret)

    def __repr__(self) -> str:
        return f"(hidden, {self.length} characters)"

    __str__ = __repr__


@cache
def password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's current recommended parameters (RFC 9106 low-memory)."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return password_hasher().hash("psotrack: no such user, same work as a real one")


def check_password(password: object, username: str, field: str = "password") -> str:
    """``password`` if it meets the policy, else :class:`ValidationError` on ``field``.

    >>> check_password("correct horse battery", "jdoe")
    'correct horse battery'
    >>> check_password("short", "jdoe")
    Traceback (most recent call last):
    ...
    psotrack.errors.ValidationError: password=(hidden, 5 characters) is outside 12–128 characters
    """
    if not isinstance(password, str):
        raise ValidationError(field, type(password).__name__, "text (a password)", "type")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationError(
            field, Hidden(password), f"{MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} characters"
        )
    if password.casefold() == username.casefold():
        raise ValidationError(
            field, Hidden(password), "a password other than the username", "invalid"
        )
    return password


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an empty or unreadable hash costs the same work and fails."""
    try:
        return password_hasher().verify(password_hash or _dummy_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def store_password(
    session: Session, actor: Actor, user: User, password: str, now: datetime, reason: str
) -> None:
    """Set ``user``'s password (hashed), unlock the account and audit it as "changed"."""
    old_changed_at = user.password_changed_at
    had_password = user.password_hash is not None
    changes: list[tuple[str, object, object]] = [
        ("password_hash", CHANGED if had_password else None, CHANGED),
        ("password_changed_at", old_changed_at, now),
    ]
    if user.failed_sign_ins or user.locked_until is not None:
        changes += [
            ("failed_sign_ins", user.failed_sign_ins, 0),
            ("locked_until", user.locked_until, None),
        ]
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.failed_sign_ins = 0
    user.locked_until = None
    audit_changed(session, actor, user, changes, reason)


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> Actor:
    """The signed-in user as an :class:`Actor`, or :class:`PermissionDenied` (one message).

    ``now`` (UTC; default the clock) is when the attempt happens: tests pass it to step past
    the lock time.
    """
    moment = utcnow() if now is None else as_utc(now)
    if not isinstance(username, str) or not isinstance(password, str):
        raise PermissionDenied(SIGN_IN_REFUSED)
    signed_in: Actor | None = None
    with db.transaction() as session:
        name = username.strip()
        # No username holds a control character, and PostgreSQL cannot compare a NUL at all.
        found = (
            None
            if re.search(CONTROL_CHARACTERS, name)
            else select(User).where(User.username == name)
        )
        user = None if found is None else session.scalar(found)
        usable = (
            user is not None
            and user.active
            and user.deleted_at is None
            and user.username != SYSTEM_USERNAME
            and not _locked(user, moment)
        )
        if not verify_password(user.password_hash if usable and user else None, password):
            if usable and user is not None:
                _count_failure(session, user, moment)
        elif user is not None:
            signed_in = _signed_in(session, user, password)
    if signed_in is None:
        raise PermissionDenied(SIGN_IN_REFUSED)
    return signed_in


def change_password(
    db: Database, actor: Actor, old: str, new: str, now: datetime | None = None
) -> None:
    """The signed-in user changes their own password; the current one must be given.

    A wrong current password counts towards the lock-out like a failed sign-in.
    """
    moment = utcnow() if now is None else as_utc(now)
    refused = False
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.CHANGE_OWN_PASSWORD)
        user = session.get(User, actor.user_id)
        if user is None:  # resolve_actor found it a moment ago
            raise PermissionDenied(f"user {actor.user_id} does not exist, so it may not act")
        if _locked(user, moment) or not verify_password(user.password_hash, str(old)):
            if not _locked(user, moment):
                _count_failure(session, user, moment)
            refused = True
        else:
            check_password(new, user.username, "new_password")
            if new == old:
                raise ValidationError(
                    "new_password", Hidden(new), "a password other than the current one", "invalid"
                )
            store_password(session, actor, user, new, moment, "password changed by its user")
    if refused:
        raise PermissionDenied("the current password is wrong, or the account is locked")


def _locked(user: User, moment: datetime) -> bool:
    return user.locked_until is not None and as_utc(user.locked_until) > moment


def _count_failure(session: Session, user: User, moment: datetime) -> None:
    """One more wrong password, counted atomically in the database; the last one locks."""
    expired_lock = user.locked_until
    count = session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_sign_ins=User.failed_sign_ins + 1)
        .returning(User.failed_sign_ins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if count < MAX_FAILED_SIGN_INS:
        session.refresh(user)
        return
    until = moment + LOCK_TIME
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_sign_ins=0, locked_until=until)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user)
    system = resolve_actor(session, SYSTEM, Permission.MANAGE_USERS)
    reason = f"{MAX_FAILED_SIGN_INS} wrong passwords in a row: locked for {LOCK_TIME}"
    audit_changed(session, system, user, [("locked_until", expired_lock, until)], reason)


def _signed_in(session: Session, user: User, password: str) -> Actor:
    """Reset the failure count and upgrade an outdated hash; the user as an actor."""
    user.failed_sign_ins = 0
    user.locked_until = None
    actor = Actor(user_id=user.id, role=user.role, name=user.username)
    if user.password_hash is not None and password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        reason = "password hash upgraded to the current argon2 parameters at sign-in"
        audit_changed(session, actor, user, [("password_hash", CHANGED, REHASHED)], reason)
    return actor


@dataclass(frozen=True)
class SignedIn:
    """A user who may hold a session now, and the stamp a session or token of theirs carries.

    The stamp changes whenever their password does, so setting a new password ends every
    session and token issued before it.
    """

    actor: Actor
    stamp: str


def signed_in_user(db: Database, user_id: object) -> SignedIn | None:
    """The user a session or token names, if they may still sign in; else ``None``.

    ``None`` for an id that names no user, a deactivated or deleted user, the system user and a
    user without a password: each request re-reads this from the database, so deactivating a
    user ends their sessions at once.
    """
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    with db.reading() as connection:
        user = connection.execute(_SIGNED_IN, {"user_id": user_id}).one_or_none()
    if (
        user is None
        or not user.active
        or user.deleted_at is not None
        or user.username == SYSTEM_USERNAME
        or not user.password_hash
    ):
        return None
    changed = user.password_changed_at
    stamp = "" if changed is None else f"{as_utc(changed).timestamp():.6f}"
    return SignedIn(Actor(user_id=user.id, role=user.role, name=user.username), stamp)


#: What :func:`signed_in_user` reads, a Core statement built once: it runs on every request
#: (an ORM session and ``Session.get`` cost about four times as much).
_SIGNED_IN: Final = select(
    User.id,
    User.role,
    User.username,
    User.active,
    User.deleted_at,
    User.password_hash,
    User.password_changed_at,
).where(User.id == bindparam("user_id", type_=Integer))
