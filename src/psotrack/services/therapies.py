"""Concomitant therapy: what else the patient takes for psoriasis, from when to when; stopping it.

A biologic is recorded with the cytokine it targets, since that (not the brand) is what
analyses group by; any other class must not carry a target.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field

from psotrack.errors import Conflict, NotFound, Problem, ValidationError
from psotrack.services.audit import audit_changed, audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.services.payloads import Id, Payload, Text, parse_payload, require_id
from psotrack.store.models import ConcomitantTherapy
from psotrack.store.vocabulary import TherapyClass

#: Targets of the biologics licensed for psoriasis: IL-17A (secukinumab, ixekizumab),
#: IL-17A/F (bimekizumab), IL-17RA (brodalumab), IL-23 p19 (guselkumab, risankizumab,
#: tildrakizumab), IL-12/23 p40 (ustekinumab), TNF (adalimumab, etanercept, infliximab,
#: certolizumab pegol), IL-36R (spesolimab, generalized pustular psoriasis).
BIOLOGIC_TARGETS: tuple[str, ...] = (
    "IL-17A",
    "IL-17A/F",
    "IL-17RA",
    "IL-23",
    "IL-12/23",
    "TNF",
    "IL-36R",
)


class ConcomitantTherapyIn(Payload):
    patient_id: Id
    therapy_class: TherapyClass
    agent: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    biologic_target: Annotated[Text, Field(min_length=1, max_length=40)] | None = None
    start_date: date
    stop_date: date | None = None
    dose: Annotated[Text, Field(min_length=1, max_length=200)] | None = None


def record_concomitant_therapy(
    db: Database, actor: Actor, payload: Mapping[str, Any] | ConcomitantTherapyIn
) -> int:
    """Store one concomitant therapy (audited); returns its id."""
    data = parse_payload(ConcomitantTherapyIn, payload)
    problems = therapy_problems(data)
    if problems:
        raise ValidationError(problems=problems)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        get_patient(session, data.patient_id)
        therapy = ConcomitantTherapy(**data.model_dump())
        session.add(therapy)
        audit_created(session, actor, therapy)
        return therapy.id


def therapy_problems(data: ConcomitantTherapyIn) -> list[Problem]:
    """Rules across fields: a biologic names its target (and nothing else does); stop ≥ start."""
    problems: list[Problem] = []
    target = data.biologic_target
    allowed_targets = ", ".join(BIOLOGIC_TARGETS)
    if data.therapy_class is TherapyClass.BIOLOGIC:
        if target is None:
            problems.append(
                Problem("biologic_target", None, f"one of {allowed_targets}", kind="missing")
            )
        elif target not in BIOLOGIC_TARGETS:
            problems.append(
                Problem("biologic_target", target, f"one of {allowed_targets}", kind="invalid")
            )
    elif target is not None:
        problems.append(
            Problem("biologic_target", target, "only for the biologic class", kind="invalid")
        )
    if data.stop_date is not None and data.stop_date < data.start_date:
        problems.append(
            Problem(
                "stop_date",
                data.stop_date.isoformat(),
                f"on or after start_date ({data.start_date.isoformat()})",
                kind="invalid",
            )
        )
    return problems


def stop_concomitant_therapy(
    db: Database, actor: Actor, therapy_id: int, stop_date: date, reason: str
) -> None:
    """Record the end of an ongoing therapy, audited as an update with the reason."""
    problems: list[Problem] = []
    if not isinstance(stop_date, date) or isinstance(stop_date, datetime):
        problems.append(Problem("stop_date", stop_date, "a date", kind="type"))
    if not isinstance(reason, str) or not reason.strip():
        problems.append(Problem("reason", reason, "a reason for stopping", kind="missing"))
    if problems:
        raise ValidationError(problems=problems)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        therapy = session.get(ConcomitantTherapy, require_id("therapy_id", therapy_id))
        if therapy is None or therapy.deleted_at is not None:
            raise NotFound(f"no concomitant therapy with id {therapy_id}")
        get_patient(session, therapy.patient_id)
        if therapy.stop_date is not None:
            raise Conflict(
                f"concomitant therapy {therapy_id} already stopped on "
                f"{therapy.stop_date.isoformat()}; correct the date instead"
            )
        if stop_date < therapy.start_date:
            raise ValidationError(
                "stop_date",
                stop_date.isoformat(),
                f"on or after start_date ({therapy.start_date.isoformat()})",
                kind="invalid",
            )
        therapy.stop_date = stop_date
        audit_changed(session, actor, therapy, [("stop_date", None, stop_date)], reason.strip())
