"""The patient list: search, filter, sort and page the patients of a program.

:func:`search_patients` stays fast for a 10 000-patient program without a per-patient loop in
Python: the page is chosen by one query (filters, the sort key, ``LIMIT``/``OFFSET``), the total
by one count, and only the page's patients are then read in detail. Every part is plain SQL that
SQLite and PostgreSQL both run: each patient's newest enrollment by an anti-join ("no newer
one"), last visit from the patient row (``Patient.last_visit_date``, kept by the database from
the visits: migration 0009), open alerts by a grouped subquery, the current PASI by a correlated
subquery ordered by visit date (one look-up on the patient index per patient), and the change
from baseline by the endpoint engine on the page's rows
(:func:`psotrack.services.status.latest_by_patient`), so it is never re-derived here.

A patient's row shows the newest enrollment (in ``program_id`` when given): its program and
status. "Current PASI" is the PASI of the latest visit (by date) that has one; its change from
baseline is empty until it is post-baseline. Open alerts are unacknowledged safety flags.

Search (``query``, trimmed, case-insensitive): family or given name contains it, MRN or research
id starts with it (an exact one included). A role without access to identified records (a
researcher) searches by research id only, gets no names or MRNs, and the rows are keyed by
research id (``patient_id`` empty); sorting by name or MRN is refused for that role.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final, Literal

import polars as pl
from pydantic import Field
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from psotrack.errors import ValidationError
from psotrack.services.context import Actor, Database, Permission, reads_of, resolve_actor
from psotrack.services.memo import Memo, database_token
from psotrack.services.payloads import Bool, Id, Int, Payload, Text, parse_payload
from psotrack.services.scored_since import ScoredSince
from psotrack.services.status import latest_by_patient
from psotrack.services.timeline import FRAME_SCHEMA, assessment_rows
from psotrack.store.models import (
    Assessment,
    Enrollment,
    Patient,
    PatientIdentity,
    Program,
    SafetyFlag,
    Visit,
)
from psotrack.store.vocabulary import EnrollmentStatus, Instrument

SortKey = Literal["last_visit", "pasi", "alerts", "status", "research_id", "name", "mrn"]
SORT_KEYS: Final = ("last_visit", "pasi", "alerts", "status", "research_id", "name", "mrn")
#: Sort keys that would order by an identifier: refused for roles without identified access.
IDENTIFIED_SORTS: Final = frozenset({"name", "mrn"})
MAX_PAGE_SIZE: Final = 200


class SearchIn(Payload):
    query: Annotated[Text, Field(max_length=100)] = ""
    program_id: Id | None = None
    status: EnrollmentStatus | None = None
    sort: SortKey = "last_visit"
    descending: Bool = True
    page: Annotated[Int, Field(ge=1)] = 1
    page_size: Annotated[Int, Field(ge=1, le=MAX_PAGE_SIZE)] = 50


@dataclass(frozen=True)
class PatientListRow:
    """One patient as the list shows it.

    For a researcher the names, MRN and program name (free text in the schema, see
    :mod:`psotrack.services.research_views`) are empty and ``patient_id`` too.
    """

    patient_id: int | None
    research_id: str
    family_name: str | None
    given_name: str | None
    mrn: str | None
    program_id: int
    program: str | None
    status: str
    last_visit: date | None
    current_pasi: str | None
    pchg: float | None
    open_alerts: int


@dataclass(frozen=True)
class PatientPage:
    """One page of the patient list and the number of patients that matched."""

    rows: tuple[PatientListRow, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def summary(self) -> pl.DataFrame:
        """The page as a tidy table, one row per patient."""
        schema = {
            "patient_id": pl.Int64,
            "research_id": pl.String,
            "family_name": pl.String,
            "given_name": pl.String,
            "mrn": pl.String,
            "program_id": pl.Int64,
            "program": pl.String,
            "status": pl.String,
            "last_visit": pl.Date,
            "current_pasi": pl.String,
            "pchg": pl.Float64,
            "open_alerts": pl.Int64,
        }
        return pl.DataFrame([r.__dict__ for r in self.rows], schema=schema, orient="row")


def search_patients(
    db: Database,
    actor: Actor,
    query: str = "",
    program_id: int | None = None,
    status: EnrollmentStatus | str | None = None,
    sort: str = "last_visit",
    descending: bool = True,
    page: int = 1,
    page_size: int = 50,
) -> PatientPage:
    """One page of matching patients (see the module text for what matches and what shows)."""
    given: Mapping[str, Any] = {
        "query": query,
        "program_id": program_id,
        "status": status,
        "sort": sort,
        "descending": descending,
        "page": page,
        "page_size": page_size,
    }
    data = parse_payload(SearchIn, given)
    with db.reads() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        identified = actor.may(Permission.READ_IDENTIFIED)
        if not identified and data.sort in IDENTIFIED_SORTS:
            allowed = "one of " + ", ".join(k for k in SORT_KEYS if k not in IDENTIFIED_SORTS)
            raise ValidationError("sort", data.sort, f"{allowed} for the {actor.role} role")
        if data.program_id is not None and session.get(Program, data.program_id) is None:
            raise ValidationError("program_id", data.program_id, "an existing program", "invalid")
        shape = _Shape(
            data.program_id is not None,
            data.status is not None,
            identified,
            data.sort,
            data.descending,
        )
        # The statements of a search without text are built once per shape (their values are
        # bound parameters); a text search builds its own, as its text is part of the LIKE.
        counted, paged = _statements(shape) if not data.query else _build(shape, data.query)
        values = {
            "program_id": data.program_id,
            "status": data.status,
            "limit": data.page_size,
            "offset": (data.page - 1) * data.page_size,
        }
        found = reads_of(session).execute(paged, values).all()
        # Each page row carries the count of all matches (a window over the rows the sort has
        # read); only a page past the end, with no row to carry it, counts on its own.
        if found:
            total = found[0][1]
        else:
            total = reads_of(session).execute(counted, values).scalar() if data.page > 1 else 0
        revisions = {patient_id: revision for patient_id, _, revision in found}
        rows = _details(session, revisions, data.program_id, identified)
    return PatientPage(rows=rows, total=total, page=data.page, page_size=data.page_size)


@dataclass(frozen=True)
class _Shape:
    """What a search's statements depend on besides its values (see :func:`_statements`)."""

    program: bool
    status: bool
    identified: bool
    sort: str
    descending: bool


