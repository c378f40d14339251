"""The cohort dashboard: rates, best PASI change, adverse events by grade, biomarkers, evidence.

Everything here is computed by code that already owns each rule, from coded fields keyed by
research id (so a researcher may read all of it):

- responder rates by visit with exact intervals and the rules named: :func:`cohort_rates`;
- best % PASI change per patient (the waterfall): the ``best_pchg`` of
  :func:`~psotrack.endpoints.derive_patient_endpoints` (through :func:`status_tables`);
- adverse events by CTCAE grade: events and patients (a patient counts once per grade);
- biomarker change from baseline in PASI 75 responders and non-responders:
  :func:`~psotrack.stats.derive_biomarker_pairs` and :func:`~psotrack.stats.biomarker_change`;
- the published MSC studies (the table ``psotrack evidence`` prints), with their caveat.

psotrack's choices: the dashboard covers every program on record. For each analyte the follow-up
day is the post-baseline study day at which the most patients have a value (the later day when
tied), and a responder is a patient who reached PASI 75 at a visit on or before that day. The
biomarker's study day counts from the first administration as for scores (from the start of the
first enrollment when there is none).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from psotrack.endpoints.rates import MissingRule
from psotrack.evidence import CAVEAT, derive_published_rates, load_published_table
from psotrack.services.cohort import CohortRates, cohort_rates
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.status import status_tables
from psotrack.services.study_days import day_zero_dates, study_day
from psotrack.services.timeline import session_assessments_frame
from psotrack.stats import biomarker_change, derive_biomarker_pairs
from psotrack.stats.biomarkers import BiomarkerChange
from psotrack.store.models import AdverseEvent, LabResult, Patient

#: CTCAE grades, 1 (mild) to 5 (death related to the event).
GRADES: Final = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class BiomarkerSection:
    """One analyte's change from baseline to its follow-up day, by PASI 75 response."""

    analyte: str
    unit: str
    follow_up_day: int
    change: BiomarkerChange


@dataclass(frozen=True, eq=False)
class Evidence:
    """The published table (``psotrack evidence``): its name, version, caveat and rows."""

    name: str
    label: str
    version: str
    caveat: str
    rows: pl.DataFrame


def synthetic_label(patients: int, synthetic: int) -> str:
    """ "SYNTHETIC DATA" when every patient is synthetic, how many when some are, else empty.

    >>> synthetic_label(4, 4), synthetic_label(4, 1), synthetic_label(4, 0)
    ('SYNTHETIC DATA', 'includes synthetic data (1 of 4 patients)', '')
    """
    if synthetic == 0:
        return ""
    if synthetic == patients:
        return "SYNTHETIC DATA"
    return f"includes synthetic data ({synthetic} of {patients} patients)"


@dataclass(frozen=True, eq=False)
class LabelledRates:
    """The cohort's responder rates and the data's label (for the rates chart)."""

    rates: CohortRates
    synthetic_label: str


@dataclass(frozen=True, eq=False)
class BestChange:
    """``waterfall``: ``patient_id`` (research id), ``best_pchg``, largest rise first (the bars'
    order); ``not_evaluable`` counts patients with no best change (no baseline or follow-up)."""

    waterfall: pl.DataFrame
    not_evaluable: int
    synthetic_label: str


@dataclass(frozen=True, eq=False)
class AdverseEventGrades:
    """``by_grade``: ``grade, events, patients, serious`` for grades 1–5 (zeros kept)."""

    by_grade: pl.DataFrame
    synthetic_label: str


@dataclass(frozen=True, eq=False)
class CohortDashboard:
    """What the cohort page shows; every frame is keyed by research id, never an identifier.

    ``waterfall`` and ``not_evaluable`` as in :class:`BestChange`; ``adverse_events`` as
    :class:`AdverseEventGrades`' ``by_grade``.
    """

    patients: int
    synthetic_patients: int
    rates: CohortRates
    waterfall: pl.DataFrame
    not_evaluable: int
    adverse_events: pl.DataFrame
    biomarkers: tuple[BiomarkerSection, ...]
    evidence: Evidence

    @property
    def synthetic_label(self) -> str:
        return synthetic_label(self.patients, self.synthetic_patients)


def cohort_dashboard(
    db: Database, actor: Actor, threshold: int = 75, missing: MissingRule = "nri"
) -> CohortDashboard:
    """The dashboard of every program on record (see the module text for each part)."""
    rates = cohort_rates(db, actor, None, threshold, missing, by=None)
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_RESEARCH)
        patients, synthetic = _patient_counts(session)
        endpoints = _endpoints(session)
        events = _events(session)
        labs = lab_frame(session)
    waterfall, not_evaluable = _waterfall(endpoints)
    return CohortDashboard(
        patients=patients,
        synthetic_patients=synthetic,
        rates=rates,
        waterfall=waterfall,
        not_evaluable=not_evaluable,
        adverse_events=adverse_events_by_grade(events),
        biomarkers=biomarker_sections(labs, endpoints),
        evidence=_evidence(),
    )


def labelled_rates(
    db: Database, actor: Actor, threshold: int = 75, missing: MissingRule = "nri"
) -> LabelledRates:
    """The dashboard's responder rates alone (every program, one group), with the label."""
    rates = cohort_rates(db, actor, None, threshold, missing, by=None)
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_RESEARCH)
        label = synthetic_label(*_patient_counts(session))
    return LabelledRates(rates, label)


