"""Study day 0 of each patient, worked out one way everywhere (flare checks, timeline, tables).

Day 0 is the date of the patient's first cell-therapy administration: the date of the visit it
was given at, or, when it was logged without a visit, the calendar date of its start time (UTC).
An assessment on day 0 made before the infusion is therefore baseline (``day ≤ 0``). A patient
with no administration yet is counted from the start of the first enrollment
(:func:`day_zero_dates`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from psotrack.services.context import reads_of
from psotrack.store.models import Administration, Enrollment, Visit


def utc_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in UTC (a time without a zone is taken as UTC).

    >>> from datetime import timedelta, timezone
    >>> utc_date(datetime(2026, 1, 5, 23, 30, tzinfo=timezone(timedelta(hours=-2))))
    datetime.date(2026, 1, 6)
    """
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(UTC).date()


def study_day(on: date, day_zero: date) -> int:
    """Days from day 0 (day 0 itself is 0, the day before is −1: there is no day between).

    >>> study_day(date(2026, 2, 2), date(2026, 1, 5)), study_day(date(2026, 1, 4), date(2026, 1, 5))
    (28, -1)
    """
    return (on - day_zero).days


def of_patients(query: Any, column: Any) -> dict[bool, Any]:
    """``query`` for every patient (``False``) and for the patients of bound ``ids`` (``True``):
    built once, values bound at each call."""
    return {False: query, True: query.where(column.in_(bindparam("ids", expanding=True)))}


#: Every live administration's patient, start and visit date (Core: no ORM work per call).
_DOSES: Final = of_patients(
    select(Administration.patient_id, Administration.started_at, Visit.visit_date)
    .outerjoin(Visit, (Visit.id == Administration.visit_id) & Visit.deleted_at.is_(None))
    .where(Administration.deleted_at.is_(None)),
    Administration.patient_id,
)


def first_dose_dates(
    session: Session, patient_ids: Collection[int] | None = None
) -> dict[int, date]:
    """The first administration's date of each patient that has one (deleted rows left out)."""
    chosen = patient_ids is not None
    ids = {"ids": list(patient_ids)} if patient_ids is not None else {}
    first: dict[int, date] = {}
    for patient_id, started, on_visit in reads_of(session).execute(_DOSES[chosen], ids):
        day = dose_day(started, on_visit)
        if patient_id not in first or day < first[patient_id]:
            first[patient_id] = day
    return first


def dose_day(started_at: datetime, visit_date: date | None) -> date:
    """The day of one administration: the date of the (live) visit it was given at, else the
    UTC calendar date of its start.

    >>> dose_day(datetime(2026, 1, 6, 1, 0, tzinfo=UTC), date(2026, 1, 5))
    datetime.date(2026, 1, 5)
    """
    return visit_date or utc_date(started_at)


def first_dose_of(
    administrations: Iterable[Administration], visit_dates: Mapping[int, date]
) -> date | None:
    """:func:`first_dose_dates` of one patient from their live administrations and the dates
    of their live visits (by id), already read."""
    days = (
        dose_day(a.started_at, visit_dates.get(a.visit_id) if a.visit_id is not None else None)
        for a in administrations
    )
    return min(days, default=None)


def day_zero_of(first_dose: date | None, starts: Iterable[date]) -> tuple[date, str] | None:
    """The rule itself: the first administration's date, else the earliest of the live
    enrollments' ``starts``; with what it is (``"first administration"``, ``"enrollment
    start"``), or ``None`` with neither.

    >>> day_zero_of(None, [date(2026, 3, 1), date(2026, 1, 5)])
    (datetime.date(2026, 1, 5), 'enrollment start')
    """
    if first_dose is not None:
        return first_dose, "first administration"
    start = min(starts, default=None)
    return None if start is None else (start, "enrollment start")


def day_zero_dates(
    session: Session, patient_ids: Collection[int] | None = None
) -> dict[int, tuple[date, str]]:
    """Day 0 of each patient that has one (:func:`day_zero_of`), and what it is.

    A patient with neither (no live enrollment, no administration) has no day 0 and is absent.
    """
    query = select(Enrollment.patient_id, Enrollment.start_date).where(
        Enrollment.deleted_at.is_(None)
    )
    if patient_ids is not None:
        query = query.where(Enrollment.patient_id.in_(list(patient_ids)))
    starts: dict[int, list[date]] = {}
    for patient_id, start in session.execute(query):
        starts.setdefault(patient_id, []).append(start)
    return day_zeros(first_dose_dates(session, patient_ids), starts)


def day_zeros(
    first_doses: Mapping[int, date], starts: Mapping[int, Iterable[date]]
) -> dict[int, tuple[date, str]]:
    """:func:`day_zero_of` for each patient, from their first doses and their live enrollments'
    starts (read by the caller); a patient with neither is absent."""
    zero = {
        pid: day_zero_of(first_doses.get(pid), starts.get(pid, ()))
        for pid in {*first_doses, *starts}
    }
    return {pid: found for pid, found in zero.items() if found is not None}


def day_zero(session: Session, patient_id: int) -> date | None:
    """One patient's day 0 (:func:`day_zero_dates`), or ``None`` when they have none."""
    found = day_zero_dates(session, [patient_id]).get(patient_id)
    return found[0] if found is not None else None
