"""Importing a REDCap export (or a file of DLQI items) through the services: all rows or none.

Two steps, as ``psotrack import assessments`` does. Every row is read and scored
(:mod:`psotrack.services.redcap_plan`, no database): any problem refuses the whole file, each named
by record, event, instance and field. In one unit of work, every visit, assessment, lab
result, administration and adverse event is written by its own service (``record_visit``,
``record_assessment``, ``record_lab_result``, ``log_administration``, ``report_adverse_event``),
so each is checked, scored by the instruments, flagged and audited exactly as if entered by hand.
A problem a service finds (a unit that does not fit the analyte, a serious event without a
criterion) is collected with the row it came from, and the unit is rolled back: nothing stored.
A dry run does all of this and rolls back at the end, so it reports what would be imported.
The records are read in groups of 500, each stored while a forked child reads the next
(:func:`~psotrack.services.redcap_plan.plans_by_records`); what is stored is what the file read
whole stores (a refusal lists each group's problems in turn).

Patients are matched by the record id used as MRN. Unknown ones are registered as
``import assessments`` registers research patients (no name or birth date: a research export
carries none), enrolled in the chosen program from their first visit's date, with the REDCap arm
(``…_arm_2`` → "arm 2"). A visit label (the event name) already recorded for a patient is refused.

Who acts is a person (``--user``): adverse events and administrations may not be recorded by the
system user, and the audit log should name who brought the data in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from psotrack.collector import collector_paused
from psotrack.errors import Problem, ValidationError
from psotrack.interop.redcap_files import DataDictionary, LocatedProblem, RecordRow
from psotrack.interop.redcap_mapping import RedcapMapping
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.batch_entry import VisitEntry, record_visits_in_bulk
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.import_patients import import_patients, import_program
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import record_visit
from psotrack.services.redcap_plan import Disagreement, Plan, PlannedRecord, plans_by_records

#: At most this many problems are listed (a wholly wrong file would otherwise print thousands).
MAX_PROBLEMS = 200


@dataclass(frozen=True)
class ImportResult:
    """What an import stored (or, for a dry run, would store), and the totals that disagree."""

    source: str
    rows: int
    skipped_rows: int
    records: int
    patients_created: int
    visits: int
    assessments: int
    lab_results: int
    administrations: int
    adverse_events: int
    disagreements: tuple[Disagreement, ...]
    dry_run: bool

    def summary(self) -> pl.DataFrame:
        counts = {
            "rows read": self.rows,
            "rows skipped (no data)": self.skipped_rows,
            "records": self.records,
            "patients created": self.patients_created,
            "visits": self.visits,
            "assessments": self.assessments,
            "lab results": self.lab_results,
            "administrations": self.administrations,
            "adverse events": self.adverse_events,
            "totals disagreeing with the file": len(self.disagreements),
        }
        return pl.DataFrame({"what": list(counts), "count": list(counts.values())})


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def import_redcap(
    db: Database,
    actor: Actor,
    dictionary: DataDictionary,
    rows: list[RecordRow],
    mapping: RedcapMapping,
    *,
    program: str,
    create_program: bool = False,
    day_zero: date | None = None,
    source: str = "REDCap export",
    synthetic: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Check, score and store a REDCap export in one unit of work (see the module docstring).

    The records are read and scored in groups, the next group in a forked child while this one
    is stored (:func:`~psotrack.services.redcap_plan.plans_by_records`). The plans stay alive
    to the end: the cyclic collector is paused meanwhile (:mod:`psotrack.collector`),
    which would otherwise rescan them again and again.
    """
    with collector_paused():
        plans = plans_by_records(dictionary, rows, mapping, day_zero)
        with closing(plans):
            return store_plans(
                db, actor, plans, program, create_program, source, synthetic, dry_run
            )


