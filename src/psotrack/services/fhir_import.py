"""Storing a FHIR Bundle read by :mod:`psotrack.interop.fhir_read`: everything, or nothing.

Importing stores through the record's services (enroll, visits, assessments re-scored by the
instruments, administrations, labs, therapies, adverse events, photos) inside ONE unit of work,
so a refused Bundle leaves nothing; every problem is collected, prefixed with its entry number
(1-based) and resource type. Cell-therapy doses and adverse events are acts of a person, so the
importing user must be one (the system user may do neither); creating a program the Bundle
names and the database lacks needs an administrator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from psotrack.errors import Conflict, NotFound, Problem, ValidationError
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import read_assessment, record_assessment
from psotrack.services.audit import audit_changed
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import (
    create_program,
    get_patient,
    record_visit,
    register_imported_patient,
    withdraw_patient,
)
from psotrack.services.photos import attach_photo
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.store.models import (
    Enrollment,
    Patient,
    Program,
)
from psotrack.store.vocabulary import EnrollmentStatus

#: Enrollment statuses a dose may be logged under; others are set after everything is stored.
OPEN = (EnrollmentStatus.SCREENING, EnrollmentStatus.ACTIVE, EnrollmentStatus.FOLLOW_UP)


@dataclass(frozen=True)
class BundleItem:
    """One Bundle entry read into a service payload; ``links`` name the entries it refers to.

    ``links`` maps a payload field (``patient_id``, ``visit_id``, ``program_id``,
    ``administration_id``) to the ``fullUrl`` of the entry whose stored id fills it.
    """

    entry: int
    kind: str
    url: str
    payload: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)

    def problem(self, problem: Problem) -> Problem:
        """The problem named by this entry: ``entry 3 Observation.responses.head…``."""
        where = f"entry {self.entry} {self.kind}.{problem.field}"
        return Problem(where, problem.value, problem.allowed, problem.kind)


@dataclass(frozen=True)
class FhirImportPlan:
    """A Bundle read into payloads, in the order they must be stored."""

    programs: tuple[BundleItem, ...] = ()
    patients: tuple[BundleItem, ...] = ()
    enrollments: tuple[BundleItem, ...] = ()
    visits: tuple[BundleItem, ...] = ()
    assessments: tuple[BundleItem, ...] = ()
    administrations: tuple[BundleItem, ...] = ()
    therapies: tuple[BundleItem, ...] = ()
    labs: tuple[BundleItem, ...] = ()
    adverse_events: tuple[BundleItem, ...] = ()
    photos: tuple[BundleItem, ...] = ()
    #: What the reading found wrong (entries left out of the plan); reported with the rest.
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class FhirImportSummary:
    programs_created: int
    patients: int
    visits: int
    assessments: int
    administrations: int
    labs: int
    adverse_events: int
    therapies: int
    photos: int


def import_fhir(db: Database, actor: Actor, plan: FhirImportPlan) -> FhirImportSummary:
    """Store the plan through the services in one unit of work: everything, or nothing.

    Every refused entry is reported (``ValidationError`` listing each problem); entries that
    refer to a refused one are skipped, not reported twice.
    """
    problems: list[Problem] = list(plan.problems)
    stored: dict[str, int] = {}
    created = 0
    with db.unit_of_work() as unit:
        with unit.transaction() as session:
            # Checked first: the system user may not dose or report adverse events.
            resolve_actor(session, actor, Permission.ENROLL)
            names = {p.name: p.id for p in session.scalars(select(Program))}
        for item in plan.programs:
            if item.payload["name"] in names:
                stored[item.url] = names[item.payload["name"]]
            elif _store(item, problems, lambda p: create_program(unit, actor, p), stored):
                created += 1
        final_status = _enroll(unit, actor, plan, stored, problems)
        visits = _each(plan.visits, problems, stored, lambda p: record_visit(unit, actor, p))
        for item in plan.assessments:
            _check_score(item, problems)
        assessments = _each(
            plan.assessments, problems, stored, lambda p: record_assessment(unit, actor, p)
        )
        doses = _each(
            plan.administrations, problems, stored, lambda p: log_administration(unit, actor, p)
        )
        therapies = _each(
            plan.therapies, problems, stored, lambda p: record_concomitant_therapy(unit, actor, p)
        )
        labs = _each(plan.labs, problems, stored, lambda p: record_lab_result(unit, actor, p))
        events = _each(
            plan.adverse_events, problems, stored, lambda p: report_adverse_event(unit, actor, p)
        )
        photos = _each(plan.photos, problems, stored, lambda p: attach_photo(unit, actor, **p))
        if not problems:
            _close_enrollments(unit, actor, final_status, problems)
        if problems:
            raise ValidationError(problems=sorted(problems, key=_entry_number))
    return FhirImportSummary(
        programs_created=created,
        patients=len(final_status),
        visits=visits,
        assessments=assessments,
        administrations=doses,
        labs=labs,
        adverse_events=events,
        therapies=therapies,
        photos=photos,
    )


def _store(
    item: BundleItem,
    problems: list[Problem],
    call: Callable[[dict[str, Any]], int],
    stored: dict[str, int],
) -> bool:
    """Fill the links, call the service, keep the new id under the entry's URL; False if refused."""
    if any(url not in stored for url in item.links.values()):
        return False  # what it refers to was refused (and reported) already
    payload = {**item.payload, **{name: stored[url] for name, url in item.links.items()}}
    try:
        stored[item.url] = call(payload)
    except ValidationError as refused:
        problems.extend(item.problem(problem) for problem in refused.problems)
        return False
    except (Conflict, NotFound) as refused:
        # A patient clashes by MRN; anything else is named by its entry's URL.
        field, value = (
            ("identifier", payload.get("mrn")) if "mrn" in payload else ("fullUrl", item.url)
        )
        problems.append(item.problem(Problem(field, value, str(refused), "invalid")))
        return False
    except SQLAlchemyError as failed:
        # The session cannot go on after a database error: report what was found so far.
        message = str(failed.orig if hasattr(failed, "orig") else failed).splitlines()[0]
        problems.append(item.problem(Problem("resource", None, message, "invalid")))
        raise ValidationError(problems=problems) from None
    return True