#: The bound parameters of the search statements.
_PROGRAM: Final = bindparam("program_id", type_=Integer)
_STATUS: Final = bindparam("status", type_=Enrollment.status.type)
_IDS: Final = bindparam("ids", expanding=True, type_=Integer)


def _build(shape: _Shape, text: str = "") -> tuple[Select[Any], Select[Any]]:
    """The count and the page-id statements of a search (``text`` empty: no text filter)."""
    matching = _matching(shape, text)
    count = select(func.count()).select_from(matching.subquery())
    return count, _page_ids(matching, shape)


@functools.cache
def _statements(shape: _Shape) -> tuple[Select[Any], Select[Any]]:
    """:func:`_build` without text, built once per shape: building these statements (and their
    cache keys) cost more than running them."""
    return _build(shape)


def _enrollments(program: bool, ids: bool = False) -> Any:
    """Each patient's newest enrollment (in the program ``program_id`` when ``program``; of the
    patients ``ids`` when ``ids``: both bound parameters), as a subquery.

    Newest by start date, then id: the enrollment for which no newer one exists (an anti-join
    on the patient index, cheaper than a window over every enrollment).
    """
    newer = aliased(Enrollment)
    later = or_(
        newer.start_date > Enrollment.start_date,
        and_(newer.start_date == Enrollment.start_date, newer.id > Enrollment.id),
    )
    has_newer = select(newer.id).where(
        newer.patient_id == Enrollment.patient_id, newer.deleted_at.is_(None), later
    )
    query = select(Enrollment.patient_id, Enrollment.program_id, Enrollment.status).where(
        Enrollment.deleted_at.is_(None)
    )
    if program:
        query = query.where(Enrollment.program_id == _PROGRAM)
        has_newer = has_newer.where(newer.program_id == _PROGRAM)
    if ids:
        query = query.where(Enrollment.patient_id.in_(_IDS))
    return query.where(~has_newer.exists()).subquery("enrollment")


