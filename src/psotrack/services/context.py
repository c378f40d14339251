"""Who is acting and on which database: the two things every service call needs.

A :class:`Database` hands out one transaction per service call (:meth:`Database.transaction`):
everything the call writes, its audit rows included, commits together or not at all. Several
calls that must stand or fall together (the demo cohort) share one with
:meth:`Database.unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from psotrack.errors import Conflict, PermissionDenied, PsotrackError
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
    TIDY_PHOTO_FOLDER = "remove photo files that no record refers to"


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
class _Unit:
    """The session of an open unit of work, and whether a call inside it has failed."""

    session: Session
    failed: bool = False


@dataclass
class Database:
    """An engine, its session factory and the photo folder; build with :meth:`from_url`."""

    engine: Engine
    sessions: sessionmaker[Session]
    photo_dir: Path = field(default_factory=lambda: Path("psotrack-photos"))
    unit: _Unit | None = field(default=None, repr=False)

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

        Inside :meth:`unit_of_work` the block joins the unit's transaction instead. A constraint
        the database enforces (a unique MRN, a foreign key) that a service did not check first
        becomes :class:`Conflict`, not a driver traceback; so does SQLite's "database is locked"
        when another process holds the write lock for longer than the busy timeout.
        """
        if self.unit is not None:
            try:
                yield self.unit.session
            except BaseException:
                self.unit.failed = True  # its partial writes are in the session: no commit now
                raise
            return
        try:
            with self.sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise Conflict(f"the change clashes with what is stored ({_reason(exc)})") from None
        except OperationalError as exc:
            if "database is locked" not in str(exc.orig):
                raise
            raise Conflict(
                "the database is busy with another process's changes; nothing was stored, "
                "try again when it has finished"
            ) from None

    @contextmanager
    def unit_of_work(self) -> Iterator[Database]:
        """One transaction around many service calls: all of them are stored or none.

        Pass the :class:`Database` this yields to each service; their transactions join this
        one (without savepoints), and it commits when the block ends normally. If any call
        inside fails, nothing is stored — even when the caller caught that error and went on.
        """
        if self.unit is not None:
            yield self
            return
        with self.transaction() as session:
            unit = replace(self, unit=_Unit(session))
            yield unit
            if unit.unit is not None and unit.unit.failed:
                raise PsotrackError("a step of the unit of work failed; nothing was stored")


def _reason(exc: IntegrityError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
