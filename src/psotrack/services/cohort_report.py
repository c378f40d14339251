"""The cohort report's data: flow, baseline table, responder rates, survival, safety, evidence.

:func:`cohort_report` reads one program (every program when none is named) in one read
transaction, as a role that may read de-identified records (a researcher may run it), and
hands the tables to the code that owns each rule: the endpoint engine (baselines, changes,
responders, rates, time to event), :mod:`psotrack.stats` (exact intervals, Kaplan–Meier,
biomarker tests) and :mod:`psotrack.evidence` (the published rows and their caveat). Only coded
fields and research ids are read: no name, MRN, birth date or free text.

psotrack's choices, printed in the report where they matter:

- The scope is the patients with an enrollment in the program; each patient's newest such
  enrollment counts, and ``date_from``/``date_to`` keep the patients whose enrollment started
  in that range (both ends included).
- *Screened*: every patient in scope; *enrolled*: status other than ``screening`` — the analysis
  set of every table and figure; *treated*: at least one cell-therapy administration;
  *followed to a time point*: a PASI at that visit; *withdrawn*: status ``withdrawn``. The
  withdrawal reason is free text (it may name people), so only whether one was recorded is
  counted.
- Age is the enrollment year minus the birth year (research views hold the year only), and
  ages of 90 or more are counted as 90 (HIPAA Safe Harbor); disease duration is the enrollment
  year minus the onset year. Prior therapy is a concomitant therapy started before day 0;
  *systemic* means methotrexate, ciclosporin, acitretin, apremilast or a biologic.
- Responder rates use non-responder imputation over every enrolled patient (ITT) with exact
  95 % intervals; time to relapse counts from the cohort's usual last-dose day (the study day of
  the last administration most patients share, the later when tied), among PASI 50 responders.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.endpoints import (
    MISSING_TEXT,
    derive_change,
    derive_flag_rates,
    derive_patient_endpoints,
    derive_response_rates,
    derive_time_to_event,
    derive_time_to_relapse,
    prepare_assessments,
)
from psotrack.errors import NotFound, ValidationError
from psotrack.services.cohort_safety import SafetyTables, safety_tables
from psotrack.services.cohort_tables import baseline_table, evidence_rows, flow_table
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.dashboard import (
    BiomarkerSection,
    biomarker_sections,
    lab_frame,
    synthetic_label,
)
from psotrack.services.payloads import require_date, require_id
from psotrack.services.study_days import first_dose_dates
from psotrack.services.timeline import session_assessments_frame
from psotrack.stats import KaplanMeier, time_to_relapse, time_to_response
from psotrack.store.models import Enrollment, Patient, Program

#: The missing-data rule of every rate in the report.
MISSING: Final = "nri"
#: The endpoints of the responder table: (name shown, PASI threshold or row flag).
ENDPOINTS: Final = (
    ("PASI 50", 50),
    ("PASI 75", 75),
    ("PASI 90", 90),
    ("PASI 100", 100),
    ("PGA 0/1", "pga01"),
    ("DLQI 0/1", "dlqi01"),
)
RATE_SCHEMA: Final = {
    "endpoint": pl.String,
    "visit": pl.String,
    "day": pl.Int64,
    "n": pl.Int64,
    "responders": pl.Int64,
    "rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}


@dataclass(frozen=True)
class Scope:
    """What the report covers: the program (or every program) and the enrollment dates."""

    program_id: int | None
    program: str
    date_from: date | None
    date_to: date | None

    @property
    def text(self) -> str:
        dates = ""
        if self.date_from or self.date_to:
            start = self.date_from.isoformat() if self.date_from else "the first"
            end = self.date_to.isoformat() if self.date_to else "the latest"
            dates = f"; enrollment started from {start} to {end}"
        return f"{self.program}{dates}"


@dataclass(frozen=True, eq=False)
class CohortReport:
    """Everything the cohort report prints; frames keyed by research id, never an identifier.

    ``flow``: ``step, patients, note`` (CONSORT-style); ``baseline``: ``characteristic, level,
    n, percent, median, q1, q3, minimum, maximum`` (counts or a distribution per row);
    ``rates``: :data:`RATE_SCHEMA`; ``pasi_change``: ``patient_id, day, pchg`` (day 0 at 0 %
    for evaluable patients); ``pasi_median``: ``day, median, q1, q3, n`` per visit;
    ``waterfall``: ``patient_id, best_pchg``; ``evidence``: see
    :func:`~psotrack.services.cohort_tables.evidence_rows`.
    """

    scope: Scope
    patients: int
    screened: int
    synthetic_patients: int
    flow: pl.DataFrame
    baseline: pl.DataFrame
    rates: pl.DataFrame
    pasi_change: pl.DataFrame
    pasi_median: pl.DataFrame
    waterfall: pl.DataFrame
    not_evaluable: int
    time_to_pasi75: KaplanMeier | None
    relapse_stop_day: int | None
    time_to_relapse: KaplanMeier | None
    biomarkers: tuple[BiomarkerSection, ...]
    safety: SafetyTables
    evidence: pl.DataFrame
    evidence_caveat: str

    @property
    def synthetic_label(self) -> str:
        return synthetic_label(self.screened, self.synthetic_patients)

    @property
    def missing_text(self) -> str:
        return MISSING_TEXT[MISSING]

    def summary(self) -> pl.DataFrame:
        """The responder table (one row per endpoint and visit)."""
        return self.rates


def cohort_report(
    db: Database,
    actor: Actor,
    program_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> CohortReport:
    """The cohort report of one program (every program when ``None``); see the module text."""
    if program_id is not None:
        require_id("program_id", program_id)
    for field, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None:
            require_date(field, value)
    if date_from and date_to and date_from > date_to:
        raise ValidationError("date_to", date_to.isoformat(), f"on or after {date_from}")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        scope = Scope(program_id, _program_name(session, program_id), date_from, date_to)
        enrollments = _enrollments(session, program_id, date_from, date_to)
        enrolled = [pid for pid, (status, _, _) in enrollments.items() if status != "screening"]
        frame = session_assessments_frame(
            session, program_id, actor.may(Permission.READ_IDENTIFIED), enrolled
        )
        patients = _patients(session, list(enrollments))
        zero = first_dose_dates(session, enrolled)
        safety = safety_tables(session, enrolled, zero, enrollments)
        labs = lab_frame(session)
        therapies = _prior_therapy(session, enrolled, zero, enrollments)
    research = {pid: patients[pid][0] for pid in enrolled}
    labs = labs.filter(pl.col("patient_id").is_in(list(research.values())))
    scored = frame.filter(pl.col("pasi").is_not_null()).height > 0
    endpoints = _endpoints(frame) if scored else None
    waterfall, not_evaluable = _waterfall(endpoints, len(enrolled))
    stop_day = safety.usual_last_dose_day
    return CohortReport(
        scope=scope,
        patients=len(enrolled),
        screened=len(enrollments),
        synthetic_patients=sum(1 for p in patients.values() if p[-1]),
        flow=flow_table(enrollments, frame, safety.treated),
        baseline=baseline_table(
            {pid: patients[pid] for pid in enrolled}, enrollments, frame, therapies
        ),
        rates=_rates(frame) if scored else pl.DataFrame(schema=RATE_SCHEMA),
        pasi_change=_pasi_change(frame) if scored else _EMPTY_CHANGE,
        pasi_median=_pasi_median(frame) if scored else _EMPTY_MEDIAN,
        waterfall=waterfall,
        not_evaluable=not_evaluable,
        time_to_pasi75=_time_to_pasi75(frame) if scored else None,
        relapse_stop_day=stop_day,
        time_to_relapse=_time_to_relapse(frame, stop_day) if scored else None,
        biomarkers=biomarker_sections(labs, endpoints) if endpoints is not None else (),
        safety=safety,
        evidence=evidence_rows(frame) if scored else evidence_rows(None),
        evidence_caveat=_caveat(),
    )


def _caveat() -> str:
    from psotrack.evidence import CAVEAT

    return CAVEAT


def _program_name(session: Session, program_id: int | None) -> str:
    if program_id is None:
        return "every program on record"
    name = session.scalar(select(Program.name).where(Program.id == program_id))
    if name is None:
        raise NotFound(f"no program with id {program_id}")
    return name


def _enrollments(
    session: Session, program_id: int | None, date_from: date | None, date_to: date | None
) -> dict[int, tuple[str, date, bool]]:
    """``patient → (status, start date, withdrawal reason recorded)`` of each live patient's
    newest enrollment in scope, kept when its start date is within the dates."""
    query = (
        select(
            Enrollment.patient_id,
            Enrollment.status,
            Enrollment.start_date,
            Enrollment.withdrawal_reason.is_not(None) & (Enrollment.withdrawal_reason != ""),
        )
        .join(Patient, Patient.id == Enrollment.patient_id)
        .where(Enrollment.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .order_by(Enrollment.start_date, Enrollment.id)
    )
    if program_id is not None:
        query = query.where(Enrollment.program_id == program_id)
    newest = {
        pid: (str(status), start, bool(reason))
        for pid, status, start, reason in session.execute(query)
    }
    return {
        pid: found
        for pid, found in sorted(newest.items())
        if (date_from is None or found[1] >= date_from) and (date_to is None or found[1] <= date_to)
    }


def _patients(
    session: Session, ids: list[int]
) -> dict[int, tuple[str, str, int | None, int | None, int | None, bool]]:
    """``patient → (research id, sex, birth year, Fitzpatrick type, onset year, synthetic)``."""
    found = session.execute(
        select(
            Patient.id,
            Patient.research_id,
            Patient.sex,
            Patient.birth_year,
            Patient.fitzpatrick,
            Patient.onset_year,
            Patient.synthetic,
        ).where(Patient.id.in_(ids))
    ).all()
    return {int(r[0]): (str(r[1]), str(r[2]), r[3], r[4], r[5], bool(r[6])) for r in found}


def _prior_therapy(
    session: Session,
    ids: list[int],
    zero: dict[int, date],
    enrollments: dict[int, tuple[str, date, bool]],
) -> dict[int, set[str]]:
    """``patient → therapy classes started before day 0`` (coded classes only)."""
    from psotrack.store.models import ConcomitantTherapy

    found = session.execute(
        select(
            ConcomitantTherapy.patient_id,
            ConcomitantTherapy.therapy_class,
            ConcomitantTherapy.start_date,
        ).where(ConcomitantTherapy.patient_id.in_(ids), ConcomitantTherapy.deleted_at.is_(None))
    ).all()
    classes: dict[int, set[str]] = {}
    for pid, therapy_class, start in found:
        day_zero = zero.get(pid, enrollments[pid][1])
        if start < day_zero:
            classes.setdefault(pid, set()).add(str(therapy_class))
    return classes


def _endpoints(frame: pl.DataFrame) -> pl.DataFrame:
    return derive_patient_endpoints(frame.select("patient_id", "arm", "visit", "day", "pasi"))


def _rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Every endpoint's rate by visit (NRI, ITT, exact 95 % intervals), ordered by day."""
    assessments = prepare_assessments(frame)
    parts = []
    for name, measure in ENDPOINTS:
        if isinstance(measure, int):
            rates = derive_response_rates(assessments, measure, MISSING, by=None, ci="exact")
        else:
            rates = derive_flag_rates(assessments, measure, MISSING, by=None, ci="exact")
        parts.append(rates.select(pl.lit(name).alias("endpoint"), *list(RATE_SCHEMA)[1:]))
    return pl.concat(parts).cast(RATE_SCHEMA)  # type: ignore[arg-type]


