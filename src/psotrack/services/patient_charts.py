"""What one patient's charts are drawn from: scores, one analyte's results, the expected course.

Each function reads in one transaction and returns plain frames; drawing is
:mod:`psotrack.reports.figures`' job. Study days count from day 0, the first cell-therapy
administration (:mod:`psotrack.services.study_days`).

The expected course is the virtual-patient forecast (:mod:`psotrack.model.forecast`, every
number simulated) for the patient's own schedule, read from the administrations recorded so far:
psotrack's choices, as the model takes one regular schedule of one product by one route:

- product and route from the administrations (UC-, AD- or BM-MSC; IV or perilesional); other
  products or routes, or a mix of them, have no expected course;
- the dose is the median cells/kg; the doses are ``x<n>`` administrations ``q<d>d`` apart, ``d``
  the mean interval in whole days (an irregular schedule is averaged, and the page says so);
- a topical steroid or vitamin D analogue running on day 0 adds the model's background topical;
- only doses already given: doses still planned are not assumed.

A forecast takes about a second (the ODE solver), so it runs with :data:`PARTICLES` particles
drawn once per process and is kept per patient and readings (:func:`functools.lru_cache`): the
same readings and schedule give the same forecast, so a kept one is never stale.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import NotFound, ValidationError
from psotrack.model.forecast import Forecast, draw_prior, forecast_patient
from psotrack.model.population import Population
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.services.status import status_tables
from psotrack.services.study_days import day_zero
from psotrack.services.timeline import session_assessments_frame
from psotrack.store.models import Administration, ConcomitantTherapy, LabResult, Visit
from psotrack.store.vocabulary import ANALYTES, ProductSource, Route, TherapyClass

#: Particles of the patient page's forecast (the model's own default is 500; a page needs speed).
PARTICLES: Final = 200
SEED: Final = 0
WEEKS: Final = 12
#: Product and route codes as the model's schedule text writes them.
MODEL_SOURCES: Final = {
    ProductSource.UC_MSC: "uc-msc",
    ProductSource.AD_MSC: "ad-msc",
    ProductSource.BM_MSC: "bm-msc",
}
MODEL_ROUTES: Final = {Route.IV: "iv", Route.INTRALESIONAL: "pl"}
TOPICAL_CLASSES: Final = frozenset({TherapyClass.TOPICAL_STEROID, TherapyClass.VITAMIN_D_ANALOGUE})
#: Intervals further than this from their mean make the schedule "irregular" (averaged).
IRREGULAR_DAYS: Final = 3


@dataclass(frozen=True)
class ScoreSeries:
    """``scores``: ``visit``, ``day`` and ``pasi``, ``bsa``, ``pga``, ``dlqi``, ``itch`` (text,
    empty where not assessed); ``baseline_pasi``: the endpoint engine's baseline."""

    scores: pl.DataFrame
    baseline_pasi: float | None


@dataclass(frozen=True)
class LabSeries:
    """One analyte's results in one unit: ``day``, ``value``, ``reference_low/high``."""

    analyte: str
    name: str
    unit: str
    results: pl.DataFrame
    other_units: tuple[str, ...]


@dataclass(frozen=True)
class ExpectedCourse:
    """The forecast for the patient's own schedule, or why there is none (``reason``)."""

    measured: pl.DataFrame
    schedule: str | None
    forecast: Forecast | None
    reason: str | None = None
    irregular: bool = False


def score_series(db: Database, actor: Actor, patient_id: int) -> ScoreSeries:
    """Every score of the patient by study day, and the baseline PASI the engine derives."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        return read_score_series(session, patient_id, labels=True)


def read_score_series(session: Session, patient_id: int, *, labels: bool) -> ScoreSeries:
    """:func:`score_series` in an open transaction whose actor the caller has checked; visits
    named by their labels, or (``labels`` false) by study day."""
    get_patient(session, patient_id)
    frame = session_assessments_frame(session, None, labels, [patient_id])
    _, endpoints = status_tables(frame)
    baseline = endpoints["base"][0] if endpoints.height else None
    return ScoreSeries(frame.drop("patient_id", "arm"), baseline)


def lab_series(db: Database, actor: Actor, patient_id: int, analyte: str) -> LabSeries:
    """The patient's results of ``analyte`` in its latest unit (NotFound when there are none)."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        return read_lab_series(session, patient_id, analyte)


def read_lab_series(session: Session, patient_id: int, analyte: str) -> LabSeries:
    """:func:`lab_series` in an open transaction whose actor the caller has checked."""
    if analyte not in ANALYTES:
        raise NotFound(f"no analyte {analyte}")
    get_patient(session, patient_id)
    zero = day_zero(session, patient_id)
    labs = session.scalars(
        select(LabResult)
        .where(
            LabResult.patient_id == patient_id,
            LabResult.analyte == analyte,
            LabResult.deleted_at.is_(None),
        )
        .order_by(LabResult.sampled_at, LabResult.id)
    ).all()
    if not labs:
        raise NotFound(f"no {analyte} result for patient {patient_id}")
    unit = labs[-1].unit
    rows = [lab for lab in labs if lab.unit == unit]
    results = pl.DataFrame(
        {
            "day": [_day(lab.sampled_at.date(), zero) for lab in rows],
            "value": [lab.value for lab in rows],
            "reference_low": [lab.reference_low for lab in rows],
            "reference_high": [lab.reference_high for lab in rows],
        },
        schema={
            "day": pl.Int64,
            "value": pl.Float64,
            "reference_low": pl.Float64,
            "reference_high": pl.Float64,
        },
    )
    others = tuple(sorted({lab.unit for lab in labs} - {unit}))
    return LabSeries(analyte, ANALYTES[analyte][0], unit, results, others)