def _matching(shape: _Shape, text: str) -> Select[Any]:
    """Patient ids (with their revision, their last visit and, when the search filters or sorts
    by it, their newest enrollment's status) that match the filters and the query.

    A patient is listed when they have an enrollment (in the program, when filtered by one): a
    search that neither filters nor sorts by the status asks just that (``EXISTS``, one look-up
    on the enrollments' patient index), without finding which enrollment is the newest (an
    anti-join per enrollment: on SQLite the list's page took 2.25 ms that way against 1.34 ms).
    """
    needs_status = shape.status or shape.sort == "status"
    columns: list[Any] = [Patient.id, Patient.revision, Patient.last_visit_date]
    if needs_status:
        enrollment = _enrollments(shape.program)
        query = select(*columns, enrollment.c.status).join(
            enrollment, enrollment.c.patient_id == Patient.id
        )
        if shape.status:
            query = query.where(enrollment.c.status == _STATUS)
    else:
        enrolled = select(Enrollment.id).where(
            Enrollment.patient_id == Patient.id, Enrollment.deleted_at.is_(None)
        )
        if shape.program:
            enrolled = enrolled.where(Enrollment.program_id == _PROGRAM)
        query = select(*columns).where(enrolled.exists())
    query = query.where(Patient.deleted_at.is_(None))
    if text:
        query = query.outerjoin(PatientIdentity, PatientIdentity.patient_id == Patient.id)
        by_research_id = Patient.research_id.istartswith(text, autoescape=True)
        if shape.identified:
            query = query.where(
                or_(
                    by_research_id,
                    PatientIdentity.mrn.istartswith(text, autoescape=True),
                    PatientIdentity.family_name.icontains(text, autoescape=True),
                    PatientIdentity.given_name.icontains(text, autoescape=True),
                )
            )
        else:
            query = query.where(by_research_id)
    return query


def _latest_pasi_of(patient_id: Any, column: Any = Assessment.score_value) -> Any:
    """The PASI of the patient's latest visit (by date) with one, as a correlated scalar
    subquery: one look-up on the assessments' patient index per patient listed or sorted."""
    return (
        select(column)
        .join(Visit, Visit.id == Assessment.visit_id)
        .where(
            Assessment.patient_id == patient_id,
            Assessment.instrument == Instrument.PASI,
            Assessment.deleted_at.is_(None),
            Assessment.score.is_not(None),
            Visit.deleted_at.is_(None),
        )
        .order_by(Visit.visit_date.desc(), Visit.id.desc(), Assessment.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _open_alerts(ids: bool = False) -> Any:
    """Each patient's number of open flags, by the one rule :attr:`SafetyFlag.is_open` (the
    patient page's and the alerts page's)."""
    query = select(SafetyFlag.patient_id, func.count().label("open_alerts")).where(
        SafetyFlag.is_open
    )
    if ids:
        query = query.where(SafetyFlag.patient_id.in_(_IDS))
    return query.group_by(SafetyFlag.patient_id).subquery("open_alerts")


def _page_ids(matching: Select[Any], shape: _Shape) -> Select[Any]:
    """The ids on the requested page (bound ``limit`` and ``offset``), ordered by the sort key
    (empty values last), then id; each with the number of all matching patients and its
    revision."""
    found = matching.subquery("found")
    query = select(found.c.id, func.count().over(), found.c.revision).select_from(found)
    keys: list[Any]
    if shape.sort == "last_visit":
        keys = [found.c.last_visit_date]
    elif shape.sort == "pasi":
        keys = [_latest_pasi_of(found.c.id)]
    elif shape.sort == "alerts":
        alerts = _open_alerts()
        query = query.outerjoin(alerts, alerts.c.patient_id == found.c.id)
        keys = [func.coalesce(alerts.c.open_alerts, 0)]
    elif shape.sort == "status":
        keys = [found.c.status]
    else:
        query = query.join(Patient, Patient.id == found.c.id)
        if shape.sort == "research_id":
            keys = [Patient.research_id]
        else:
            query = query.outerjoin(PatientIdentity, PatientIdentity.patient_id == found.c.id)
            if shape.sort == "mrn":
                keys = [PatientIdentity.mrn]
            else:
                keys = [
                    func.lower(PatientIdentity.family_name),
                    func.lower(PatientIdentity.given_name),
                ]
    order = []
    for key in keys:
        order.append((key.desc() if shape.descending else key.asc()).nulls_last())
    query = query.order_by(*order, found.c.id)
    return query.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))


