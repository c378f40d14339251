"""User accounts: create, list, set a password, deactivate (the administrator's side of sign-in).

psotrack's choices: the system user may manage users (it is how the first administrator of a
fresh database is made, by ``psotrack users add``), but it never gets a password and cannot be
deactivated here; nobody deactivates themselves (another administrator must, so a clinic is not
left without one by a slip). Deactivation keeps the row: the audit log names its user.
Passwords follow :func:`~psotrack.services.auth.check_password` and are audited as "changed".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import Conflict, NotFound, ValidationError
from psotrack.services.audit import audit_changed, audit_created
from psotrack.services.auth import check_password, store_password
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.payloads import (
    Payload,
    Text,
    as_utc,
    parse_payload,
    require_id,
    require_reason,
)
from psotrack.store.models import User
from psotrack.store.models.base import utcnow
from psotrack.store.vocabulary import SYSTEM_USERNAME, Role


class UserIn(Payload):
    """A new account; its password, if any, is passed apart (never part of a payload)."""

    username: Annotated[Text, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")]
    display_name: Annotated[Text, Field(min_length=1, max_length=200)]
    role: Role


@dataclass(frozen=True)
class UserSummary:
    """What an administrator sees of an account: never its password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    #: Has a password and may sign in (if active and not locked); never true of the system user.
    has_password: bool
    locked_until: datetime | None
    password_changed_at: datetime | None

    def locked(self, now: datetime | None = None) -> bool:
        moment = utcnow() if now is None else as_utc(now)
        return self.locked_until is not None and self.locked_until > moment


def create_user(
    db: Database,
    actor: Actor,
    payload: Mapping[str, Any] | UserIn,
    password: str | None = None,
    now: datetime | None = None,
) -> int:
    """Add a user (with a password, or none: then they cannot sign in until one is set).

    The system user's name is reserved (no person may act as the system). The password is
    checked before anything is written; its hash is stored but audited only as "changed".
    """
    data = parse_payload(UserIn, payload)
    if data.username.lower() == SYSTEM_USERNAME:
        allowed = f"a username other than {SYSTEM_USERNAME!r} (reserved for psotrack itself)"
        raise ValidationError("username", data.username, allowed, "invalid")
    if password is not None:
        check_password(password, data.username)
    moment = utcnow() if now is None else as_utc(now)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.MANAGE_USERS)
        if session.scalar(select(User.id).where(User.username == data.username)) is not None:
            raise Conflict(f"the username {data.username!r} is taken")
        user = User(**data.model_dump())
        session.add(user)
        audit_created(session, actor, user)  # before the hash is set: it never reaches the log
        if password is not None:
            store_password(session, actor, user, password, moment, "password set for a new user")
        return user.id


def set_password(
    db: Database, actor: Actor, user_id: int, new: str, now: datetime | None = None
) -> None:
    """An administrator sets a user's password (which also unlocks the account)."""
    moment = utcnow() if now is None else as_utc(now)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.MANAGE_USERS)
        user = _get_user(session, user_id)
        if user.username == SYSTEM_USERNAME:
            allowed = "a user who signs in (the system user never has a password)"
            raise ValidationError("username", user.username, allowed, "invalid")
        check_password(new, user.username)
        store_password(session, actor, user, new, moment, f"password set by {actor.name}")


def deactivate_user(
    db: Database, actor: Actor, user_id: int, reason: str = "account deactivated"
) -> None:
    """Stop a user from signing in or acting; the row stays (the audit log names it)."""
    why = require_reason(reason, "the deactivation")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.MANAGE_USERS)
        user = _get_user(session, user_id)
        if user.username == SYSTEM_USERNAME:
            allowed = "a user other than the system user (imports and the demo act as it)"
            raise ValidationError("username", user.username, allowed, "invalid")
        if user.id == actor.user_id:
            allowed = "a user other than yourself (another administrator must do it)"
            raise ValidationError("username", user.username, allowed, "invalid")
        if not user.active:
            raise Conflict(f"user {user.username!r} is already deactivated")
        user.active = False
        audit_changed(session, actor, user, [("active", True, False)], why)


def list_users(db: Database, actor: Actor) -> list[UserSummary]:
    """Every account not deleted, by username (administrators only; no password hashes)."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.MANAGE_USERS)
        users = session.scalars(
            select(User).where(User.deleted_at.is_(None)).order_by(User.username)
        ).all()
        return [
            UserSummary(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                active=user.active,
                has_password=user.password_hash is not None,
                locked_until=None if user.locked_until is None else as_utc(user.locked_until),
                password_changed_at=None
                if user.password_changed_at is None
                else as_utc(user.password_changed_at),
            )
            for user in users
        ]


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, require_id("user_id", user_id))
    if user is None or user.deleted_at is not None:
        raise NotFound(f"no user with id {user_id}")
    return user


def actor_named(db: Database, username: str) -> Actor:
    """The actor a command names with ``--user``: a claim that each service checks again.

    The command line has no sign-in (whoever runs it can open the database), so this only says
    whose permissions apply and whom the audit log names. The system user is refused: a
    command run with ``--user`` is a person's act.
    """
    if username.strip().lower() == SYSTEM_USERNAME:
        allowed = f"a person's user name ({SYSTEM_USERNAME!r} is psotrack's own account)"
        raise ValidationError("--user", username, allowed, "invalid")
    with db.transaction() as session:
        user = session.scalar(
            select(User).where(User.username == username, User.deleted_at.is_(None))
        )
        if user is None:
            raise ValidationError(
                "--user", username, "an existing user (see psotrack users list)", "invalid"
            )
        return Actor(user_id=user.id, role=user.role, name=user.username)