def store_plans(
    db: Database,
    actor: Actor,
    plans: Iterable[Plan],
    program: str,
    create: bool,
    source: str,
    synthetic: bool,
    dry_run: bool,
) -> ImportResult:
    """Write checked plans (of distinct records) through the services in one unit of work.

    Every plan is stored, even after a problem (the unit is then rolled back), so that a refused
    file lists the problems of all its rows: the file's own problems first, then those the
    services found, at most MAX_PROBLEMS. A plan where a record is refused whole (a deleted
    patient, a visit already imported) stores nothing more of its records.
    """
    try:
        with db.unit_of_work() as unit:
            into = _Into(program, create, source, synthetic)
            result = _store(unit, actor, plans, into, dry_run)
            if dry_run:
                raise _DryRun(result)
            return result
    except _DryRun as dry:
        return dry.result


@dataclass(frozen=True)
class _Into:
    """Where the records go: the program (created if ``create``), the source named in the
    audit log, and whether new patients are synthetic."""

    program: str
    create: bool
    source: str
    synthetic: bool


@dataclass
class _Tally:
    """What the plans held and what was stored so far."""

    rows: int = 0
    skipped: int = 0
    records: int = 0
    created: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    read_problems: list[Problem] = field(default_factory=list)  # the file's own problems
    problems: list[Problem] = field(default_factory=list)  # those the services found
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("visits", "assessments", "labs", "administrations", "adverse_events"), 0
        )
    )

    def add(self, plan: Plan) -> None:
        self.rows += plan.rows
        self.skipped += plan.skipped
        self.records += len(plan.records)
        self.disagreements.extend(plan.disagreements)
        self.read_problems.extend(plan.problems)

    def full(self) -> bool:
        return len(self.read_problems) + len(self.problems) >= MAX_PROBLEMS


def _store(
    unit: Database, actor: Actor, plans: Iterable[Plan], into: _Into, dry_run: bool
) -> ImportResult:
    with unit.transaction() as session:
        person = resolve_actor(session, actor, Permission.ENROLL)
        person.require(Permission.RECORD_CLINICAL)
        program_id = import_program(unit, session, actor, into.program, into.create, into.source)
    tally = _Tally()
    for plan in plans:
        tally.add(plan)
        if not tally.full():
            _store_records(unit, actor, person, plan, program_id, into, tally)
    problems = tally.read_problems + tally.problems
    if problems:
        raise ValidationError(problems=problems[:MAX_PROBLEMS])
    counts = tally.counts
    return ImportResult(
        source=into.source,
        rows=tally.rows,
        skipped_rows=tally.skipped,
        records=tally.records,
        patients_created=tally.created,
        visits=counts["visits"],
        assessments=counts["assessments"],
        lab_results=counts["labs"],
        administrations=counts["administrations"],
        adverse_events=counts["adverse_events"],
        disagreements=tuple(tally.disagreements),
        dry_run=dry_run,
    )


def _store_records(
    unit: Database,
    actor: Actor,
    person: Actor,
    plan: Plan,
    program_id: int,
    into: _Into,
    tally: _Tally,
) -> None:
    """One plan's patients, then their visits, assessments and entries (problems to ``tally``)."""
    problems = tally.problems
    before = len(problems)
    with unit.transaction() as session:
        patients, created_ids = import_patients(
            session, person, plan, program_id, into.source, into.synthetic, problems
        )
    if len(problems) > before:  # a record refused whole (a deleted patient, a visit imported)
        return
    tally.created += len(created_ids)
    counts = tally.counts
    # New patients without an administration: no flare check can fire, so their visits and
    # assessments are written in bulk (services.batch_entry); everyone else call by call.
    bulk = [
        record
        for record in plan.records.values()
        if record.record in created_ids
        and not any(e.section == "administrations" for e in record.entries)
    ]
    in_bulk = _store_in_bulk(unit, person, bulk, patients, plan.visit_field, counts, problems)
    for record in plan.records.values():
        _store_record(
            unit,
            actor,
            record,
            patients[record.record],
            plan.visit_field,
            counts,
            problems,
            in_bulk.get(record.record),
        )
        if tally.full():
            break