#: How many patients' list rows each process keeps.
KEPT_ROWS: Final = 8192
#: Each patient's list row as :func:`_details_statement` reads it, kept under the database, the
#: patient's id and revision (read before the row: see :func:`_details`) and the program filter.
_ROWS: Final[Memo[tuple[Any, ...]]] = Memo(KEPT_ROWS)


def _details(
    session: Session, page: Mapping[int, int], program_id: int | None, identified: bool
) -> tuple[PatientListRow, ...]:
    """The list rows of the ``page``'s patients (id → revision, read before their rows), in its
    order.

    Everything a row shows is the patient's record (their enrollment and its program's name,
    visits, scores and flags), so a row read before is shown again while the patient's revision
    is the same; only the other patients' rows are read. A patient gone since the page's ids
    were read (deleted meanwhile, on a database whose statements each see the latest commits)
    is left out.
    """
    if not page:
        return ()
    scope = database_token(reads_of(session).engine)
    keys = {pid: (scope, pid, revision, program_id) for pid, revision in page.items()}
    found = {pid: _ROWS.get(key) for pid, key in keys.items()}
    missing = [pid for pid, row in found.items() if row is None]
    if missing:
        query = _details_statement(program_id is not None)
        values = {"ids": missing, "program_id": program_id}
        for row in reads_of(session).execute(query, values):
            found[row[0]] = tuple(row)
            _ROWS.put(keys[row[0]], tuple(row))
    view = (program_id, identified)
    # The change is derived from the rows as of the revision read with the page (see _changes).
    revisions = {pid: (row[1], page[pid]) for pid, row in found.items() if row is not None}
    change = _changes(session, revisions, view)
    out = []
    for patient_id in page:
        kept = found[patient_id]
        if kept is None:
            continue
        (_, research_id, family, given, mrn, program_id, program, status, last, score, alerts_n) = (
            kept
        )
        out.append(
            PatientListRow(
                patient_id=patient_id if identified else None,
                research_id=research_id,
                family_name=family if identified else None,
                given_name=given if identified else None,
                mrn=mrn if identified else None,
                program_id=program_id,
                program=program if identified else None,
                status=EnrollmentStatus(status).value,
                last_visit=last,
                current_pasi=score,
                pchg=change.get(patient_id),
                open_alerts=int(alerts_n),
            )
        )
    return tuple(out)


@functools.cache
def _details_statement(program: bool) -> Select[Any]:
    """The list row of each patient in ``ids`` (in the program ``program_id`` when
    ``program``), built once per shape."""
    enrollment, alerts = _enrollments(program, ids=True), _open_alerts(True)
    return (
        select(
            Patient.id,
            Patient.research_id,
            PatientIdentity.family_name,
            PatientIdentity.given_name,
            PatientIdentity.mrn,
            Program.id,
            Program.name,
            enrollment.c.status,
            Patient.last_visit_date,
            _latest_pasi_of(Patient.id, Assessment.score),
            func.coalesce(alerts.c.open_alerts, 0),
        )
        .join(enrollment, and_(enrollment.c.patient_id == Patient.id))
        .join(Program, Program.id == enrollment.c.program_id)
        .outerjoin(PatientIdentity, PatientIdentity.patient_id == Patient.id)
        .outerjoin(alerts, alerts.c.patient_id == Patient.id)
        .where(Patient.id.in_(_IDS))
    )


#: How many patients' changes from baseline each process keeps.
KEPT_CHANGES: Final = 8192
#: A list view: the program filter (``None``: every program) and whether it is identified.
View = tuple[int | None, bool]
#: The clinic's view: every program, identified.
CLINIC: Final[View] = (None, True)
#: Each patient's latest change from baseline (in a 1-tuple: it may be None), kept under the
#: database, the patient's id and revision (raised by the database on every change to their
#: record: see migration 0008) and the view it was derived in.
_CHANGES: Final[Memo[tuple[float | None]]] = Memo(KEPT_CHANGES)


