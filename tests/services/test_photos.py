"""Photos: metadata stripped on intake, orientation applied, stored once by hash, never orphaned."""

import hashlib
import io
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from PIL import ExifTags, Image, PngImagePlugin
from sqlalchemy import func, select

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.services.patients import enroll_patient, record_visit
from psotrack.services.photos import attach_photo, read_photo
from psotrack.store.models import AuditEntry, Photo
from psotrack.store.vocabulary import Role
from tests.services.conftest import patient_form

RED, BLUE = (220, 20, 20), (20, 20, 220)
#: Marker text planted in each kind of metadata; none may reach the stored file.
LEAKS = [b"LeakyCam", b"LeakModel-9", b"LEAK-DATUM", b"LEAK-XMP", b"LEAK-COMMENT", b"LEAK-AUTHOR"]


def two_colour_image(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue: a rotation shows where the halves end up."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def camera_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "LeakyCam"
    exif[ExifTags.Base.Model] = "LeakModel-9"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
        ExifTags.GPS.GPSMapDatum: "LEAK-DATUM",
    }
    exif[ExifTags.IFD.Exif] = {
        ExifTags.Base.DateTimeOriginal: "2026:01:05 10:30:00",
        ExifTags.Base.OffsetTimeOriginal: "+02:00",
    }
    return exif


def phone_jpeg(orientation: int = 6) -> bytes:
    buffer = io.BytesIO()
    two_colour_image().save(
        buffer,
        "JPEG",
        quality=95,
        exif=camera_exif(orientation),
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>LEAK-XMP</x:xmpmeta>",
        comment=b"LEAK-COMMENT",
    )
    return buffer.getvalue()


def stored_files(db) -> list:
    return sorted(p for p in db.photo_dir.rglob("*") if p.is_file())


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def attach(db, actor, patient_id, image_bytes, **changes) -> int:
    form = {"patient_id": patient_id, "body_site": "left elbow", "view": "lateral"}
    return attach_photo(db, actor, image_bytes=image_bytes, **(form | changes))


def test_test_image_really_carries_the_metadata():
    """The checks below mean something only if the source holds GPS, camera and XMP data."""
    source = phone_jpeg()
    exif = Image.open(io.BytesIO(source)).getexif()
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert exif[ExifTags.Base.Orientation] == 6
    assert b"Exif" in source
    for marker in LEAKS[:5]:
        assert marker in source


def test_jpeg_is_stripped_turned_upright_and_stored_by_hash(db, clinician, patient_id):
    photo_id = attach(db, clinician, patient_id, phone_jpeg())
    with db.transaction() as session:
        photo = session.get(Photo, photo_id)
    (path,) = stored_files(db)
    content = path.read_bytes()
    assert photo.content_hash == hashlib.sha256(content).hexdigest()
    assert path == db.photo_dir / photo.content_hash[:2] / f"{photo.content_hash}.jpg"
    assert photo.media_type == "image/jpeg"
    # Orientation 6 means "rotate 90° clockwise to view": 40×20 becomes 20×40 and the left
    # (red) half ends up on top.
    assert (photo.width, photo.height) == (20, 40)
    stored = Image.open(io.BytesIO(content))
    assert stored.size == (20, 40)
    assert dict(stored.getexif()) == {}
    assert not {"exif", "xmp", "comment", "icc_profile"} & set(stored.info)
    assert b"Exif" not in content
    for marker in LEAKS:
        assert marker not in content
    top, bottom = stored.convert("RGB").getpixel((10, 8)), stored.convert("RGB").getpixel((10, 32))
    assert top[0] > 180 and top[2] < 60
    assert bottom[2] > 180 and bottom[0] < 60
    assert read_photo(db, clinician, photo_id) == content


