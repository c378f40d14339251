"""Logging a cell-therapy administration: product, dose, viability, route, vitals, and its flags.

The dose is checked twice. On entry, ``cells_per_kg`` must agree with ``total_cells`` divided by
the recorded body weight (within 1 % relative): a disagreement is a typing error and is refused.
Against the protocol, a dose outside the program's ``[dose_min_per_kg, dose_max_per_kg]`` or a
viability below its release threshold is stored anyway (it is what happened) and flagged.
Comparisons are made on the decimal text of each number, so a limit met exactly is not a breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.services.audit import audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.flags import new_flag, store_flag
from psotrack.services.patients import get_patient, get_visit, require_user
from psotrack.services.payloads import Bool, Float, Id, Int, Payload, Text, as_utc, parse_payload
from psotrack.store.models import Administration, Enrollment, Program
from psotrack.store.vocabulary import EnrollmentStatus, FlagKind, ProductSource, Route

#: Allowed relative disagreement between the recorded cells/kg and total cells ÷ weight.
DOSE_TOLERANCE = Decimal("0.01")

#: Enrollments during which a patient may receive the product, most current first.
OPEN_STATUSES = (EnrollmentStatus.ACTIVE, EnrollmentStatus.FOLLOW_UP, EnrollmentStatus.SCREENING)


class VitalsIn(Payload):
    """Vital signs around an infusion; bounds are physiological limits, not normal ranges."""

    heart_rate: Annotated[Int, Field(ge=20, le=250)] | None = None  # beats/min
    systolic: Annotated[Int, Field(ge=50, le=300)] | None = None  # mmHg
    diastolic: Annotated[Int, Field(ge=20, le=200)] | None = None  # mmHg
    temperature_c: Annotated[Float, Field(ge=30, le=45)] | None = None
    spo2: Annotated[Int, Field(ge=50, le=100)] | None = None  # %
    respiratory_rate: Annotated[Int, Field(ge=4, le=80)] | None = None  # breaths/min


class AdministrationIn(Payload):
    patient_id: Id
    visit_id: Id | None = None
    product_source: ProductSource
    manufacturer: Annotated[Text, Field(min_length=1, max_length=200)]
    lot: Annotated[Text, Field(min_length=1, max_length=80)]
    passage: Annotated[Int, Field(ge=0, le=50)] | None = None
    cryopreserved: Bool
    total_cells: Annotated[
        Int, Field(gt=0, le=10**13)
    ]  # fits BIGINT; 10¹³ cells is far beyond any dose
    body_weight_kg: Annotated[Float, Field(gt=0, le=400)]
    cells_per_kg: Annotated[Float, Field(gt=0)]
    viability_pct: Annotated[Float, Field(ge=0, le=100)]
    route: Route
    volume_ml: Annotated[Float, Field(gt=0)] | None = None
    rate_ml_per_h: Annotated[Float, Field(gt=0)] | None = None
    started_at: datetime
    stopped_at: datetime | None = None
    premedication: Text | None = None
    operator_id: Id | None = None
    vitals_before: VitalsIn | None = None
    vitals_after: VitalsIn | None = None


def log_administration(
    db: Database, actor: Actor, payload: Mapping[str, Any] | AdministrationIn
) -> int:
    """Store one administration with its audit rows and any dose or viability flag; its id.

    The protocol limits come from the program of the patient's open enrollment (active first,
    then follow-up, then screening; the most recent start among equals).
    """
    data = parse_payload(AdministrationIn, payload)
    _check(data)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_ADMINISTRATION)
        get_patient(session, data.patient_id)
        if data.visit_id is not None:
            visit = get_visit(session, data.visit_id)
            if visit.patient_id != data.patient_id:
                allowed = f"a visit of patient {data.patient_id}"
                raise ValidationError("visit_id", data.visit_id, allowed, "invalid")
        if data.operator_id is not None:
            require_user(session, "operator_id", data.operator_id)
        program = current_program(session, data.patient_id, OPEN_STATUSES)
        if program is None:
            raise Conflict(f"patient {data.patient_id} has no open enrollment to dose under")
        fields = data.model_dump(
            exclude={"started_at", "stopped_at", "vitals_before", "vitals_after"}
        )
        administration = Administration(
            **fields,
            started_at=as_utc(data.started_at),
            stopped_at=None if data.stopped_at is None else as_utc(data.stopped_at),
            vitals_before=_vitals(data.vitals_before),
            vitals_after=_vitals(data.vitals_after),
        )
        session.add(administration)
        audit_created(session, actor, administration)
        for kind, message, coded_message in protocol_breaches(data, program):
            store_flag(
                session,
                actor,
                new_flag(
                    patient_id=data.patient_id,
                    kind=kind,
                    entity="administrations",
                    entity_id=administration.id,
                    message=message,
                    coded_message=coded_message,
                ),
            )
        return administration.id


def protocol_breaches(data: AdministrationIn, program: Program) -> list[tuple[FlagKind, str, str]]:
    """The flags an administration raises under ``program``: (kind, message, coded message).

    The coded message leaves out the program's name and the lot (free text).
    """
    breaches: list[tuple[FlagKind, str, str]] = []
    dose = _exact(data.cells_per_kg)
    low, high = program.dose_min_per_kg, program.dose_max_per_kg
    below = low is not None and dose < _exact(low)
    above = high is not None and dose > _exact(high)
    if below or above:
        limits = f"{_bound(low)}–{_bound(high)}"
        coded = (
            f"cell dose {_cells(data.cells_per_kg)} cells/kg is "
            f"{'below' if below else 'above'} the protocol range {limits} cells/kg"
        )
        breaches.append((FlagKind.DOSE_OUT_OF_RANGE, f"{coded} of program {program.name!r}", coded))
    threshold = program.viability_threshold_pct
    if _exact(data.viability_pct) < _exact(threshold):
        coded = f"viability {data.viability_pct:g} % is below the release threshold {threshold:g} %"
        told = f"{coded} of program {program.name!r} (lot {data.lot})"
        breaches.append((FlagKind.LOW_VIABILITY, told, coded))
    return breaches


def cells_per_kg(total_cells: int, body_weight_kg: float | Decimal) -> float:
    """The dose per kilogram of body weight: total cells ÷ weight (what entry is checked against).

    >>> cells_per_kg(150_000_000, 75)
    2000000.0
    >>> cells_per_kg(100_000_000, Decimal("62.5"))
    1600000.0
    """
    weight = body_weight_kg if isinstance(body_weight_kg, Decimal) else _exact(body_weight_kg)
    return float(Decimal(total_cells) / weight)


def current_program(
    session: Session, patient_id: int, statuses: tuple[EnrollmentStatus, ...]
) -> Program | None:
    """The program of the patient's enrollment with a status in ``statuses``.

    Earlier statuses in the tuple win, then the most recent start date, then the newest row.
    """
    rank = case({status: index for index, status in enumerate(statuses)}, value=Enrollment.status)
    query = (
        select(Program)
        .join(Enrollment, Enrollment.program_id == Program.id)
        .where(
            Enrollment.patient_id == patient_id,
            Enrollment.status.in_(statuses),
            Enrollment.deleted_at.is_(None),
        )
        .order_by(rank, Enrollment.start_date.desc(), Enrollment.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _check(data: AdministrationIn) -> None:
    """Cross-field rules, every problem at once."""
    problems: list[Problem] = []
    total, weight = Decimal(data.total_cells), _exact(data.body_weight_kg)
    recorded = _exact(data.cells_per_kg)
    # |recorded − total/weight| ≤ 1 % of total/weight, multiplied through by weight: exact.
    if abs(recorded * weight - total) > DOSE_TOLERANCE * total:
        computed = cells_per_kg(data.total_cells, weight)
        allowed = (
            f"total_cells / body_weight_kg = {data.total_cells} / {data.body_weight_kg:g} "
            f"= {_cells(computed)} cells/kg, within 1 %"
        )
        problems.append(Problem("cells_per_kg", data.cells_per_kg, allowed, "invalid"))
    started = as_utc(data.started_at)
    if data.stopped_at is not None and as_utc(data.stopped_at) < started:
        allowed = f"started_at ({started.isoformat()}) or later"
        problems.append(Problem("stopped_at", data.stopped_at.isoformat(), allowed, "invalid"))
    for label, vitals in (
        ("vitals_before", data.vitals_before),
        ("vitals_after", data.vitals_after),
    ):
        if vitals and vitals.systolic is not None and vitals.diastolic is not None:
            if vitals.diastolic >= vitals.systolic:
                allowed = f"below the systolic pressure ({vitals.systolic})"
                problems.append(Problem(f"{label}.diastolic", vitals.diastolic, allowed, "invalid"))
    if problems:
        raise ValidationError(problems=problems)


def _vitals(vitals: VitalsIn | None) -> dict[str, Any] | None:
    return None if vitals is None else vitals.model_dump(exclude_none=True)


def _exact(value: float) -> Decimal:
    """The decimal a person typed: 1.5e6 stays 1500000, 0.1 stays 0.1 (not its binary float)."""
    return Decimal(repr(value))


def _cells(value: float) -> str:
    return f"{value:.4g}"


def _bound(value: float | None) -> str:
    return "no limit" if value is None else _cells(value)
