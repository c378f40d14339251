"""Everything the patient page shows in one call: record, status sentence, open flags, programs.

The parts come from the services that own them (:func:`~psotrack.services.timeline.load_timeline`,
:func:`~psotrack.services.status.patient_status`, :func:`~psotrack.services.flags.open_alerts`);
this module only adds what none of them gives (the names of the patient's programs, the
analytes that have a chart) and requires the right to read identified records first, as the
page shows names, MRNs and photos.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Final, TypeVar

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session

from psotrack.services.context import Actor, Database, Permission, reads_of, resolve_actor
from psotrack.services.flags import Alert, open_alerts
from psotrack.services.patients import get_patient
from psotrack.services.status import PatientStatus, status_of
from psotrack.services.timeline import PatientTimeline, read_timeline, timeline_frame
from psotrack.store.models import Assessment, Enrollment, Program, Visit
from psotrack.store.vocabulary import ANALYTES

K = TypeVar("K")

#: The score charts of the patient page, in the order shown (``reports.figures.SCORES``).
SCORE_CHARTS: Final = ("pasi", "bsa", "pga", "dlqi", "itch")


@dataclass(frozen=True)
class PatientOverview:
    """One patient's page: the whole record, where they stand, what needs attention.

    ``programs``: program id → name, for the patient's enrollments. ``analytes``: the analytes
    with at least one result, each with its label (a chart each).
    """

    timeline: PatientTimeline
    status: PatientStatus
    alerts: tuple[Alert, ...]
    programs: Mapping[int, str]
    analytes: Mapping[str, str] = field(default_factory=dict)

    @property
    def visits(self) -> dict[int, Visit]:
        """The patient's visits by id (assessments, labs and photos name their visit by id)."""
        return {visit.id: visit for visit in self.timeline.visits}

    @property
    def assessments(self) -> list[tuple[Visit, Assessment]]:
        """Each assessment with its visit, oldest visit first."""
        visits = self.visits
        found = [(visits[a.visit_id], a) for a in self.timeline.assessments if a.visit_id in visits]
        return sorted(found, key=lambda pair: (pair[0].visit_date, pair[0].id, pair[1].id))

    def study_day(self, when: date) -> int | None:
        """Days from day 0 (the first administration) to ``when``."""
        zero = self.timeline.day_zero
        return None if zero is None else (when - zero).days

    @property
    def current_enrollment(self) -> Enrollment | None:
        """The newest enrollment (its program and status head the page)."""
        return self.timeline.enrollments[-1] if self.timeline.enrollments else None


#: The programs a patient is (or was) enrolled in: id → name (bound ``patient_id``).
_PROGRAMS: Final = (
    select(Program.id, Program.name)
    .join(Enrollment, Enrollment.program_id == Program.id)
    .where(Enrollment.patient_id == bindparam("patient_id", type_=Integer))
)


def patient_overview(db: Database, actor: Actor, patient_id: int) -> PatientOverview:
    """The patient page's content; :class:`~psotrack.errors.NotFound` for an unknown patient.

    Read in one transaction (one consistent view, one look-up of the acting user).
    """
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        return _with_alerts(session, patient_id)


def overview_unless_kept(
    db: Database, actor: Actor, patient_id: int, kept: Callable[[int], K | None]
) -> K | PatientOverview:
    """What ``kept`` finds under the patient's revision (raised by the database on every change
    to their record, see migration 0008); else :func:`patient_overview`'s content, read in the
    same session (:meth:`Database.reads`) after the revision (so it shows that revision of the
    record or a newer one: what is made from it may be kept under
    ``overview.timeline.patient.revision``).

    The acting user is checked first either way; :class:`NotFound` for an unknown patient.
    """
    with db.reads() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        # Held while the record is read: the session keeps it (its identity map holds rows
        # weakly), so the timeline's look-up of the patient finds it without a second query.
        patient = get_patient(session, patient_id)
        found = kept(patient.revision)
        return found if found is not None else _with_alerts(session, patient_id)


def _with_alerts(session: Session, patient_id: int) -> PatientOverview:
    overview = read_overview(session, patient_id, identified=True)
    timeline = overview.timeline  # its flags are the patient's: no second read for alerts
    alerts = open_alerts(timeline.flags, timeline.patient.research_id, identified=True)
    return replace(overview, alerts=tuple(alerts))


def read_overview(session: Session, patient_id: int, *, identified: bool) -> PatientOverview:
    """The record, status and programs of :func:`patient_overview`, without its alerts, in an
    open transaction whose actor the caller has checked; ``identified`` false: the coded copies
    a researcher gets (:func:`~psotrack.services.timeline.read_timeline`)."""
    timeline = read_timeline(session, patient_id, identified)  # NotFound for an unknown patient
    programs = dict(reads_of(session).execute(_PROGRAMS, {"patient_id": patient_id}).all())
    recorded = {lab.analyte for lab in timeline.labs}
    # The status is told from the rows the timeline has read (the same long table, no re-read).
    status = status_of(session, timeline.patient, timeline_frame(timeline, identified), identified)
    return PatientOverview(
        timeline=timeline,
        status=status,
        alerts=(),
        programs=programs,
        analytes={code: label for code, (label, _) in ANALYTES.items() if code in recorded},
    )
