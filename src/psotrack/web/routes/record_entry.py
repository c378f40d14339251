"""Entering the rest of a patient's record: enrollment, visits, labs (per-analyte units),
concomitant therapies and photos (JPEG/PNG, size-limited, metadata stripped by the service).

Each ``POST`` calls one service; on a problem nothing is stored and the form comes back (422)
with the problem beside its field and what was typed kept (a chosen file must be chosen again:
browsers never refill file fields).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from psotrack.errors import Conflict, Problem, ValidationError
from psotrack.services.context import Actor
from psotrack.services.entry_choices import entry_choices, program_choices
from psotrack.services.labs import LabResultIn, record_lab_result
from psotrack.services.patients import PatientIn, VisitIn, enroll_patient, record_visit
from psotrack.services.payloads import parse_payload
from psotrack.services.photos import ALLOWED_TEXT, PhotoIn, attach_photo
from psotrack.services.therapies import (
    BIOLOGIC_TARGETS,
    ConcomitantTherapyIn,
    record_concomitant_therapy,
)
from psotrack.store.vocabulary import (
    ANALYTES,
    EnrollmentStatus,
    PsoriasisType,
    Sex,
    TherapyClass,
    VisitType,
)
from psotrack.web import rules
from psotrack.web.entry import PatientId, form_data, form_page, patient_page, submit
from psotrack.web.forms import FormReader, Refusal, drop_empty, other_problems, payload_problems
from psotrack.web.routing import Router

router = Router(include_in_schema=False)


def _options(values: Any) -> list[tuple[str, str]]:
    return [(v.value, v.value) for v in values]


def _entry_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    template: str,
    fields: tuple[str, ...],
    context: dict[str, Any],
    reader: FormReader | None = None,
    problems: list[Problem] | None = None,
) -> HTMLResponse:
    """An entry page of one patient: blank (no reader), or again with its problems (422)."""
    page = {"choices": entry_choices(request.app.state.db, actor, patient_id), **context}
    return form_page(
        request,
        template,
        page,
        typed=reader.typed if reader is not None else {},
        problems=problems or [],
        fields=fields,
        status_code=422 if problems else 200,
    )


# --- visit -------------------------------------------------------------------------------------

VISIT_FIELDS = tuple(VisitIn.model_fields)


@router.get("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def visit_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Response:
    context = {"visit_types": _options(VisitType)}
    return _entry_page(request, actor, patient_id, "entry/visit.html", VISIT_FIELDS, context)


@router.post("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def visit_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
    form: FormData = Depends(form_data),
) -> Response:
    reader = FormReader(form)
    payload = {
        "patient_id": patient_id,
        "visit_date": reader.text("visit_date"),
        "visit_type": reader.text("visit_type"),
        "label": reader.text("label"),
    }
    db = request.app.state.db
    stored, problems = submit(reader, payload, VisitIn, lambda p: record_visit(db, actor, p))
    if stored is not None:
        return patient_page(patient_id)
    context = {"visit_types": _options(VisitType)}
    return _entry_page(
        request, actor, patient_id, "entry/visit.html", VISIT_FIELDS, context, reader, problems
    )


# --- lab result --------------------------------------------------------------------------------

LAB_FIELDS = tuple(LabResultIn.model_fields)


def _lab_context() -> dict[str, Any]:
    analytes = sorted(ANALYTES.items(), key=lambda item: item[1][0])
    return {
        "analytes": [
            (code, f"{label} ({', '.join(sorted(units))})") for code, (label, units) in analytes
        ],
        "units": [(code, unit) for code, (_, units) in analytes for unit in sorted(units)],
    }


@router.get("/patients/{patient_id}/labs/new", response_class=HTMLResponse)
def lab_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Response:
    return _entry_page(request, actor, patient_id, "entry/lab.html", LAB_FIELDS, _lab_context())


@router.post("/patients/{patient_id}/labs/new", response_class=HTMLResponse)
def lab_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
    form: FormData = Depends(form_data),
) -> Response:
    reader = FormReader(form)
    payload = {
        "patient_id": patient_id,
        "analyte": reader.text("analyte"),
        "value": reader.real("value", "the result"),
        "unit": reader.text("unit"),
        "reference_low": reader.real("reference_low", "lower reference limit"),
        "reference_high": reader.real("reference_high", "upper reference limit"),
        "sampled_at": reader.text("sampled_at"),
        "visit_id": reader.integer("visit_id", "one of the patient's visits"),
    }
    db = request.app.state.db
    stored, problems = submit(
        reader, payload, LabResultIn, lambda p: record_lab_result(db, actor, p)
    )
    if stored is not None:
        return patient_page(patient_id)
    return _entry_page(
        request, actor, patient_id, "entry/lab.html", LAB_FIELDS, _lab_context(), reader, problems
    )


# --- concomitant therapy -----------------------------------------------------------------------

THERAPY_FIELDS = tuple(ConcomitantTherapyIn.model_fields)


def _therapy_context() -> dict[str, Any]:
    targets = [(t, t) for t in BIOLOGIC_TARGETS]
    return {"classes": _options(TherapyClass), "targets": targets}


@router.get("/patients/{patient_id}/therapies/new", response_class=HTMLResponse)
def therapy_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Response:
    return _entry_page(
        request, actor, patient_id, "entry/therapy.html", THERAPY_FIELDS, _therapy_context()
    )


@router.post("/patients/{patient_id}/therapies/new", response_class=HTMLResponse)
def therapy_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
    form: FormData = Depends(form_data),
) -> Response:
    reader = FormReader(form)
    payload = {
        "patient_id": patient_id,
        "therapy_class": reader.text("therapy_class"),
        "agent": reader.text("agent"),
        "biologic_target": reader.text("biologic_target"),
        "start_date": reader.text("start_date"),
        "stop_date": reader.text("stop_date"),
        "dose": reader.text("dose"),
    }
    db = request.app.state.db
    stored, problems = submit(
        reader, payload, ConcomitantTherapyIn, lambda p: record_concomitant_therapy(db, actor, p)
    )
    if stored is not None:
        return patient_page(patient_id)
    context = _therapy_context()
    return _entry_page(
        request, actor, patient_id, "entry/therapy.html", THERAPY_FIELDS, context, reader, problems
    )


# --- photo -------------------------------------------------------------------------------------

PHOTO_FIELDS = ("photo", *PhotoIn.model_fields)


@router.get("/patients/{patient_id}/photos/new", response_class=HTMLResponse)
def photo_form(
    request: Request, patient_id: PatientId, actor: Actor = Depends(rules.CLINICAL_RECORD)
) -> Response:
    context = {"max_bytes": request.app.state.settings.max_upload_bytes}
    return _entry_page(request, actor, patient_id, "entry/photo.html", PHOTO_FIELDS, context)


@router.post("/patients/{patient_id}/photos/new", response_class=HTMLResponse)
def photo_record(
    request: Request,
    patient_id: PatientId,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
    form: FormData = Depends(form_data),
) -> Response:
    limit: int = request.app.state.settings.max_upload_bytes
    reader = FormReader(form)
    upload = form.get("photo")
    content = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        reader.problems.append(Problem("photo", None, f"{ALLOWED_TEXT} to upload", "missing"))
    else:
        content = upload.file.read(limit + 1)
        if len(content) > limit:
            size = f"{upload.filename} (more than {limit} bytes)"
            reader.problems.append(
                Problem("photo", size, f"a file of at most {limit} bytes", "invalid")
            )
    payload = {
        "patient_id": patient_id,
        "body_site": reader.text("body_site"),
        "view": reader.text("view"),
        "visit_id": reader.integer("visit_id", "one of the patient's visits"),
        "captured_at": reader.text("captured_at"),
    }
    db = request.app.state.db
    if reader.problems:
        found = payload_problems(lambda: parse_payload(PhotoIn, drop_empty(payload)))
        problems = [*reader.problems, *other_problems(_photo_problems(found), reader.problems)]
    else:
        name = upload.filename or "" if isinstance(upload, UploadFile) else ""
        try:
            attach_photo(db, actor, image_bytes=content, **payload)  # type: ignore[arg-type]
        except ValidationError as invalid:
            problems = _photo_problems(invalid.problems, name, len(content))
        except Conflict as clash:
            problems = [Refusal(str(clash))]
        else:
            return patient_page(patient_id)
    context = {"max_bytes": limit}
    return _entry_page(
        request, actor, patient_id, "entry/photo.html", PHOTO_FIELDS, context, reader, problems
    )


def _photo_problems(found: Any, name: str = "", size: int = 0) -> list[Problem]:
    """The service's problems, the image's named by the uploaded file rather than its bytes."""
    return [
        Problem("photo", f"{name} ({size} bytes)", p.allowed, p.kind)
        if p.field == "image_bytes"
        else p
        for p in found
    ]


# --- enrollment --------------------------------------------------------------------------------

ENROLL_FIELDS = tuple(PatientIn.model_fields)


def _enroll_context(request: Request, actor: Actor) -> dict[str, Any]:
    programs = program_choices(request.app.state.db, actor)
    return {
        "programs": [(p.id, f"{p.name} ({p.product_source}, {p.route})") for p in programs],
        "sexes": _options(Sex),
        "types": _options(PsoriasisType),
        "statuses": _options(EnrollmentStatus),
    }


@router.get("/enrollments/new", response_class=HTMLResponse)
def enroll_form(request: Request, actor: Actor = Depends(rules.ENROLL)) -> Response:
    context = _enroll_context(request, actor)
    return form_page(request, "entry/enroll.html", context, fields=ENROLL_FIELDS)


@router.post("/enrollments/new", response_class=HTMLResponse)
def enroll_record(
    request: Request, actor: Actor = Depends(rules.ENROLL), form: FormData = Depends(form_data)
) -> Response:
    reader = FormReader(form)
    payload = {
        "mrn": reader.text("mrn"),
        "family_name": reader.text("family_name"),
        "given_name": reader.text("given_name"),
        "birth_date": reader.text("birth_date"),
        "sex": reader.text("sex"),
        "psoriasis_type": reader.text("psoriasis_type"),
        "fitzpatrick": reader.integer("fitzpatrick", "skin type 1–6"),
        "onset_year": reader.integer("onset_year", "a year"),
        "history": reader.text("history"),
        "program_id": reader.integer("program_id", "a program"),
        "start_date": reader.text("start_date"),
        "status": reader.text("status"),
        "arm": reader.text("arm"),
    }
    db = request.app.state.db
    stored, problems = submit(reader, payload, PatientIn, lambda p: enroll_patient(db, actor, p))
    if stored is not None:
        return RedirectResponse(f"/patients/{stored}", status_code=303)
    context = _enroll_context(request, actor)
    return form_page(
        request,
        "entry/enroll.html",
        context,
        typed=reader.typed,
        problems=problems,
        fields=ENROLL_FIELDS,
        status_code=422,
    )