def _store_record(
    unit: Database,
    actor: Actor,
    record: PlannedRecord,
    patient_id: int,
    plan_field: str,
    counts: dict[str, int],
    problems: list[Problem],
    stored_visits: dict[str, int] | None = None,
) -> None:
    """One record's visits, administrations, assessments, labs and events, in that order.

    Administrations come before assessments so that the flare check of each PASI sees the
    patient's first dose, as it would have when the visits were entered one by one. Visits and
    assessments already stored in bulk (``stored_visits``) are not stored again.
    """
    visits: dict[str, int] = dict(stored_visits or {})
    ordered = sorted(record.visits.items(), key=lambda item: (item[1].visit_date, item[0]))
    for event, visit in [] if stored_visits is not None else ordered:
        payload = {
            "patient_id": patient_id,
            "visit_date": visit.visit_date,
            "visit_type": visit.visit_type,
            "label": visit.label,
        }
        made = _call(
            problems,
            visit.where,
            {"label": plan_field},
            record_visit,
            unit,
            actor,
            payload,
        )
        if made is not None:
            visits[event] = made
            counts["visits"] += 1
    for entry in record.entries:
        if entry.section == "administrations":
            payload = {**entry.payload, "patient_id": patient_id}
            if entry.event in visits:
                payload["visit_id"] = visits[entry.event]
            if _call(problems, entry.where, entry.fields, log_administration, unit, actor, payload):
                counts["administrations"] += 1
    for event, visit in [] if stored_visits is not None else ordered:
        if event not in visits:
            continue
        for assessment in visit.assessments:
            payload = {
                "visit_id": visits[event],
                "instrument": assessment.instrument,
                "responses": assessment.responses,
            }
            fields = {f"responses.{k}": v for k, v in assessment.fields.items()}
            if _call(problems, visit.where, fields, record_assessment, unit, actor, payload):
                counts["assessments"] += 1
    for entry in record.entries:
        payload = {**entry.payload, "patient_id": patient_id}
        if entry.section == "labs":
            if entry.event in visits:
                payload["visit_id"] = visits[entry.event]
            if _call(problems, entry.where, entry.fields, record_lab_result, unit, actor, payload):
                counts["labs"] += 1
        elif entry.section == "adverse_events":
            recorded_on = payload.pop("recorded_on", None)

            def report(u: Database, a: Actor, p: Mapping[str, Any], on: Any = recorded_on) -> int:
                return report_adverse_event(u, a, p, recorded_on=on)

            if _call(problems, entry.where, entry.fields, report, unit, actor, payload):
                counts["adverse_events"] += 1


def _store_in_bulk(
    unit: Database,
    person: Actor,
    records: list[PlannedRecord],
    patients: dict[str, int],
    plan_field: str,
    counts: dict[str, int],
    problems: list[Problem],
) -> dict[str, dict[str, int]]:
    """Visits and assessments of ``records`` through services.batch_entry; visit ids by event.

    Each assessment goes as the plan scored it (scored once, when the file was read).
    """
    planned = [(r, event, v) for r in records for event, v in r.visits.items()]
    entries = [
        VisitEntry(
            v.where,
            {"label": plan_field},
            {
                "patient_id": patients[r.record],
                "visit_date": v.visit_date,
                "visit_type": v.visit_type,
                "label": v.label,
            },
            [a.entry for a in v.assessments],
        )
        for r, _, v in planned
    ]
    stored: dict[str, dict[str, int]] = {r.record: {} for r in records}
    with unit.transaction() as session:
        visits, assessments = record_visits_in_bulk(session, person, entries, problems)
    for (record, event, _), visit_id in zip(planned, visits, strict=True):
        if visit_id is not None:
            stored[record.record][event] = visit_id
    counts["visits"] += sum(visit_id is not None for visit_id in visits)
    counts["assessments"] += assessments
    return stored


def _call(
    problems: list[Problem],
    where: str,
    fields: Mapping[str, str],
    service: Callable[[Database, Actor, Mapping[str, Any]], int],
    unit: Database,
    actor: Actor,
    payload: Mapping[str, Any],
) -> int | None:
    """Call one service; its problems are kept, named by the row and the file's field."""
    try:
        return service(unit, actor, payload)
    except ValidationError as exc:
        problems.extend(
            LocatedProblem(fields.get(p.field, p.field), p.value, p.allowed, p.kind, where=where)
            for p in exc.problems
        )
        return None


__all__ = ["ImportResult", "import_redcap", "store_plans"]