def keep_changes(db: Database, patient_ids: Sequence[int]) -> int:
    """Derive the list's change from baseline of each of ``patient_ids`` (the first
    :data:`KEPT_CHANGES`) as the clinic's list shows it (every program, identified), in one
    pass of the engine, and keep each; the number of patients derived.

    A list page then finds them kept (see :func:`_changes`); what is kept is what the page
    would derive from the same rows. When the engine refuses the batch, nothing is kept and
    each page derives its own rows (and reports the problem) as before.
    """
    with db.transaction() as session:
        return _keep_changes(session, patient_ids)


#: The patients scored since this process last derived list changes in a batch.
PENDING: Final = ScoredSince()


def keep_pending_changes(session: Session) -> int:
    """:func:`keep_changes` for the patients scored since the last look (:data:`PENDING`)."""
    return _keep_changes(session, PENDING.take(reads_of(session), KEPT_CHANGES))


def _keep_changes(session: Session, patient_ids: Sequence[int]) -> int:
    revisions = _revisions(session, list(patient_ids)[:KEPT_CHANGES])
    try:
        return len(_derive_changes(session, {CLINIC: revisions}))
    except ValidationError:
        return 0


#: Patient id → (research id, revision) of the live patients ``ids``.
_REVISIONS: Final = select(Patient.id, Patient.research_id, Patient.revision).where(
    Patient.deleted_at.is_(None), Patient.id.in_(bindparam("ids", expanding=True, type_=Integer))
)


def _revisions(session: Session, patient_ids: list[int]) -> dict[int, tuple[str, int]]:
    if not patient_ids:
        return {}
    found = reads_of(session).execute(_REVISIONS, {"ids": patient_ids})
    return {pid: (research_id, revision) for pid, research_id, revision in found}


def _changes(
    session: Session, page: Mapping[int, tuple[str, int]], view: View
) -> dict[int, float | None]:
    """Patient id → percent change of the latest PASI from baseline of the ``page``'s patients
    (id → research id and revision, read before their rows), by the endpoint engine
    (:func:`~psotrack.services.status.latest_by_patient`), derived only for patients whose
    revision has not been seen before in this ``view``.

    Those are derived in one pass with every other patient scored since the last look
    (:data:`PENDING`, the clinic's view of them): most often they are why the page missed, and
    the pages that follow find them kept. When the engine refuses that batch, the page's own
    patients are derived alone (and a problem of theirs is reported).
    """
    scope = database_token(reads_of(session).engine)
    kept = {pid: _CHANGES.get((scope, pid, revision, view)) for pid, (_, revision) in page.items()}
    missing = {pid: page[pid] for pid, value in kept.items() if value is None}
    if missing:
        pending = [p for p in PENDING.take(reads_of(session), KEPT_CHANGES) if p not in page]
        others = _revisions(session, pending)
        together = {CLINIC: others, view: missing} if view != CLINIC else {view: others | missing}
        try:
            computed = _derive_changes(session, together)
        except ValidationError:
            if not others:
                raise
            computed = _derive_changes(session, {view: missing})
        kept.update({pid: (computed.get(pid),) for pid in missing})
    return {pid: value[0] for pid, value in kept.items() if value is not None}


def _derive_changes(
    session: Session, views: Mapping[View, Mapping[int, tuple[str, int]]]
) -> dict[int, float | None]:
    """Derive, in one pass, and keep the change of each patient of each view (patient id →
    research id and revision, read before the rows read here); patient id → change."""
    scope = database_token(reads_of(session).engine)
    rows: list[dict[str, Any]] = []
    for (program_id, identified), patients in views.items():
        if patients:
            rows += assessment_rows(session, program_id, identified, patients, (Instrument.PASI,))
    by_research_id: dict[str, float | None] = {}
    if rows:  # a patient without a PASI has no change
        frame = pl.DataFrame(rows, schema=FRAME_SCHEMA, orient="row")
        latest = latest_by_patient(frame.sort("patient_id", "day"))
        by_research_id = dict(latest.select("patient_id", "pchg").iter_rows())
    computed = {}
    for view, patients in views.items():
        for pid, (research_id, revision) in patients.items():
            computed[pid] = by_research_id.get(research_id)
            _CHANGES.put((scope, pid, revision, view), (computed[pid],))
    return computed
