"""``/api/v1/patients``: the patient list, one patient's record, and enrollment.

Staff read a patient by internal id. A researcher may list (rows keyed by research id, every
identifier empty: :func:`~psotrack.services.search.search_patients` decides) and reads one
patient by research id only (:mod:`psotrack.web.routes.api_endpoints`): a route keyed by the
internal id refuses the role before anything is looked up, so its answer (403) is the same
whether the patient exists or not.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request

from psotrack.services.context import Actor
from psotrack.services.patients import PatientIn, enroll_patient
from psotrack.services.payloads import MAX_ID
from psotrack.services.search import SortKey, search_patients
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import EnrollmentStatus, PsoriasisType, Sex
from psotrack.web import rules
from psotrack.web.params import Page, PageSize, WholeNumber
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routing import Router, reads_many_patients
from psotrack.web.schemas import (
    ERRORS,
    WRITE_ERRORS,
    ApiModel,
    Created,
    PageOut,
)

router = Router(prefix="/api/v1", tags=["patients"], dependencies=[Depends(bearer)])

#: An internal patient id in a path (the database's int4 range).
PatientId = Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="internal patient id")]


class PatientRowOut(ApiModel):
    """One row of the patient list; identifiers are null for a role without access to them."""

    patient_id: int | None
    research_id: str
    family_name: str | None
    given_name: str | None
    mrn: str | None
    program_id: int
    program: str | None
    status: EnrollmentStatus
    last_visit: date | None
    #: The PASI of the latest visit with one, as exact decimal text ("10.0").
    current_pasi: str | None
    #: Percent change of that PASI from baseline (negative: improvement).
    pchg: float | None
    open_alerts: int


class EnrollmentOut(ApiModel):
    id: int
    program_id: int
    start_date: date
    status: EnrollmentStatus
    arm: str | None
    withdrawal_reason: str | None


class PatientOut(ApiModel):
    """One patient as the care team reads it: identity, background, enrollments."""

    id: int
    research_id: str
    mrn: str | None
    family_name: str | None
    given_name: str | None
    birth_date: date | None
    sex: Sex
    birth_year: int | None
    fitzpatrick: int | None
    psoriasis_type: PsoriasisType
    onset_year: int | None
    history: str | None
    #: True for the synthetic demo cohort.
    synthetic: bool
    #: Day 0 of the study days: the first cell-therapy administration (else the first start).
    day_zero: date | None
    enrollments: list[EnrollmentOut]


@router.get("/patients", response_model=PageOut[PatientRowOut], responses=ERRORS)
@reads_many_patients
def list_patients(
    request: Request,
    q: Annotated[
        str, Query(max_length=100, description="name or MRN (staff), or research id prefix")
    ] = "",
    status: EnrollmentStatus | None = None,
    sort: SortKey = "last_visit",
    desc: bool = True,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.RESEARCH),
) -> PageOut[PatientRowOut]:
    found = search_patients(
        request.app.state.db, actor, q, None, status, sort, desc, page, page_size
    )
    items = [PatientRowOut.model_validate(row, from_attributes=True) for row in found.rows]
    return PageOut[PatientRowOut](
        items=items, total=found.total, page=found.page, page_size=found.page_size
    )


@router.get("/patients/{patient_id}", response_model=PatientOut, responses=ERRORS)
def get_patient(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.IDENTIFIED)
) -> PatientOut:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    patient, identity = timeline.patient, timeline.identity
    return PatientOut(
        id=patient.id,
        research_id=patient.research_id,
        mrn=identity.mrn if identity else None,
        family_name=identity.family_name if identity else None,
        given_name=identity.given_name if identity else None,
        birth_date=identity.birth_date if identity else None,
        sex=patient.sex,
        birth_year=patient.birth_year,
        fitzpatrick=patient.fitzpatrick,
        psoriasis_type=patient.psoriasis_type,
        onset_year=patient.onset_year,
        history=patient.history,
        synthetic=patient.synthetic,
        day_zero=timeline.day_zero,
        enrollments=[EnrollmentOut.model_validate(e) for e in timeline.enrollments],
    )


@router.post("/patients", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def enroll(request: Request, patient: PatientIn, actor: Actor = Depends(rules.ENROLL)) -> Created:
    return Created(id=enroll_patient(request.app.state.db, actor, patient))