def test_capture_time_comes_from_exif_only_when_not_given(db, clinician, patient_id):
    from_exif = attach(db, clinician, patient_id, phone_jpeg())
    given = attach(db, clinician, patient_id, phone_jpeg(), captured_at=datetime(2026, 1, 6, 12, 0))
    with db.transaction() as session:
        moments = [session.get(Photo, i).captured_at for i in (from_exif, given)]
    as_utc = [m.replace(tzinfo=UTC) if m.tzinfo is None else m.astimezone(UTC) for m in moments]
    # 10:30 at +02:00 (DateTimeOriginal + OffsetTimeOriginal) is 08:30 UTC.
    assert as_utc == [
        datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
        datetime(2026, 1, 6, 12, 0, tzinfo=UTC),
    ]


def test_the_same_image_twice_is_one_file_and_two_records(db, clinician, patient_id):
    first = attach(db, clinician, patient_id, phone_jpeg())
    second = attach(db, clinician, patient_id, phone_jpeg(), body_site="right knee")
    assert first != second
    assert len(stored_files(db)) == 1
    with db.transaction() as session:
        hashes = {session.get(Photo, i).content_hash for i in (first, second)}
    assert len(hashes) == 1


def test_png_text_chunks_are_dropped(db, clinician, patient_id):
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "LEAK-AUTHOR")
    text.add_text("Comment", "LEAK-COMMENT", zip=True)
    text.add_itxt("XML:com.adobe.xmp", "LEAK-XMP")
    buffer = io.BytesIO()
    two_colour_image().save(buffer, "PNG", pnginfo=text, exif=camera_exif(orientation=1))
    source = buffer.getvalue()
    assert b"tEXt" in source and b"LEAK-AUTHOR" in source and b"eXIf" in source
    photo_id = attach(db, clinician, patient_id, source)
    content = read_photo(db, clinician, photo_id)
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"Exif", *LEAKS):
        assert chunk not in content
    stored = Image.open(io.BytesIO(content))
    assert (stored.format, stored.size, dict(stored.getexif())) == ("PNG", (40, 20), {})
    assert stored.convert("RGB").getpixel((5, 5)) == RED  # PNG is lossless
    with db.transaction() as session:
        assert session.get(Photo, photo_id).media_type == "image/png"


def test_webp_keeps_its_format_and_loses_its_exif(db, clinician, patient_id):
    buffer = io.BytesIO()
    two_colour_image().save(buffer, "WEBP", quality=90, exif=camera_exif(orientation=8))
    assert b"LEAK-DATUM" in buffer.getvalue()
    photo_id = attach(db, clinician, patient_id, buffer.getvalue())
    content = read_photo(db, clinician, photo_id)
    assert b"EXIF" not in content and b"LEAK-DATUM" not in content
    stored = Image.open(io.BytesIO(content))
    assert (stored.format, stored.size) == ("WEBP", (20, 40))  # orientation 8: 90° anticlockwise


def test_palette_png_is_stored_as_rgba_pixels(db, clinician, patient_id):
    buffer = io.BytesIO()
    two_colour_image().convert("P").save(buffer, "PNG", transparency=0)
    content = read_photo(db, clinician, attach(db, clinician, patient_id, buffer.getvalue()))
    assert Image.open(io.BytesIO(content)).mode == "RGBA"


@pytest.mark.parametrize(
    "payload",
    [
        b"%PDF-1.7 not a photo at all",
        b"",
        phone_jpeg()[:300],  # truncated
    ],
    ids=["pdf", "empty", "truncated-jpeg"],
)
def test_non_images_are_refused_and_nothing_is_stored(db, clinician, patient_id, payload):
    before = count(db, AuditEntry)
    with pytest.raises(ValidationError) as info:
        attach(db, clinician, patient_id, payload)
    assert info.value.field == "image_bytes"
    assert "JPEG, PNG or WebP" in str(info.value)
    assert count(db, Photo) == 0
    assert count(db, AuditEntry) == before
    assert stored_files(db) == []