_EMPTY_CHANGE: Final = pl.DataFrame(
    schema={"patient_id": pl.String, "day": pl.Int64, "pchg": pl.Float64}
)
_EMPTY_MEDIAN: Final = pl.DataFrame(
    schema={
        "day": pl.Int64,
        "median": pl.Float64,
        "q1": pl.Float64,
        "q3": pl.Float64,
        "n": pl.Int64,
    }
)


def _pasi_change(frame: pl.DataFrame) -> pl.DataFrame:
    """Each evaluable patient's % change of PASI by study day, starting at 0 % on day 0."""
    changed = derive_change(frame.select("patient_id", "visit", "day", "pasi"))
    evaluable = changed.filter(pl.col("evaluable")).select("patient_id").unique()
    start = evaluable.with_columns(pl.lit(0, pl.Int64).alias("day"), pl.lit(0.0).alias("pchg"))
    post = changed.filter(pl.col("pchg").is_not_null()).select("patient_id", "day", "pchg")
    return pl.concat([start, post]).sort("patient_id", "day")


def _pasi_median(frame: pl.DataFrame) -> pl.DataFrame:
    """Median and quartiles of the observed % change at each post-baseline visit (its day)."""
    from psotrack.endpoints import visit_days
    from psotrack.stats import Distribution
    from psotrack.stats.biomarkers import describe

    changed = derive_change(frame.select("patient_id", "visit", "day", "pasi"))
    rows = []
    for visit, day in visit_days(changed).filter(pl.col("day") > 0).iter_rows():
        values = changed.filter((pl.col("visit") == visit) & pl.col("pchg").is_not_null())[
            "pchg"
        ].to_list()
        found: Distribution = describe(values)
        rows.append((day, found.median, found.q1, found.q3, found.n))
    return pl.DataFrame(rows, schema=_EMPTY_MEDIAN.schema, orient="row")


