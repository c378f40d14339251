"""Clinical photographs: metadata stripped on intake, files stored by content hash outside the DB.

On intake the image is decoded with Pillow (JPEG, PNG or WebP only), turned upright by its EXIF
orientation, and re-encoded from its pixels alone: no EXIF (camera, GPS), XMP, ICC profile,
comment or PNG text chunk survives, since any of these can identify a person or a place. Before
that, the pixels are converted from the embedded colour profile to sRGB
(:mod:`psotrack.services.photo_colours`) and the original colour space is recorded. The
stored file is named by the SHA-256 of the bytes written, under
``photo_dir/<hash[:2]>/<hash>.<ext>``; the same picture attached twice is stored once. The file
is published under that name only after its row is committed (:mod:`.photo_files`).

The only thing read from EXIF is the capture time (``DateTimeOriginal``, with
``OffsetTimeOriginal`` when the camera wrote one; a camera time without an offset is taken as
UTC), and only when the caller gives no ``captured_at``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from pydantic import Field

from psotrack.errors import Conflict, NotFound, ValidationError
from psotrack.services.audit import audit_created
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.labs import require_visit_of_patient
from psotrack.services.patients import get_patient
from psotrack.services.payloads import Id, Payload, Text, as_utc, parse_payload, require_id
from psotrack.services.photo_colours import to_srgb
from psotrack.services.photo_files import photo_path, publish_after_commit, stage
from psotrack.store.models import Photo
from psotrack.store.vocabulary import ColourSpace

#: Pillow format → (file extension, media type) of what we accept and store.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
#: Largest upload read at all; a phone photo is a few MB.
MAX_BYTES = 50 * 1024 * 1024
ALLOWED_TEXT = "a still JPEG, PNG or WebP image"


class PhotoIn(Payload):
    patient_id: Id
    body_site: Annotated[Text, Field(min_length=1, max_length=80)]
    view: Annotated[Text, Field(min_length=1, max_length=40)]
    visit_id: Id | None = None
    captured_at: datetime | None = None


@dataclass(frozen=True)
class CleanImage:
    """An upright image re-encoded from its pixels: the bytes to store and what to record."""

    content: bytes
    content_hash: str
    extension: str
    media_type: str
    width: int
    height: int
    captured_at: datetime | None
    colour_space: ColourSpace = ColourSpace.UNTAGGED


def attach_photo(
    db: Database,
    actor: Actor,
    *,
    patient_id: int,
    image_bytes: bytes,
    body_site: str,
    view: str,
    visit_id: int | None = None,
    captured_at: datetime | None = None,
) -> int:
    """Store a photo of a patient (metadata stripped, orientation applied); returns its id."""
    form = {"patient_id": patient_id, "body_site": body_site, "view": view}
    form |= {"visit_id": visit_id, "captured_at": captured_at}
    data = parse_payload(PhotoIn, form)
    image = clean_image(image_bytes)
    moment = data.captured_at if data.captured_at is not None else image.captured_at
    path = photo_path(db.photo_dir, image.content_hash, image.extension)
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.RECORD_CLINICAL)
        get_patient(session, data.patient_id)
        if data.visit_id is not None:
            require_visit_of_patient(session, data.patient_id, data.visit_id)
        photo = Photo(
            patient_id=data.patient_id,
            visit_id=data.visit_id,
            body_site=data.body_site,
            view=data.view,
            captured_at=as_utc(moment) if moment is not None else None,
            content_hash=image.content_hash,
            media_type=image.media_type,
            width=image.width,
            height=image.height,
            colour_space=image.colour_space,
        )
        session.add(photo)
        audit_created(session, actor, photo)
        publish_after_commit(session, stage(path, image.content), path)
        return photo.id


@dataclass(frozen=True)
class PhotoFile:
    """A stored photo's bytes and their media type (``image/jpeg``, ``image/png`` or WebP)."""

    content: bytes
    media_type: str


