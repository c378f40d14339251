"""Study day 0 of each patient, worked out one way everywhere (flare checks, timeline, tables).

Day 0 is the date of the patient's first cell-therapy administration: the date of the visit it
was given at, or, when it was logged without a visit, the calendar date of its start time (UTC).
An assessment on day 0 made before the infusion is therefore baseline (``day ≤ 0``). A patient
with no administration yet is counted from the start of the first enrollment.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from psotrack.store.models import Administration, Enrollment, Visit


def first_dose_dates(
    session: Session, patient_ids: Collection[int] | None = None
) -> dict[int, date]:
    """The first administration's date of each patient that has one (deleted rows left out)."""
    query = (
        select(Administration.patient_id, Administration.started_at, Visit.visit_date)
        .outerjoin(Visit, (Visit.id == Administration.visit_id) & Visit.deleted_at.is_(None))
        .where(Administration.deleted_at.is_(None))
    )
    if patient_ids is not None:
        query = query.where(Administration.patient_id.in_(list(patient_ids)))
    first: dict[int, date] = {}
    for patient_id, started, on_visit in session.execute(query):
        day = on_visit or started.date()
        if patient_id not in first or day < first[patient_id]:
            first[patient_id] = day
    return first


def day_zero(session: Session, patient_id: int) -> date | None:
    """One patient's day 0: the first administration's date, else the first enrollment's start."""
    first = first_dose_dates(session, [patient_id]).get(patient_id)
    if first is not None:
        return first
    return session.scalar(
        select(func.min(Enrollment.start_date)).where(
            Enrollment.patient_id == patient_id, Enrollment.deleted_at.is_(None)
        )
    )
