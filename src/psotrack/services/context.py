"""Who is acting and on which database: the two things every service call needs.

A :class:`Database` hands out one transaction per service call (:meth:`Database.transaction`):
everything the call writes, its audit rows included, commits together or not at all.

Services trust no caller: the :class:`Actor` a caller passes in only names a user. Each service
calls :func:`resolve_actor` first thing in its transaction, which reads the user from the users
table (it must exist, be active and not deleted) and checks the permission against the role *as
stored*, never the role the caller claimed. Only the explicit :data:`SYSTEM` actor may come
without a user id; it resolves to the ``system`` user row (made by migration 0004, no password,
so it cannot sign in) and so appears in the audit log by name. Some acts need a person:
:data:`PERSON_ONLY` lists what the system actor may never do.

Several calls that must stand or fall together (the demo cohort) share one with
:meth:`Database.unit_of_work`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine, Integer, bindparam, event, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from psotrack.errors import Conflict, PermissionDenied, PsotrackError
from psotrack.store.engine import make_engine, make_session_factory
from psotrack.store.models import User
from psotrack.store.vocabulary import SYSTEM_USERNAME, Role


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
    CHANGE_OWN_PASSWORD = "change their own password"
    ACKNOWLEDGE_ALERTS = "acknowledge and close safety alerts"
    READ_OWN_RECORD = "read their own record"
    RECORD_OWN_OUTCOMES = "record their own DLQI and itch"


#: What only a patient does, for themselves (the patient linked to their account): an
#: administrator has every other permission, not these.
OWN_RECORD: frozenset[Permission] = frozenset(
    {Permission.READ_OWN_RECORD, Permission.RECORD_OWN_OUTCOMES}
)


#: Least privilege: each role gets only what its work needs. A patient reads and records only
#: through :mod:`psotrack.services.own_record`, for the patient linked to their account.
#: Everyone who can sign in may change their own password.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - OWN_RECORD,
    Role.CLINICIAN: frozenset(
        {
            Permission.READ_IDENTIFIED,
            Permission.READ_RESEARCH,
            Permission.RECORD_CLINICAL,
            Permission.RECORD_ADMINISTRATION,
            Permission.REPORT_ADVERSE_EVENT,
            Permission.ENROLL,
            Permission.CORRECT,
            Permission.CHANGE_OWN_PASSWORD,
            Permission.ACKNOWLEDGE_ALERTS,
        }
    ),
    Role.COORDINATOR: frozenset(
        {
            Permission.READ_IDENTIFIED,
            Permission.READ_RESEARCH,
            Permission.RECORD_CLINICAL,
            Permission.REPORT_ADVERSE_EVENT,
            Permission.ENROLL,
            Permission.CHANGE_OWN_PASSWORD,
            Permission.ACKNOWLEDGE_ALERTS,
        }
    ),
    Role.RESEARCHER: frozenset({Permission.READ_RESEARCH, Permission.CHANGE_OWN_PASSWORD}),
    Role.PATIENT: frozenset(
        {Permission.CHANGE_OWN_PASSWORD, Permission.READ_OWN_RECORD, Permission.RECORD_OWN_OUTCOMES}
    ),
}


#: What a person must do themselves, never an import or a set-up script: judging and reporting
#: an adverse event, giving a cell-therapy dose, and correcting or deleting what others recorded
#: (and having a password: the system user has none).
PERSON_ONLY: frozenset[Permission] = frozenset(
    {
        Permission.REPORT_ADVERSE_EVENT,
        Permission.RECORD_ADMINISTRATION,
        Permission.CORRECT,
        Permission.CHANGE_OWN_PASSWORD,
        Permission.ACKNOWLEDGE_ALERTS,
        *OWN_RECORD,
    }
)


@dataclass(frozen=True)
class Actor:
    """The person (or process) a service acts for; ``user_id`` is written to the audit log.

    An actor a caller builds is only a claim: services replace it with :func:`resolve_actor`.
    ``system`` marks the set-up process (imports, the demo builder), never a person.
    """

    user_id: int | None
    role: Role
    name: str = ""
    system: bool = False

    def may(self, permission: Permission) -> bool:
        role = as_role(self.role)
        if role is None or permission not in GRANTS[role]:
            return False
        return not (self.system and permission in PERSON_ONLY)

    def require(self, permission: Permission) -> None:
        if self.may(permission):
            return
        role = as_role(self.role)
        if role is None:
            raise PermissionDenied(f"{self.role!r} is not a role, so it may not {permission.value}")
        if self.system and permission in PERSON_ONLY:
            raise PermissionDenied(f"the system user may not {permission.value}: a person must")
        raise PermissionDenied(f"the {role.value} role may not {permission.value}")


def as_role(value: object) -> Role | None:
    """``value`` if it is a :class:`Role` or exactly a role's stored text, else ``None``.

    >>> as_role("researcher"), as_role("Researcher"), as_role(" admin"), as_role(None)
    (<Role.RESEARCHER: 'researcher'>, None, None, None)
    """
    if isinstance(value, Role):
        return value
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            return None
    return None


#: The actor for imports and set-up scripts; resolved to the ``system`` user row.
SYSTEM = Actor(user_id=None, role=Role.ADMIN, name=SYSTEM_USERNAME, system=True)


def resolve_actor(session: Session, actor: Actor, permission: Permission) -> Actor:
    """The acting user as stored, checked for ``permission``; call it first in a transaction.

    Refused (:class:`PermissionDenied`): an actor that is not an :class:`Actor`, a role value
    that is not a role, a user id that names no user or a deactivated or deleted one, an actor
    with no user id other than :data:`SYSTEM`, and any permission the *stored* role lacks (or,
    for the system user, one in :data:`PERSON_ONLY`). The returned actor carries the stored id,
    role and username, so the audit log names who really acted.
    """
    if not isinstance(actor, Actor):
        raise PermissionDenied(f"{type(actor).__name__} is not an actor, so it may not act")
    if as_role(actor.role) is None:
        raise PermissionDenied(f"{actor.role!r} is not a role, so it may not {permission.value}")
    user_id = actor.user_id
    if user_id is None:
        if not actor.system:
            raise PermissionDenied(
                "an actor without a user id may not act (only the system actor has none)"
            )
        user = reads_of(session).execute(_SYSTEM_USER).one_or_none()
        if user is None:
            raise PermissionDenied(
                f"the database has no {SYSTEM_USERNAME!r} user: run psotrack db upgrade"
            )
    else:
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise PermissionDenied(f"user id {user_id!r} names no user, so it may not act")
        user = reads_of(session).execute(_USER, {"user_id": user_id}).one_or_none()
        if user is None:
            raise PermissionDenied(f"user {user_id} does not exist, so it may not act")
    if not user.active or user.deleted_at is not None:
        raise PermissionDenied(f"user {user.id} ({user.username}) is deactivated and may not act")
    resolved = Actor(
        user_id=user.id,
        role=user.role,
        name=user.username,
        system=user.username == SYSTEM_USERNAME,
    )
    resolved.require(permission)
    return resolved


def reads_of(session: Session) -> Connection:
    """The session's connection, for Core reads in its transaction, after writing what the
    session holds (as the ORM's autoflush does before its own queries).

    A prebuilt Core statement run here skips the ORM's per-call work (about 0.1 ms a statement
    on this project's machine): the hot paths of the patient list and page use it.
    """
    session.flush()
    return session.connection()


#: What :func:`resolve_actor` reads of the acting user: Core statements built once (every
#: service call runs one; an ORM ``Session.get`` cost about five times as much).
_ACTING: Final = (User.id, User.role, User.username, User.active, User.deleted_at)
_USER: Final = select(*_ACTING).where(User.id == bindparam("user_id", type_=Integer))
_SYSTEM_USER: Final = select(*_ACTING).where(User.username == SYSTEM_USERNAME)


#: What marks a statement that writes: SQLAlchemy's flags for a compiled one, the first word
#: for SQL text.
_WRITE_FLAGS: Final = ("isinsert", "isupdate", "isdelete", "isddl")
_WRITES: Final = ("INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE")


def _refuse_writes(
    _connection: Connection,
    _cursor: object,
    statement: str,
    _parameters: object,
    context: object,
    _executemany: bool,
) -> None:
    """Refuse a statement that writes, before it is sent (see :meth:`Database.reads`)."""
    flagged = any(getattr(context, flag, False) for flag in _WRITE_FLAGS)
    if flagged or statement.lstrip()[:8].upper().startswith(_WRITES):
        raise RuntimeError("a write in Database.reads(): write in Database.transaction()")


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
    #: The engine and sessions of :meth:`reads` and :meth:`reading`, made on first use.
    readers: tuple[Engine, sessionmaker[Session]] | None = field(default=None, repr=False)

    @classmethod
    def from_engine(cls, engine: Engine, photo_dir: Path | None = None) -> Database:
        folder = photo_dir if photo_dir is not None else Path("psotrack-photos")
        return cls(engine=engine, sessions=make_session_factory(engine), photo_dir=folder)

    @classmethod
    def from_url(
        cls, url: str, photo_dir: Path | None = None, *, connections: int | None = None
    ) -> Database:
        """``connections``: see :func:`~psotrack.store.engine.make_engine`."""
        return cls.from_engine(make_engine(url, connections=connections), photo_dir)

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
    def reads(self) -> Iterator[Session]:
        """A session for a service that only reads (a patient's page, a page of the list).

        Each statement sees what was committed when it began: on PostgreSQL it runs outside a
        transaction (autocommit), without the BEGIN and COMMIT round trips (while other
        requests wait for the process's one interpreter), as each statement of a transaction at
        PostgreSQL's default isolation would see; SQLite's driver begins a transaction only
        before a write. A service that reads a patient's revision before their rows so shows
        that revision or a newer one. A write through it is refused before it is sent
        (``RuntimeError``: a programming error; no transaction would hold it). Inside
        :meth:`unit_of_work` it is the unit's session.
        """
        if self.unit is not None:
            yield self.unit.session
            return
        with self._readers()[1]() as session, session.begin():
            yield session

    def _readers(self) -> tuple[Engine, sessionmaker[Session]]:
        """The engine of the reads (this database's connections, on PostgreSQL in autocommit,
        refusing writes) and its sessions, made on first use."""
        if self.readers is None:
            postgresql = self.engine.dialect.name == "postgresql"
            engine = self.engine.execution_options(
                **({"isolation_level": "AUTOCOMMIT"} if postgresql else {})
            )
            event.listen(engine, "before_cursor_execute", _refuse_writes)
            self.readers = (engine, make_session_factory(engine))
        return self.readers

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for a few Core reads, each complete in itself (no ORM session: the
        per-request sign-in check is its use), as :meth:`reads` runs them: each sees what was
        committed when it began (on PostgreSQL without a transaction's two round trips, on every
        request), and a write is refused. Inside :meth:`unit_of_work`, the unit's own
        connection.
        """
        if self.unit is not None:
            yield self.unit.session.connection()
            return
        with self._readers()[0].connect() as connection:
            yield connection

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
