"""``/api/v1`` endpoints: where one patient stands, and the cohort's responder rates.

Both come from the endpoint engine through the services (:func:`~psotrack.services.status.
patient_status`, :func:`~psotrack.services.cohort.cohort_rates`); nothing is derived here. Staff
read a patient's status by internal id, a researcher by research id
(``/api/v1/research/patients/{research_id}``), which is how a researcher reads one patient.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request

from psotrack.endpoints.rates import DenominatorRule, MissingRule
from psotrack.services.cohort import LEVEL, cohort_rates
from psotrack.services.context import Actor
from psotrack.services.payloads import MAX_ID
from psotrack.services.status import PatientStatus, patient_status
from psotrack.web import rules
from psotrack.web.params import Page, PageSize, WholeNumber
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.schemas import ERRORS, ApiModel, PageOut, page_of

router = Router(prefix="/api/v1", tags=["endpoints"], dependencies=[Depends(bearer)])

ResearchId = Annotated[
    str, Path(min_length=1, max_length=20, description="research id, e.g. PT-1A2B3C4D")
]


class StatusRowOut(ApiModel):
    """One visit with a score: PASI, baseline, change, and the PASI 50/75/90/100 responses."""

    visit: str
    day: int
    pasi: float | None
    base: float | None
    chg: float | None
    #: Percent change from baseline (negative: improvement).
    pchg: float | None
    pasi50: bool | None
    pasi75: bool | None
    pasi90: bool | None
    pasi100: bool | None


class PatientEndpointsOut(ApiModel):
    """The patient's durability endpoints (study days; empty when not reached or evaluable)."""

    base: float | None
    best_pchg: float | None
    first_pasi50_day: int | None
    first_pasi75_day: int | None
    first_pasi90_day: int | None
    first_pasi100_day: int | None
    pasi75_sustained: bool | None
    loss_of_response_day: int | None
    first_flare_day: int | None
    flare_count: int | None


class PatientStatusOut(ApiModel):
    """Where one patient stands, in one sentence that measures (never promises), and why."""

    #: Internal id; null for a role without access to identified records.
    patient_id: int | None
    research_id: str
    kind: str
    sentence: str
    baseline_pasi: float | None
    current_pasi: float | None
    current_day: int | None
    current_pchg: float | None
    rows: list[StatusRowOut]
    endpoints: PatientEndpointsOut | None


class RateOut(ApiModel):
    """One group at one post-baseline visit: responders of ``n``, the rate and its interval."""

    group: str
    visit: str
    day: int
    n: int
    responders: int
    #: Proportions 0–1; null when ``n`` is 0.
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class CohortRatesOut(PageOut[RateOut]):
    """PASI ``threshold`` responder rates by visit, with the rules that made them named."""

    program_id: int | None
    threshold: int
    missing: str
    missing_text: str
    denominator: str
    denominator_text: str
    interval: Literal["exact"]
    level: float
    patients: int
    title: str


def _status(status: PatientStatus) -> PatientStatusOut:
    endpoints = status.endpoints.row(0, named=True) if status.endpoints.height else None
    return PatientStatusOut(
        patient_id=status.patient_id,
        research_id=status.research_id,
        kind=status.kind,
        sentence=status.sentence,
        baseline_pasi=status.baseline_pasi,
        current_pasi=status.current_pasi,
        current_day=status.current_day,
        current_pchg=status.current_pchg,
        rows=[StatusRowOut.model_validate(row) for row in status.rows.iter_rows(named=True)],
        endpoints=None if endpoints is None else PatientEndpointsOut.model_validate(endpoints),
    )


@router.get("/patients/{patient_id}/endpoints", response_model=PatientStatusOut, responses=ERRORS)
def endpoints_of_patient(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.IDENTIFIED)
) -> PatientStatusOut:
    return _status(patient_status(request.app.state.db, actor, patient_id))


@router.get("/research/patients/{research_id}", response_model=PatientStatusOut, responses=ERRORS)
def research_patient(
    request: Request, research_id: ResearchId, actor: Actor = Depends(rules.RESEARCH)
) -> PatientStatusOut:
    return _status(patient_status(request.app.state.db, actor, research_id))


@router.get("/cohort/rates", response_model=CohortRatesOut, responses=ERRORS)
@reads_many_patients
def rates(
    request: Request,
    program_id: Annotated[WholeNumber | None, Query(ge=1, le=MAX_ID)] = None,
    threshold: Annotated[
        WholeNumber, Query(ge=1, le=100, description="PASI improvement threshold, %")
    ] = 75,
    missing: MissingRule = "nri",
    denominator: DenominatorRule = "itt",
    by: Literal["arm", "none"] = "arm",
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.RESEARCH),
) -> CohortRatesOut:
    found = cohort_rates(
        request.app.state.db,
        actor,
        program_id,
        threshold,
        missing,
        denominator,
        None if by == "none" else "arm",
    )
    rows = [{"group": row["arm"], **row} for row in found.rates.iter_rows(named=True)]
    listed = page_of(RateOut, rows, page, page_size)
    return CohortRatesOut(
        **listed.model_dump(),
        program_id=found.program_id,
        threshold=found.threshold,
        missing=found.missing,
        missing_text=found.missing_text,
        denominator=found.denominator,
        denominator_text=found.denominator_text,
        interval="exact",
        level=LEVEL,
        patients=found.patients,
        title=found.title,
    )