def read_photo(db: Database, actor: Actor, photo_id: int) -> bytes:
    """The stored (stripped) bytes of a photo, checked against its hash."""
    return open_photo(db, actor, photo_id).content


def open_photo(db: Database, actor: Actor, photo_id: int) -> PhotoFile:
    """The stored (stripped) bytes of a photo, checked against its hash, with its media type."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        photo = session.get(Photo, require_id("photo_id", photo_id))
        if photo is None or photo.deleted_at is not None:
            raise NotFound(f"no photo with id {photo_id}")
        extension = next(ext for ext, media in FORMATS.values() if media == photo.media_type)
        path = photo_path(db.photo_dir, photo.content_hash, extension)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the file of photo {photo_id} is missing from the photo folder") from None
    if hashlib.sha256(content).hexdigest() != photo.content_hash:
        raise Conflict(f"the file of photo {photo_id} does not match its recorded hash")
    return PhotoFile(content, photo.media_type)


def clean_image(image_bytes: bytes) -> CleanImage:
    """Decode, turn upright and re-encode pixels only; ValidationError for anything else."""
    if not isinstance(image_bytes, bytes | bytearray):
        raise ValidationError("image_bytes", type(image_bytes).__name__, "bytes", kind="type")
    if len(image_bytes) > MAX_BYTES:
        raise ValidationError("image_bytes", f"{len(image_bytes)} bytes", f"≤ {MAX_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(image_bytes), formats=list(FORMATS))
            if getattr(source, "n_frames", 1) != 1:
                raise ValidationError("image_bytes", "an animation", ALLOWED_TEXT, kind="invalid")
            source.load()
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,  # not an image, or a format not in FORMATS
        Image.DecompressionBombWarning,  # too many pixels to decode safely
        Image.DecompressionBombError,
        OSError,  # truncated or corrupt data, from here on
        SyntaxError,
        ValueError,
        EOFError,
    ):
        raise ValidationError(
            "image_bytes", _preview(image_bytes), ALLOWED_TEXT, "invalid"
        ) from None
    format_name = str(source.format)
    extension, media_type = FORMATS[format_name]
    taken = _exif_capture_time(source)
    upright = ImageOps.exif_transpose(source)
    srgb, space = to_srgb(upright, source.info.get("icc_profile"))
    pixels = _pixels_only(srgb)
    buffer = io.BytesIO()
    if format_name == "JPEG":
        pixels.save(buffer, "JPEG", quality=95)
    elif format_name == "PNG":
        pixels.save(buffer, "PNG")
    else:
        pixels.save(buffer, "WEBP", quality=95)
    content = buffer.getvalue()
    return CleanImage(
        content=content,
        content_hash=hashlib.sha256(content).hexdigest(),
        extension=extension,
        media_type=media_type,
        width=pixels.width,
        height=pixels.height,
        captured_at=taken,
        colour_space=space,
    )


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels: no ``info`` (EXIF, XMP, ICC, comments, text)."""
    if image.mode == "P" or "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode == "CMYK":  # without the dropped ICC profile, CMYK has no agreed colours
        image = image.convert("RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _exif_capture_time(image: Image.Image) -> datetime | None:
    """EXIF DateTimeOriginal (with OffsetTimeOriginal if present), or None if absent or bad."""
    details = image.getexif().get_ifd(ExifTags.IFD.Exif)
    raw = details.get(ExifTags.Base.DateTimeOriginal)
    offset = details.get(ExifTags.Base.OffsetTimeOriginal)
    if not isinstance(raw, str):
        return None
    text = raw.strip().rstrip("\x00")
    try:
        if isinstance(offset, str) and offset.strip():
            return datetime.strptime(f"{text} {offset.strip()}", "%Y:%m:%d %H:%M:%S %z")
        return datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _preview(image_bytes: bytes | bytearray) -> str:
    """How a refused upload is named in the error: its size and first bytes, never all of it."""
    return f"{len(image_bytes)} bytes starting {bytes(image_bytes[:8])!r}"
