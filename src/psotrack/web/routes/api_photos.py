"""``/api/v1`` photos: upload (metadata stripped by the service), metadata list, and the bytes.

Photos are identified records: every route here is for the care team only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import Response

from psotrack.services.context import Actor
from psotrack.services.payloads import MAX_ID
from psotrack.services.photos import FORMATS, MAX_BYTES, attach_photo, open_photo
from psotrack.services.timeline import load_timeline
from psotrack.store.vocabulary import ColourSpace
from psotrack.web import rules
from psotrack.web.params import Page, PageSize, WholeNumber
from psotrack.web.routes.api_auth import bearer
from psotrack.web.routes.api_patients import PatientId
from psotrack.web.routing import Router
from psotrack.web.schemas import (
    ERRORS,
    WRITE_ERRORS,
    ApiModel,
    Created,
    Message,
    Moment,
    PageOut,
    page_of,
)

router = Router(prefix="/api/v1", tags=["photos"], dependencies=[Depends(bearer)])

FormId = Annotated[WholeNumber, Form(ge=1, le=MAX_ID)]
#: The media types a stored photo is served as (the service re-encodes to one of these).
IMAGE_TYPES: dict[str, dict[str, str]] = {media: {} for _, media in FORMATS.values()}


class PhotoOut(ApiModel):
    id: int
    patient_id: int
    visit_id: int | None
    body_site: str
    view: str
    captured_at: Moment | None
    media_type: str
    width: int
    height: int
    #: The colour space the upload was converted from (stored pixels are sRGB).
    colour_space: ColourSpace


@router.get("/patients/{patient_id}/photos", response_model=PageOut[PhotoOut], responses=ERRORS)
def list_photos(
    request: Request,
    patient_id: PatientId,
    page: Page = 1,
    page_size: PageSize = 50,
    actor: Actor = Depends(rules.IDENTIFIED),
) -> PageOut[PhotoOut]:
    timeline = load_timeline(request.app.state.db, actor, patient_id)
    return page_of(PhotoOut, timeline.photos, page, page_size)


@router.post("/photos", status_code=201, response_model=Created, responses=WRITE_ERRORS)
def upload_photo(
    request: Request,
    patient_id: FormId,
    body_site: Annotated[str, Form(min_length=1, max_length=80)],
    view: Annotated[str, Form(min_length=1, max_length=40)],
    image: Annotated[UploadFile, File(description="a JPEG, PNG or WebP image")],
    visit_id: Annotated[FormId | None, Form()] = None,
    captured_at: Annotated[datetime | None, Form()] = None,
    actor: Actor = Depends(rules.CLINICAL_RECORD),
) -> Created:
    photo_id = attach_photo(
        request.app.state.db,
        actor,
        patient_id=patient_id,
        image_bytes=image.file.read(MAX_BYTES + 1),
        body_site=body_site,
        view=view,
        visit_id=visit_id,
        captured_at=captured_at,
    )
    return Created(id=photo_id)


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses={
        200: {"content": IMAGE_TYPES, "description": "the stored image"},
        **ERRORS,
        409: {"model": Message, "description": "the stored file does not match its hash"},
    },
)
def photo_bytes(
    request: Request,
    photo_id: Annotated[WholeNumber, Path(ge=1, le=MAX_ID, description="photo id")],
    actor: Actor = Depends(rules.IDENTIFIED),
) -> Response:
    stored = open_photo(request.app.state.db, actor, photo_id)
    return Response(stored.content, media_type=stored.media_type)
