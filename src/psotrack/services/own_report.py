"""A patient's own progress report: the care team's report of them, in the patient's copy.

As for the rest of the own record (:mod:`psotrack.services.own_record`), the patient is never
taken from the request: it is the patient the signed-in account is linked to, read from the
users table inside the transaction after :func:`~psotrack.services.context.resolve_actor` has
checked the stored role. There is no patient id to pass, so no other patient's report to ask for.

What the patient's copy holds (psotrack's choice, ``ReportCopy.PATIENT`` of
:mod:`psotrack.services.patient_report`): the same report, built by the same code from the same
record, read as a researcher reads it (coded values only,
:func:`~psotrack.services.timeline.read_timeline`) with the patient's own name added back. So it
leaves out what the own-record page leaves out, the MRN and free text the care team wrote (visit
labels, verbatim adverse-event terms, lot numbers, notes), and it leaves out the photos and the
open safety flags: a safety flag is the care team's work list (acknowledge, report by a
deadline), not a measurement. The report says in their place that they are not in this copy,
never that there are none.
"""

from __future__ import annotations

from dataclasses import replace

from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.own_record import own_patient
from psotrack.services.patient_charts import read_lab_series, read_score_series
from psotrack.services.patient_overview import read_overview
from psotrack.services.patient_report import PatientReport, ReportCopy, assemble_report
from psotrack.store.models import PatientIdentity


def own_report(db: Database, actor: Actor) -> PatientReport:
    """The signed-in patient's own progress report content (their copy, see the module)."""
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_OWN_RECORD)
        patient_id = own_patient(session, actor).id
        overview = read_overview(session, patient_id, identified=False)
        identity = session.get(PatientIdentity, patient_id)
        series = read_score_series(session, patient_id, labels=False)
        labs = [read_lab_series(session, patient_id, code) for code in overview.analytes]
    timeline = replace(overview.timeline, identity=identity)
    return assemble_report(
        replace(overview, timeline=timeline), series, labs, (), 0, ReportCopy.PATIENT
    )
