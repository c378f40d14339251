"""Reporting an adverse event: CTCAE grade, ICH E2A seriousness, and the flags it raises.

Rules (sources in ../shared/reference/instruments.md, "Adverse events"):

- Seriousness (ICH E2A, 1994) is not severity: ``serious=True`` needs at least one
  :class:`SeriousCriterion`, ``serious=False`` none. A grade 5 event (CTCAE: death related to
  the event) must be serious with the "death" criterion.
- An infusion-related reaction names the administration it followed, of the same patient.
- The CTCAE version stored with the event is the patient's program's (``Program.ctcae_version``).
- The term is coded (:class:`~psotrack.store.vocabulary.AeTerm`, "other" when none fits); what
  the reporter wrote goes in ``verbatim_term``, free text that only the care team reads.

Flags, raised in the same transaction as the event: a serious event (with the expedited report
deadline it starts, if any), a grade ≥ 3 event, an infusion-related reaction. Each flag's
message for the care team names the verbatim term; its coded message (for researchers) names
the coded term only.

Expedited reporting (ICH E2A): a serious, unexpected and related event is due to regulators
within 7 calendar days if fatal or life-threatening, else within 15. Day 0 is the day the
sponsor first knew; psotrack takes the day the event is recorded as that day (the earliest
moment the record can prove), so ``due_date = recorded_on + 7`` or ``+ 15``. Two choices lean to
reporting, as a safety system should: ``expected`` left empty counts as unexpected, and every
causality category except "unlikely" and "not related" counts as related (ICH E2A: a causal
relationship that cannot be ruled out is a suspected reaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.services.administrations import current_program
from psotrack.services.audit import audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.flags import new_flag, store_flag
from psotrack.services.patients import get_patient
from psotrack.services.payloads import Bool, Id, Int, Payload, Text, parse_payload
from psotrack.store.models import Administration, AdverseEvent
from psotrack.store.vocabulary import (
    AeOutcome,
    AeTerm,
    EnrollmentStatus,
    FlagKind,
    Relatedness,
    SeriousCriterion,
)

#: Causality categories that do not count as a suspected reaction.
NOT_RELATED = frozenset({Relatedness.UNLIKELY, Relatedness.NOT_RELATED})

#: ICH E2A expedited report windows, in calendar days from the day the sponsor knew.
FATAL_OR_LIFE_THREATENING_DAYS = 7
OTHER_SERIOUS_DAYS = 15

#: Any enrollment gives the CTCAE version: events are reported after withdrawal too.
ANY_STATUS = (
    EnrollmentStatus.ACTIVE,
    EnrollmentStatus.FOLLOW_UP,
    EnrollmentStatus.SCREENING,
    EnrollmentStatus.COMPLETED,
    EnrollmentStatus.WITHDRAWN,
)


class AdverseEventIn(Payload):
    patient_id: Id
    term: AeTerm
    verbatim_term: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    onset_date: date
    resolution_date: date | None = None
    grade: Annotated[Int, Field(ge=1, le=5)]
    serious: Bool
    serious_criteria: tuple[SeriousCriterion, ...] = ()
    expected: Bool | None = None
    relatedness: Relatedness
    action_taken: Annotated[Text, Field(max_length=200)] | None = None
    outcome: AeOutcome
    infusion_reaction: Bool = False
    administration_id: Id | None = None


def report_adverse_event(
    db: Database,
    actor: Actor,
    payload: Mapping[str, Any] | AdverseEventIn,
    *,
    recorded_on: date | None = None,
) -> int:
    """Store one adverse event with its audit rows and flags; returns its id.

    ``recorded_on`` is the awareness day that starts an expedited report window (default:
    today on this machine's calendar); tests and imports of past reports pass it explicitly.
    """
    data = parse_payload(AdverseEventIn, payload)
    _check(data)
    awareness = recorded_on if recorded_on is not None else date.today()
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.REPORT_ADVERSE_EVENT)
        get_patient(session, data.patient_id)
        if data.administration_id is not None:
            _check_administration(session, data.patient_id, data.administration_id)
        program = current_program(session, data.patient_id, ANY_STATUS)
        if program is None:
            raise Conflict(f"patient {data.patient_id} is enrolled in no program")
        criteria = [c.value for c in SeriousCriterion if c in data.serious_criteria]
        event = AdverseEvent(
            **data.model_dump(exclude={"serious_criteria"}),
            serious_criteria=criteria,
            ctcae_version=program.ctcae_version,
        )
        session.add(event)
        audit_created(session, actor, event)
        told = event_flags(data, awareness)
        coded = event_flags(data, awareness, coded=True)
        for (kind, message, due), (_, coded_message, _) in zip(told, coded, strict=True):
            store_flag(
                session,
                actor,
                new_flag(
                    patient_id=data.patient_id,
                    kind=kind,
                    entity="adverse_events",
                    entity_id=event.id,
                    message=message,
                    coded_message=coded_message,
                    due_date=due,
                ),
            )
        return event.id


def expedited_report_days(data: AdverseEventIn) -> int | None:
    """Calendar days allowed for the expedited report (7 or 15), or ``None`` if not required."""
    if not data.serious or data.expected is True or data.relatedness in NOT_RELATED:
        return None
    fatal = {SeriousCriterion.DEATH, SeriousCriterion.LIFE_THREATENING}
    if fatal.intersection(data.serious_criteria):
        return FATAL_OR_LIFE_THREATENING_DAYS
    return OTHER_SERIOUS_DAYS


def event_flags(
    data: AdverseEventIn, recorded_on: date, *, coded: bool = False
) -> list[tuple[FlagKind, str, date | None]]:
    """The flags an event raises: (kind, message, due date) triples.

    The message names the verbatim term beside the coded one; with ``coded`` it is built from
    coded values only (term code, grade, dates, criteria), for researchers.
    """
    flags: list[tuple[FlagKind, str, date | None]] = []
    said = "" if coded or data.verbatim_term is None else f"reported as {data.verbatim_term!r}, "
    name = f"{data.term.value!r} ({said}grade {data.grade}, onset {data.onset_date.isoformat()})"
    if data.serious:
        criteria = ", ".join(c.value for c in SeriousCriterion if c in data.serious_criteria)
        days = expedited_report_days(data)
        if days is None:
            why = _not_expedited_reason(data)
            message = (
                f"serious adverse event {name}: {criteria}; expedited reporting (ICH E2A) "
                f"does not apply by these criteria ({why}); report per protocol"
            )
            flags.append((FlagKind.SERIOUS_ADVERSE_EVENT, message, None))
        else:
            due = recorded_on + timedelta(days=days)
            message = (
                f"serious adverse event {name}: {criteria}; unexpected and related: "
                f"expedited report (ICH E2A, {days} calendar days from "
                f"{recorded_on.isoformat()}) due {due.isoformat()}"
            )
            flags.append((FlagKind.SERIOUS_ADVERSE_EVENT, message, due))
    if data.grade >= 3:
        flags.append((FlagKind.GRADE_3_OR_MORE, f"adverse event {name} is grade ≥ 3", None))
    if data.infusion_reaction:
        message = f"infusion-related reaction {name} after administration {data.administration_id}"
        flags.append((FlagKind.INFUSION_REACTION, message, None))
    return flags


def _not_expedited_reason(data: AdverseEventIn) -> str:
    reasons = []
    if data.expected is True:
        reasons.append("expected")
    if data.relatedness in NOT_RELATED:
        reasons.append(f"relatedness {data.relatedness.value!r}")
    return " and ".join(reasons)


def _check(data: AdverseEventIn) -> None:
    """Cross-field rules, every problem at once."""
    problems: list[Problem] = []
    criteria = data.serious_criteria
    if len(set(criteria)) != len(criteria):
        problems.append(
            Problem("serious_criteria", _values(criteria), "each criterion once", "invalid")
        )
    if data.serious and not criteria:
        allowed = "at least one ICH E2A criterion when serious is true"
        problems.append(Problem("serious_criteria", [], allowed, "invalid"))
    if not data.serious and criteria:
        allowed = "no criteria when serious is false (seriousness is not severity)"
        problems.append(Problem("serious_criteria", _values(criteria), allowed, "invalid"))
    if data.grade == 5 and not (data.serious and SeriousCriterion.DEATH in criteria):
        allowed = "a grade 5 event (death) is serious with the 'death' criterion"
        problems.append(Problem("grade", data.grade, allowed, "invalid"))
    if data.resolution_date is not None and data.resolution_date < data.onset_date:
        allowed = f"onset_date ({data.onset_date.isoformat()}) or later"
        problems.append(
            Problem("resolution_date", data.resolution_date.isoformat(), allowed, "invalid")
        )
    if data.infusion_reaction and data.administration_id is None:
        allowed = "the administration an infusion-related reaction followed"
        problems.append(Problem("administration_id", None, allowed, "missing"))
    if problems:
        raise ValidationError(problems=problems)


def _check_administration(session: Session, patient_id: int, administration_id: int) -> None:
    administration = session.get(Administration, administration_id)
    if (
        administration is None
        or administration.deleted_at is not None
        or administration.patient_id != patient_id
    ):
        allowed = f"an administration of patient {patient_id}"
        raise ValidationError("administration_id", administration_id, allowed, "invalid")


def _values(criteria: tuple[SeriousCriterion, ...]) -> list[str]:
    return [c.value for c in criteria]