def best_pasi_change(db: Database, actor: Actor) -> BestChange:
    """The dashboard's waterfall alone: each patient's best % PASI change, with the label."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_RESEARCH)
        label = synthetic_label(*_patient_counts(session))
        endpoints = _endpoints(session)
    waterfall, not_evaluable = _waterfall(endpoints)
    return BestChange(waterfall, not_evaluable, label)


def adverse_event_grades(db: Database, actor: Actor) -> AdverseEventGrades:
    """The dashboard's adverse events by CTCAE grade alone, with the label."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_RESEARCH)
        label = synthetic_label(*_patient_counts(session))
        events = _events(session)
    return AdverseEventGrades(adverse_events_by_grade(events), label)


def _patient_counts(session: Session) -> tuple[int, int]:
    """Patients on record, and how many of them are synthetic."""
    counted = session.execute(
        select(func.count(), func.count().filter(Patient.synthetic)).where(
            Patient.deleted_at.is_(None)
        )
    ).one()
    return int(counted[0]), int(counted[1])


def _endpoints(session: Session) -> pl.DataFrame:
    """Each patient's endpoints (research ids) from the long table of every program."""
    _, endpoints = status_tables(session_assessments_frame(session, None, False))
    return endpoints


def _waterfall(endpoints: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    evaluable = endpoints.filter(pl.col("best_pchg").is_not_null())
    waterfall = evaluable.select("patient_id", "best_pchg").sort(
        "best_pchg", "patient_id", descending=[True, False]
    )
    return waterfall, endpoints.height - evaluable.height


def _events(session: Session) -> list[tuple[int, int, bool]]:
    """``(grade, patient, serious)`` of every live adverse event of a patient on record."""
    found = session.execute(
        select(AdverseEvent.grade, AdverseEvent.patient_id, AdverseEvent.serious)
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(AdverseEvent.deleted_at.is_(None), Patient.deleted_at.is_(None))
    ).all()
    return [(int(g), int(p), bool(s)) for g, p, s in found]


def adverse_events_by_grade(events: list[tuple[int, int, bool]]) -> pl.DataFrame:
    """``grade, events, patients, serious`` for grades 1–5 from ``(grade, patient, serious)``.

    >>> adverse_events_by_grade([(1, 10, False), (1, 10, False), (3, 11, True)]).rows()[:3]
    [(1, 2, 1, 0), (2, 0, 0, 0), (3, 1, 1, 1)]
    """
    rows = []
    for grade in GRADES:
        of_grade = [e for e in events if e[0] == grade]
        rows.append(
            {
                "grade": grade,
                "events": len(of_grade),
                "patients": len({e[1] for e in of_grade}),
                "serious": sum(1 for e in of_grade if e[2]),
            }
        )
    return pl.DataFrame(
        rows,
        schema={"grade": pl.Int64, "events": pl.Int64, "patients": pl.Int64, "serious": pl.Int64},
    )


def lab_frame(session: Session) -> pl.DataFrame:
    """Every live lab value as ``patient_id`` (research id), ``analyte, unit, day, value``."""
    found = session.execute(
        select(
            LabResult.patient_id,
            Patient.research_id,
            LabResult.analyte,
            LabResult.unit,
            LabResult.sampled_at,
            LabResult.value,
        )
        .join(Patient, Patient.id == LabResult.patient_id)
        .where(LabResult.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .order_by(LabResult.sampled_at, LabResult.id)
    ).all()
    zeros = day_zero_dates(session, {row[0] for row in found})
    rows = []
    for pid, research_id, analyte, unit, sampled_at, value in found:
        if pid not in zeros:
            continue
        day = study_day(sampled_at.date(), zeros[pid][0])
        rows.append((research_id, analyte, unit, day, float(value)))
    schema = {
        "patient_id": pl.String,
        "analyte": pl.String,
        "unit": pl.String,
        "day": pl.Int64,
        "value": pl.Float64,
    }
    # Two samples of one analyte on one day: the later one counts (ordered by sampling time).
    return (
        pl.DataFrame(rows, schema=schema, orient="row")
        .unique(["patient_id", "analyte", "day"], keep="last", maintain_order=True)
        .sort("analyte", "patient_id", "day")
    )


def biomarker_sections(labs: pl.DataFrame, endpoints: pl.DataFrame) -> tuple[BiomarkerSection, ...]:
    """Change of each analyte from baseline to its follow-up day, PASI 75 responders vs not."""
    sections = []
    for analyte in labs["analyte"].unique().sort().to_list():
        rows = labs.filter(pl.col("analyte") == analyte)
        days = Counter(d for d in rows.filter(pl.col("day") > 0)["day"].to_list())
        if not days:
            continue
        follow_up = max(days, key=lambda d: (days[d], d))
        pairs = derive_biomarker_pairs(rows.select("patient_id", "day", "value"), follow_up)
        reached = endpoints.select(
            "patient_id",
            (
                pl.col("first_pasi75_day").is_not_null() & (pl.col("first_pasi75_day") <= follow_up)
            ).alias("responder"),
        )
        pairs = pairs.join(reached, on="patient_id", how="left")
        change = biomarker_change(pairs, biomarker=analyte, responder="responder")
        unit = rows["unit"].mode().sort()[0]
        sections.append(BiomarkerSection(analyte, unit, follow_up, change))
    return tuple(sections)


def _evidence() -> Evidence:
    table = load_published_table()
    return Evidence(
        name=table.name,
        label=table.label,
        version=table.version,
        caveat=CAVEAT,
        rows=derive_published_rates(table),
    )
