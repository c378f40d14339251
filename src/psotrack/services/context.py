"""Who is acting and on which database: the two things every service call needs.

A :class:`Database` hands out one transaction per service call (:meth:`Database.transaction`):
everything the call writes, its audit rows included, commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from psotrack.errors import Conflict, PermissionDenied
from psotrack.store.engine import make_engine, make_session_factory
from psotrack.store.vocabulary import Role


class Permission(StrEnum):
    READ_IDENTIFIED = "read identified records"
    READ_RESEARCH = "read de-identified records"
    RECORD_CLINICAL = "record visits, assessments, labs, therapies and photos"
    RECORD_ADMINISTRATION = "record cell-therapy administrations"
    REPORT_ADVERSE_EVENT = "report adverse events"
    ENROLL = "enroll and withdraw patients"
    CORRECT = "correct or delete recorded values"
    MANAGE_PROGRAMS = "manage programs"
    MANAGE_USERS = "manage users"


#: Least privilege: each role gets only what its work needs. A patient reads nothing through
#: services (the web app's patient view serves their own record through its own checks).
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_IDENTIFIED,
            Permission.READ_RESEARCH,
            Permission.RECORD_CLINICAL,
            Permission.RECORD_ADMINISTRATION,
            Permission.REPORT_ADVERSE_EVENT,
            Permission.ENROLL,
            Permission.CORRECT,
        }
    ),
    Role.COORDINATOR: frozenset(
        {
            Permission.READ_IDENTIFIED,
            Permission.READ_RESEARCH,
            Permission.RECORD_CLINICAL,
            Permission.REPORT_ADVERSE_EVENT,
            Permission.ENROLL,
        }
    ),
    Role.RESEARCHER: frozenset({Permission.READ_RESEARCH}),
    Role.PATIENT: frozenset(),
}


@dataclass(frozen=True)
class Actor:
    """The person (or process) a service acts for; ``user_id`` is written to the audit log."""

    user_id: int | None
    role: Role
    name: str = ""

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.may(permission):
            raise PermissionDenied(f"the {self.role.value} role may not {permission.value}")


#: The actor for set-up scripts and the demo builder (audited as "system", user id empty).
SYSTEM = Actor(user_id=None, role=Role.ADMIN, name="system")


@dataclass
class Database:
    """An engine, its session factory and the photo folder; build with :meth:`from_url`."""

    engine: Engine
    sessions: sessionmaker[Session]
    photo_dir: Path = field(default_factory=lambda: Path("psotrack-photos"))

    @classmethod
    def from_engine(cls, engine: Engine, photo_dir: Path | None = None) -> Database:
        folder = photo_dir if photo_dir is not None else Path("psotrack-photos")
        return cls(engine=engine, sessions=make_session_factory(engine), photo_dir=folder)

    @classmethod
    def from_url(cls, url: str, photo_dir: Path | None = None) -> Database:
        return cls.from_engine(make_engine(url), photo_dir)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block ends normally, roll back on any error.

        A constraint the database enforces (a unique MRN, a foreign key) that a service did
        not check first becomes :class:`Conflict`, not a driver traceback.
        """
        try:
            with self.sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise Conflict(f"the change clashes with what is stored ({reason})") from None