@pytest.mark.parametrize("format_name", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused(db, clinician, patient_id, format_name):
    buffer = io.BytesIO()
    two_colour_image().save(buffer, format_name)
    with pytest.raises(ValidationError, match="JPEG, PNG or WebP"):
        attach(db, clinician, patient_id, buffer.getvalue())
    assert count(db, Photo) == 0
    assert stored_files(db) == []


def test_an_animation_is_refused(db, clinician, patient_id):
    frames = [two_colour_image(), two_colour_image().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 2
    with pytest.raises(ValidationError, match="a still JPEG, PNG or WebP image"):
        attach(db, clinician, patient_id, buffer.getvalue())
    assert stored_files(db) == []


def test_bad_fields_and_a_foreign_visit_store_nothing(db, clinician, program_id, patient_id):
    with pytest.raises(ValidationError) as info:
        attach(db, clinician, patient_id, phone_jpeg(), body_site="", view=7, visit_id="3")
    assert {p.field for p in info.value.problems} == {"body_site", "view", "visit_id"}
    other = enroll_patient(db, clinician, patient_form(program_id, mrn="MRN-0002"))
    visit = {"visit_date": date(2026, 1, 5), "visit_type": "baseline", "label": "W0"}
    others_visit = record_visit(db, clinician, {**visit, "patient_id": other})
    with pytest.raises(ValidationError, match=f"visit_id={others_visit}"):
        attach(db, clinician, patient_id, phone_jpeg(), visit_id=others_visit)
    with pytest.raises(NotFound):
        attach(db, clinician, 4040, phone_jpeg())
    assert count(db, Photo) == 0
    assert stored_files(db) == []


def test_failed_audit_write_leaves_no_row_and_no_file(db, clinician, patient_id, monkeypatch):
    import psotrack.services.photos as service

    def failing(session, actor, row, reason=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "audit_created", failing)
    before = count(db, AuditEntry)
    with pytest.raises(RuntimeError):
        attach(db, clinician, patient_id, phone_jpeg())
    assert count(db, Photo) == 0
    assert count(db, AuditEntry) == before
    assert stored_files(db) == []


def test_failed_commit_removes_the_new_file_but_keeps_a_shared_one(db, clinician, patient_id):
    real = db.transaction
    failures = {"left": 1}

    @contextmanager
    def failing_once():
        with real() as session:
            yield session
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("connection lost at commit")

    db.transaction = failing_once
    with pytest.raises(RuntimeError):
        attach(db, clinician, patient_id, phone_jpeg())
    assert stored_files(db) == []
    db.transaction = real
    kept = attach(db, clinician, patient_id, phone_jpeg())
    # A failed second upload of the same picture must not take the first one's file with it.
    failures["left"] = 1
    db.transaction = failing_once
    with pytest.raises(RuntimeError):
        attach(db, clinician, patient_id, phone_jpeg())
    db.transaction = real
    assert count(db, Photo) == 1
    assert len(stored_files(db)) == 1
    assert Image.open(io.BytesIO(read_photo(db, clinician, kept))).size == (20, 40)


def test_read_photo_checks_the_file(db, clinician, patient_id):
    photo_id = attach(db, clinician, patient_id, phone_jpeg())
    (path,) = stored_files(db)
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(Exception, match="does not match its recorded hash"):
        read_photo(db, clinician, photo_id)
    path.unlink()
    with pytest.raises(NotFound, match="missing"):
        read_photo(db, clinician, photo_id)
    with pytest.raises(NotFound):
        read_photo(db, clinician, 9999)


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_roles_without_the_right_cannot_attach_or_read(db, actors, clinician, patient_id, role):
    photo_id = attach(db, clinician, patient_id, phone_jpeg())
    with pytest.raises(PermissionDenied):
        attach(db, actors[role], patient_id, phone_jpeg(orientation=1))
    with pytest.raises(PermissionDenied):
        read_photo(db, actors[role], photo_id)
    assert count(db, Photo) == 1
    assert len(stored_files(db)) == 1


def test_a_coordinator_attaches_and_reads(db, actors, patient_id):
    coordinator = actors[Role.COORDINATOR]
    photo_id = attach(db, coordinator, patient_id, phone_jpeg())
    assert read_photo(db, coordinator, photo_id) == stored_files(db)[0].read_bytes()