def _day(when: date, zero: date | None) -> int:
    return 0 if zero is None else (when - zero).days


def expected_course(db: Database, actor: Actor, patient_id: int) -> ExpectedCourse:
    """The simulated expected course for the patient's schedule (see the module notes)."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        patient = get_patient(session, patient_id)
        frame = session_assessments_frame(session, None, True, [patient_id])
        doses = session.execute(
            select(
                Administration.product_source,
                Administration.route,
                Administration.cells_per_kg,
                Administration.started_at,
                Visit.visit_date,
            )
            .outerjoin(Visit, (Visit.id == Administration.visit_id) & Visit.deleted_at.is_(None))
            .where(Administration.patient_id == patient_id, Administration.deleted_at.is_(None))
            .order_by(Administration.started_at)
        ).all()
        zero = day_zero(session, patient_id)
        topical = (
            zero is not None
            and session.scalar(
                select(ConcomitantTherapy.id)
                .where(
                    ConcomitantTherapy.patient_id == patient_id,
                    ConcomitantTherapy.deleted_at.is_(None),
                    ConcomitantTherapy.therapy_class.in_(list(TOPICAL_CLASSES)),
                    ConcomitantTherapy.start_date <= zero,
                    (ConcomitantTherapy.stop_date.is_(None))
                    | (ConcomitantTherapy.stop_date >= zero),
                )
                .limit(1)
            )
            is not None
        )
    measured = (
        frame.select("visit", "day", pl.col("pasi").cast(pl.Float64))
        .filter(pl.col("pasi").is_not_null())
        .sort("day")
    )
    dose_days = [(on_visit or started.date()) for *_, started, on_visit in doses]
    schedule, reason, irregular = model_schedule(
        [(source, route, per_kg) for source, route, per_kg, *_ in doses], dose_days, topical
    )
    if schedule is None:
        return ExpectedCourse(measured, None, None, reason)
    key = (
        patient.research_id,
        tuple(measured["visit"].to_list()),
        tuple(measured["day"].to_list()),
        tuple(measured["pasi"].to_list()),
    )
    try:
        forecast = _forecast(key, schedule)
    except ValidationError as refused:
        why = "; ".join(str(p) for p in refused.problems)
        return ExpectedCourse(measured, schedule, None, f"the model cannot start: {why}")
    return ExpectedCourse(measured, schedule, forecast, None, irregular)


def model_schedule(
    doses: Sequence[tuple[ProductSource, Route, float]],
    days: Sequence[date],
    topical: bool,
) -> tuple[str | None, str | None, bool]:
    """``(schedule text, None, irregular)`` for the model, or ``(None, reason, False)``.

    ``doses``: product, route and cells/kg of each administration, in order; ``days``: their
    dates. See the module notes for the rules.

    >>> from datetime import date
    >>> dose = (ProductSource.UC_MSC, Route.IV, 1.5e6)
    >>> model_schedule([dose] * 3, [date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)], True)
    ('uc-msc-iv:1.5e6/kg x3 q28d + topical', None, False)
    """
    if not doses:
        return None, "no cell-therapy administration recorded yet", False
    kinds = {(source, route) for source, route, _ in doses}
    if len(kinds) > 1:
        return None, "administrations of more than one product or route", False
    ((source, route),) = kinds
    if source not in MODEL_SOURCES or route not in MODEL_ROUTES:
        return None, f"the model has no {source} given {route}", False
    per_kg = statistics.median(per_kg for *_, per_kg in doses)
    text = f"{MODEL_SOURCES[source]}-{MODEL_ROUTES[route]}:{_dose(per_kg)}/kg x{len(doses)}"
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    irregular = False
    if gaps:
        every = round(statistics.mean(gaps))
        if every < 1:
            return None, "two administrations on one day", False
        text += f" q{every}d"
        irregular = any(abs(gap - every) > IRREGULAR_DAYS for gap in gaps)
    if topical:
        text += " + topical"
    return text, None, irregular


def _dose(per_kg: float) -> str:
    """Cells/kg as the schedule grammar writes it: ``1.5e6`` (its ``+`` joins therapies).

    >>> _dose(1.5e6), _dose(2.25e5), _dose(500.0)
    ('1.5e6', '2.25e5', '500')
    """
    mantissa, _, exponent = f"{per_kg:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


@lru_cache(maxsize=1)
def _prior() -> Population:
    return draw_prior(PARTICLES, SEED)


@lru_cache(maxsize=512)
def _forecast(
    key: tuple[str, tuple[str, ...], tuple[int, ...], tuple[float, ...]], schedule: str
) -> Forecast:
    research_id, visits, days, pasi = key
    frame = pl.DataFrame(
        {
            "patient_id": [research_id] * len(days),
            "visit": list(visits),
            "day": list(days),
            "pasi": list(pasi),
        },
        schema={"patient_id": pl.String, "visit": pl.String, "day": pl.Int64, "pasi": pl.Float64},
    )
    return forecast_patient(frame, schedule, weeks=WEEKS, seed=SEED, prior=_prior())
