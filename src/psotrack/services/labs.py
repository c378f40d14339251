"""Recording lab results: a coded analyte, its value in a unit allowed for it, and the range.

Analytes and their units come from :data:`psotrack.store.vocabulary.ANALYTES` (UCUM codes).
Every analyte there is a concentration, count or fraction, so values and reference limits are
never negative, and a fraction in ``%`` is at most 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from psotrack.errors import Problem, ValidationError
from psotrack.services.audit import audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.services.payloads import Float, Id, Payload, Text, as_utc, parse_payload
from psotrack.store.models import LabResult, Visit
from psotrack.store.vocabulary import ANALYTES

#: A lab value: a finite number (an int is taken, a bool or text is not), never negative.
LabValue = Annotated[Float, Field(ge=0, allow_inf_nan=False)]


class LabResultIn(Payload):
    patient_id: Id
    analyte: Annotated[Text, Field(min_length=1, max_length=40)]
    value: LabValue
    unit: Annotated[Text, Field(min_length=1, max_length=40)]
    reference_low: LabValue | None = None
    reference_high: LabValue | None = None
    sampled_at: datetime
    visit_id: Id | None = None


def record_lab_result(db: Database, actor: Actor, payload: Mapping[str, Any] | LabResultIn) -> int:
    """Store one lab result (audited); returns its id.

    ``sampled_at`` is stored in UTC; a time without a UTC offset is taken as UTC already.
    """
    data = parse_payload(LabResultIn, payload)
    problems = lab_result_problems(data)
    if problems:
        raise ValidationError(problems=problems)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        get_patient(session, data.patient_id)
        if data.visit_id is not None:
            require_visit_of_patient(session, data.patient_id, data.visit_id)
        lab = LabResult(
            **data.model_dump(exclude={"sampled_at"}), sampled_at=as_utc(data.sampled_at)
        )
        session.add(lab)
        audit_created(session, actor, lab)
        return lab.id


def lab_result_problems(data: LabResultIn) -> list[Problem]:
    """The rules that tie fields together: known analyte, its unit, an ordered range."""
    problems: list[Problem] = []
    known = ANALYTES.get(data.analyte)
    if known is None:
        allowed = ", ".join(sorted(ANALYTES))
        problems.append(Problem("analyte", data.analyte, f"one of {allowed}", kind="invalid"))
    else:
        label, units = known
        if data.unit not in units:
            allowed = ", ".join(sorted(units))
            problems.append(
                Problem("unit", data.unit, f"a unit of {label}: {allowed}", kind="invalid")
            )
    if data.unit == "%":
        for name in ("value", "reference_low", "reference_high"):
            number = getattr(data, name)
            if number is not None and number > 100:
                problems.append(Problem(name, number, "0–100 (a percentage)"))
    low, high = data.reference_low, data.reference_high
    if low is not None and high is not None and low > high:
        problems.append(
            Problem("reference_low", low, f"at most reference_high ({high})", kind="invalid")
        )
    return problems


def require_visit_of_patient(session: Session, patient_id: int, visit_id: int) -> Visit:
    """The visit, if it exists, is not deleted and belongs to the patient (else ValidationError)."""
    visit = session.get(Visit, visit_id)
    if visit is None or visit.deleted_at is not None or visit.patient_id != patient_id:
        raise ValidationError(
            "visit_id", visit_id, f"a visit of patient {patient_id}", kind="invalid"
        )
    return visit