def _waterfall(endpoints: pl.DataFrame | None, patients: int) -> tuple[pl.DataFrame, int]:
    if endpoints is None:
        return pl.DataFrame(schema={"patient_id": pl.String, "best_pchg": pl.Float64}), patients
    evaluable = endpoints.filter(pl.col("best_pchg").is_not_null())
    waterfall = evaluable.select("patient_id", "best_pchg").sort(
        "best_pchg", "patient_id", descending=[True, False]
    )
    return waterfall, patients - evaluable.height


def _time_to_pasi75(frame: pl.DataFrame) -> KaplanMeier | None:
    events = derive_time_to_event(frame.select("patient_id", "visit", "day", "pasi"), 75)
    return time_to_response(events) if events.height else None


def _time_to_relapse(frame: pl.DataFrame, stop_day: int | None) -> KaplanMeier | None:
    if stop_day is None:
        return None
    events = derive_time_to_relapse(
        frame.select("patient_id", "visit", "day", "pasi"), stop_day=stop_day
    )
    return time_to_relapse(events) if events.height else None


def usual_day(days: list[int]) -> int | None:
    """The most common value (the later when tied); ``None`` for none.

    >>> usual_day([56, 56, 28, 84, 84]), usual_day([])
    (84, None)
    """
    counted = Counter(days)
    return max(counted, key=lambda d: (counted[d], d)) if counted else None