def _each(
    items: tuple[BundleItem, ...],
    problems: list[Problem],
    stored: dict[str, int],
    call: Callable[[dict[str, Any]], int],
) -> int:
    return sum(_store(item, problems, call, stored) for item in items)


def _check_score(item: BundleItem, problems: list[Problem]) -> None:
    """A stated score must be the one psotrack computes from the same responses."""
    stated = item.payload.pop("stated_score", None)
    try:
        _, scored, _ = read_assessment({**item.payload, "visit_id": 1})
    except ValidationError:
        return  # reported when the assessment is recorded
    if stated is not None and scored.score_value is not None and stated != scored.score_value:
        allowed = f"the score psotrack computes from its responses ({scored.score})"
        problems.append(item.problem(Problem("valueQuantity.value", stated, allowed, "invalid")))


def _enroll(
    unit: Database,
    actor: Actor,
    plan: FhirImportPlan,
    stored: dict[str, int],
    problems: list[Problem],
) -> dict[int, tuple[EnrollmentStatus, str | None]]:
    """Enroll each patient with its (first) enrollment, open until the rest is stored."""
    subjects: dict[str, list[BundleItem]] = {}
    for item in plan.enrollments:
        subjects.setdefault(item.links["patient_id"], []).append(item)
    final: dict[int, tuple[EnrollmentStatus, str | None]] = {}
    for patient in plan.patients:
        found = subjects.get(patient.url, [])
        if len(found) != 1:
            allowed = "exactly one ResearchSubject (psotrack imports one enrollment per patient)"
            problems.append(patient.problem(Problem("subject", len(found), allowed, "invalid")))
            continue
        (enrollment,) = found
        status = EnrollmentStatus(enrollment.payload["status"])
        payload = {**patient.payload, **enrollment.payload}
        research_id = payload.pop("research_id")
        reason = payload.pop("withdrawal_reason", None)
        if status not in OPEN:
            payload["status"] = EnrollmentStatus.ACTIVE.value
        links = {"program_id": enrollment.links["program_id"]}
        joined = BundleItem(patient.entry, patient.kind, patient.url, payload, links)
        if _store(joined, problems, lambda p: register_imported_patient(unit, actor, p), stored):
            pid = stored[patient.url]
            final[pid] = (status, reason)
            _keep_research_id(unit, actor, patient, pid, research_id, problems)
    return final


def _keep_research_id(
    unit: Database,
    actor: Actor,
    item: BundleItem,
    patient_id: int,
    research_id: str,
    problems: list[Problem],
) -> None:
    """The patient keeps the research id of the Bundle, unless another patient holds it."""
    with unit.transaction() as session:
        taken = session.scalar(select(Patient.id).where(Patient.research_id == research_id))
        if taken is not None and taken != patient_id:
            allowed = "a research id no other patient holds"
            problems.append(item.problem(Problem("identifier", research_id, allowed, "invalid")))
            return
        patient = get_patient(session, patient_id)
        audit_changed(
            session,
            actor,
            patient,
            [("research_id", patient.research_id, research_id)],
            "FHIR import keeps the research id",
        )
        patient.research_id = research_id


def _close_enrollments(
    unit: Database,
    actor: Actor,
    final: dict[int, tuple[EnrollmentStatus, str | None]],
    problems: list[Problem],
) -> None:
    """Give each enrollment the Bundle's status once its doses and events are stored."""
    for patient_id, (status, reason) in final.items():
        if status in OPEN:
            continue
        if status is EnrollmentStatus.WITHDRAWN:
            withdraw_patient(unit, actor, patient_id, reason or "withdrawn (FHIR import)")
            continue
        with unit.transaction() as session:
            rows = session.scalars(select(Enrollment).where(Enrollment.patient_id == patient_id))
            for enrollment in rows:
                changes = [("status", enrollment.status, status)]
                audit_changed(session, actor, enrollment, changes, "FHIR import")
                enrollment.status = status


def _entry_number(problem: Problem) -> int:
    """The entry a problem names (``entry 12 Observation…``), 0 for the Bundle itself."""
    words = problem.field.split(" ", 2)
    return int(words[1]) if words[0] == "entry" and words[1].isdigit() else 0
