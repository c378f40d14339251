"""Correcting a recorded value or deleting a record: never silent, always with a reason.

A correction changes one field of one record after checking the new value by the same rule as
the form that first recorded it, and writes an audit row with the old value, the new value and
the reason. Deletion is soft: the row stays, marked deleted with its reason, and is audited.
Scores are never corrected directly: correct an assessment's responses and it is scored again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import pydantic

from psotrack.errors import NotFound, Problem, ValidationError
from psotrack.services.adverse_events import AdverseEventIn
from psotrack.services.audit import audit_changed
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.labs import LabResultIn, lab_result_problems
from psotrack.services.patients import PatientIn, VisitIn
from psotrack.services.payloads import Payload, problem_from_pydantic, require_id, require_reason
from psotrack.services.therapies import ConcomitantTherapyIn
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    Base,
    ConcomitantTherapy,
    LabResult,
    Patient,
    PatientIdentity,
    Photo,
    Visit,
)


@dataclass(frozen=True)
class Correctable:
    """Which fields of a table may be corrected, checked by which form's rules."""

    model: type[Base]
    form: type[Payload]
    fields: frozenset[str]
    #: The form's rules that tie the field to others on the row (problems of the merged row).
    recheck: Callable[[Any, str, Any], list[Problem]] | None = None


def _lab_recheck(row: LabResult, field: str, value: Any) -> list[Problem]:
    merged = LabResultIn(
        patient_id=row.patient_id,
        analyte=row.analyte,
        value=value if field == "value" else row.value,
        unit=row.unit,
        reference_low=row.reference_low,
        reference_high=row.reference_high,
        sampled_at=row.sampled_at,
        visit_id=row.visit_id,
    )
    return lab_result_problems(merged)


#: Fields open to correction, per table. Fields whose rules involve other fields (a dose and
#: the weight it was computed from) are not here: record a new entry and delete the wrong one.
CORRECTABLE: dict[str, Correctable] = {
    "patients": Correctable(
        Patient, PatientIn, frozenset({"sex", "psoriasis_type", "fitzpatrick", "history"})
    ),
    "patient_identities": Correctable(
        PatientIdentity, PatientIn, frozenset({"mrn", "family_name", "given_name"})
    ),
    "visits": Correctable(Visit, VisitIn, frozenset({"visit_date", "visit_type", "label"})),
    "lab_results": Correctable(LabResult, LabResultIn, frozenset({"value"}), _lab_recheck),
    # Relatedness, seriousness and grade decide safety flags and report deadlines: to change
    # them, report the event again and delete the wrong record, so the flags are raised anew.
    "adverse_events": Correctable(
        AdverseEvent,
        AdverseEventIn,
        frozenset({"term", "verbatim_term", "outcome", "action_taken"}),
    ),
    "concomitant_therapies": Correctable(
        ConcomitantTherapy, ConcomitantTherapyIn, frozenset({"agent", "dose"})
    ),
}

#: Tables whose rows may be soft-deleted through :func:`delete_record`. Assessments are
#: corrected through :func:`psotrack.services.assessments.correct_assessment` (scored again).
DELETABLE: dict[str, type[Base]] = {
    "patients": Patient,
    "visits": Visit,
    "assessments": Assessment,
    "administrations": Administration,
    "adverse_events": AdverseEvent,
    "lab_results": LabResult,
    "concomitant_therapies": ConcomitantTherapy,
    "photos": Photo,
}


def correct_value(
    db: Database, actor: Actor, table: str, row_id: int, field: str, value: Any, reason: str
) -> None:
    """Set ``table.field`` of row ``row_id`` to ``value`` (checked), audited with ``reason``."""
    entry = CORRECTABLE.get(table)
    if entry is None:
        raise ValidationError("table", table, f"one of {', '.join(sorted(CORRECTABLE))}", "invalid")
    if field not in entry.fields:
        allowed = ", ".join(sorted(entry.fields))
        raise ValidationError(
            "field", field, f"a correctable field of {table}: {allowed}", "invalid"
        )
    checked = _check_field(entry.form, field, value)
    why = require_reason(reason)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.CORRECT)
        row = session.get(entry.model, require_id("row_id", row_id))
        if row is None or getattr(row, "deleted_at", None) is not None:
            raise NotFound(f"no {table} row with id {row_id}")
        if entry.recheck is not None:
            found = entry.recheck(row, field, checked)
            if found:
                raise ValidationError(problems=found)
        old = getattr(row, field)
        if old == checked:
            raise ValidationError(
                field, value, "a value different from the one recorded", "invalid"
            )
        setattr(row, field, checked)
        audit_changed(session, actor, row, [(field, old, checked)], why)


def delete_record(db: Database, actor: Actor, table: str, row_id: int, reason: str) -> None:
    """Soft-delete a row: it stays stored, marked deleted, with the reason (audited)."""
    model = DELETABLE.get(table)
    if model is None:
        raise ValidationError("table", table, f"one of {', '.join(sorted(DELETABLE))}", "invalid")
    why = require_reason(reason)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.CORRECT)
        row = session.get(model, require_id("row_id", row_id))
        if row is None or getattr(row, "deleted_at", None) is not None:
            raise NotFound(f"no {table} row with id {row_id}")
        now = datetime.now(UTC)
        row.deleted_at = now  # type: ignore[attr-defined]
        row.deleted_reason = why  # type: ignore[attr-defined]
        audit_changed(session, actor, row, [("deleted_at", None, now)], why, action="delete")


def _check_field(form: type[Payload], field: str, value: Any) -> Any:
    """Check one value by the rule its form declares for that field (type, range, strictness)."""
    if isinstance(value, str):
        value = value.strip()  # as the forms do (str_strip_whitespace)
    info = form.model_fields[field]
    rule: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(rule)
    try:
        return adapter.validate_python(value)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            problems=[problem_from_pydantic(e, prefix=field) for e in exc.errors()]
        ) from None
