"""The other entry pages: administration (cells/kg), adverse event (ICH E2A deadline), lab, photo,
visit, concomitant therapy and enrollment; each read back through the services.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from psotrack.services.flags import list_alerts
from psotrack.services.photos import read_photo
from psotrack.services.timeline import load_timeline
from psotrack.settings import Settings
from psotrack.store.vocabulary import FlagKind, Role
from psotrack.web import create_app
from tests.web.clinic import field_error, make_clinic
from tests.web.conftest import SECRET, csrf_of

#: A small upload limit, so that the size checks need only small files.
UPLOAD_LIMIT = 64 * 1024


@pytest.fixture
def app(db, users):
    return create_app(Settings(secret_key=SECRET, max_upload_bytes=UPLOAD_LIMIT), db=db)


@pytest.fixture
def clinic(db, users):
    return make_clinic(db, users[Role.CLINICIAN])


@pytest.fixture
def clinician(client_for):
    return client_for(Role.CLINICIAN)


def post(client, url, fields, files=None):
    token = csrf_of(client.get(url).text)
    return client.post(url, data={"csrf_token": token, **fields}, files=files)


def timeline(db, users, clinic):
    return load_timeline(db, users[Role.CLINICIAN], clinic.patient_id)


# --- administration ----------------------------------------------------------------------------

DOSE = {
    "product_source": "UC-MSC",
    "manufacturer": "Cell Lab",
    "lot": "L-42",
    "cryopreserved": "yes",
    "total_cells": "150000000",
    "body_weight_kg": "75",
    "viability_pct": "92",
    "route": "IV",
    "started_at": "2026-01-05T09:30",
}


def admin_url(clinic):
    return f"/patients/{clinic.patient_id}/administrations/new"


def test_cells_per_kg_is_computed_and_shown_without_storing(db, users, clinic, clinician):
    # 150 000 000 cells / 75 kg = 2 000 000 cells/kg
    response = post(clinician, admin_url(clinic), {**DOSE, "action": "compute"})
    assert response.status_code == 200
    assert '<output class="computed" id="computed-dose">2,000,000 cells/kg</output>' in (
        response.text
    )
    assert timeline(db, users, clinic).administrations == ()


def test_a_blank_cells_per_kg_is_stored_as_computed(db, users, clinic, clinician):
    response = post(clinician, admin_url(clinic), {**DOSE, "action": "save"})
    assert response.status_code == 303, response.text
    (dose,) = timeline(db, users, clinic).administrations
    assert dose.total_cells == 150_000_000
    assert dose.body_weight_kg == 75.0
    assert dose.cells_per_kg == 2_000_000.0


def test_a_typed_cells_per_kg_that_disagrees_is_refused(db, users, clinic, clinician):
    fields = {**DOSE, "cells_per_kg": "3000000", "action": "save"}
    response = post(clinician, admin_url(clinic), fields)
    assert response.status_code == 422
    assert field_error(response.text, "cells_per_kg") == (
        "cells_per_kg=3000000.0: total_cells / body_weight_kg = 150000000 / 75 "
        "= 2e+06 cells/kg, within 1 %"
    )
    assert "2,000,000 cells/kg" in response.text  # the computed dose is shown beside it
    assert timeline(db, users, clinic).administrations == ()


def test_vitals_are_stored_and_their_problems_placed(db, users, clinic, clinician):
    vitals = {"vitals_before.systolic": "120", "vitals_before.diastolic": "125"}
    response = post(clinician, admin_url(clinic), {**DOSE, **vitals, "action": "save"})
    assert response.status_code == 422
    assert field_error(response.text, "vitals_before.diastolic") == (
        "vitals_before.diastolic=125: below the systolic pressure (120)"
    )
    vitals |= {"vitals_before.diastolic": "80", "vitals_after.temperature_c": "37.2"}
    response = post(clinician, admin_url(clinic), {**DOSE, **vitals, "action": "save"})
    assert response.status_code == 303
    (dose,) = timeline(db, users, clinic).administrations
    assert dose.vitals_before == {"systolic": 120, "diastolic": 80}
    assert dose.vitals_after == {"temperature_c": 37.2}


def test_unreadable_total_cells_is_named_and_nothing_stored(db, users, clinic, clinician):
    fields = {**DOSE, "total_cells": "1.5e8", "action": "save"}
    response = post(clinician, admin_url(clinic), fields)
    assert response.status_code == 422
    assert field_error(response.text, "total_cells") == (
        "total_cells='1.5e8' is not a whole number in ASCII digits (cells in the dose)"
    )
    assert timeline(db, users, clinic).administrations == ()


# --- adverse event -----------------------------------------------------------------------------

EVENT = {
    "term": "fever",
    "verbatim_term": "high fever after infusion",
    "onset_date": "2026-01-06",
    "grade": "3",
    "serious": "yes",
    "serious_criteria": "hospitalisation",
    "expected": "no",
    "relatedness": "possible",
    "outcome": "recovering",
}


def event_url(clinic):
    return f"/patients/{clinic.patient_id}/adverse-events/new"


def test_deadline_of_a_serious_unexpected_related_event_is_shown(db, users, clinic, clinician):
    # ICH E2A: serious, unexpected, related, not fatal or life-threatening → 15 calendar days.
    response = post(clinician, event_url(clinic), {**EVENT, "action": "check"})
    assert response.status_code == 200
    due = (date.today() + timedelta(days=15)).isoformat()
    assert f"within 15 calendar days — due {due}" in response.text
    assert timeline(db, users, clinic).adverse_events == ()


def test_deadline_of_a_life_threatening_event_is_seven_days(clinic, clinician):
    fields = {**EVENT, "serious_criteria": "life-threatening", "action": "check"}
    response = post(clinician, event_url(clinic), fields)
    due = (date.today() + timedelta(days=7)).isoformat()
    assert f"within 7 calendar days — due {due}" in response.text


def test_no_expedited_report_for_an_unrelated_event(clinic, clinician):
    fields = {**EVENT, "relatedness": "not related", "action": "check"}
    response = post(clinician, event_url(clinic), fields)
    assert "expedited reporting (ICH E2A) does not apply" in response.text
    assert "calendar days — due" not in response.text


def test_a_reported_event_raises_its_flag_with_the_deadline(db, users, clinic, clinician):
    response = post(clinician, event_url(clinic), {**EVENT, "action": "save"})
    assert response.status_code == 303, response.text
    (event,) = timeline(db, users, clinic).adverse_events
    assert (event.grade, event.serious, event.serious_criteria) == (3, True, ["hospitalisation"])
    flags = {a.kind: a for a in list_alerts(db, users[Role.CLINICIAN])}
    serious = flags[FlagKind.SERIOUS_ADVERSE_EVENT.value]
    assert serious.due_date == date.today() + timedelta(days=15)
    assert FlagKind.GRADE_3_OR_MORE.value in flags


def test_serious_without_criteria_is_refused_beside_the_criteria(db, users, clinic, clinician):
    fields = {k: v for k, v in EVENT.items() if k != "serious_criteria"}
    response = post(clinician, event_url(clinic), {**fields, "action": "save"})
    assert response.status_code == 422
    assert field_error(response.text, "serious_criteria") == (
        "serious_criteria=[]: at least one ICH E2A criterion when serious is true"
    )
    assert timeline(db, users, clinic).adverse_events == ()


# --- lab result --------------------------------------------------------------------------------


def lab_url(clinic):
    return f"/patients/{clinic.patient_id}/labs/new"


def test_lab_page_lists_each_analytes_units(clinic, clinician):
    page = clinician.get(lab_url(clinic)).text
    assert "C-reactive protein (mg/L)" in page
    assert "Haemoglobin (g/L, g/dL)" in page
    assert '<option value="g/dL" data-analyte="haemoglobin">' in page


def test_lab_result_is_stored_in_its_unit(db, users, clinic, clinician):
    fields = {"analyte": "crp", "value": "12.5", "unit": "mg/L"}
    fields |= {"sampled_at": "2026-01-05T08:00", "visit_id": str(clinic.visit_id)}
    assert post(clinician, lab_url(clinic), fields).status_code == 303
    (lab,) = timeline(db, users, clinic).labs
    assert (lab.analyte, lab.value, lab.unit, lab.visit_id) == ("crp", 12.5, "mg/L", 1)


def test_a_unit_not_of_the_analyte_is_refused(db, users, clinic, clinician):
    fields = {"analyte": "crp", "value": "12.5", "unit": "pg/mL", "sampled_at": "2026-01-05"}
    response = post(clinician, lab_url(clinic), fields)
    assert response.status_code == 422
    assert field_error(response.text, "unit") == (
        "unit='pg/mL': a unit of C-reactive protein: mg/L"
    )
    assert timeline(db, users, clinic).labs == ()


# --- photo -------------------------------------------------------------------------------------


def png_with_metadata() -> bytes:
    """A small PNG carrying EXIF (camera make) and a text chunk naming a person."""
    image = Image.new("RGB", (24, 16), (200, 120, 90))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "LeakyCam"
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Doe")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif, pnginfo=text)
    return buffer.getvalue()


def photo_url(clinic):
    return f"/patients/{clinic.patient_id}/photos/new"


PHOTO_FIELDS = {"body_site": "left elbow", "view": "close-up"}


def test_a_png_is_stored_without_its_metadata(db, users, clinic, clinician):
    original = png_with_metadata()
    assert b"LeakyCam" in original and b"Jane Doe" in original
    files = {"photo": ("elbow.png", original, "image/png")}
    response = post(clinician, photo_url(clinic), PHOTO_FIELDS, files)
    assert response.status_code == 303, response.text
    (photo,) = timeline(db, users, clinic).photos
    stored = read_photo(db, users[Role.CLINICIAN], photo.id)
    assert b"LeakyCam" not in stored and b"Jane Doe" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and image.size == (24, 16)
        assert dict(image.getexif()) == {}
        assert "Author" not in image.info


def test_a_non_image_named_jpg_is_refused_in_one_line(db, users, clinic, clinician):
    files = {"photo": ("fake.jpg", b"this is not a picture", "image/jpeg")}
    response = post(clinician, photo_url(clinic), PHOTO_FIELDS, files)
    assert response.status_code == 422
    assert field_error(response.text, "photo") == (
        "photo='fake.jpg (21 bytes)': a still JPEG, PNG or WebP image"
    )
    assert timeline(db, users, clinic).photos == ()


def test_a_photo_over_the_limit_is_refused(db, users, clinic, clinician):
    files = {"photo": ("big.png", b"\x89PNG" + bytes(UPLOAD_LIMIT + 10), "image/png")}
    response = post(clinician, photo_url(clinic), PHOTO_FIELDS, files)
    assert response.status_code == 422
    assert field_error(response.text, "photo") == (
        f"photo='big.png (more than {UPLOAD_LIMIT} bytes)': a file of at most {UPLOAD_LIMIT} bytes"
    )
    assert timeline(db, users, clinic).photos == ()


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(db, users, clinic, clinician):
    files = {"photo": ("huge.png", bytes(3 * UPLOAD_LIMIT), "image/png")}
    response = post(clinician, photo_url(clinic), PHOTO_FIELDS, files)
    assert response.status_code == 413
    assert timeline(db, users, clinic).photos == ()


def test_no_file_chosen_is_named(clinic, clinician):
    response = post(clinician, photo_url(clinic), PHOTO_FIELDS)
    assert response.status_code == 422
    assert field_error(response.text, "photo") == (
        "photo is missing (a still JPEG, PNG or WebP image to upload)"
    )


# --- visit, therapy, enrollment ----------------------------------------------------------------


def test_a_visit_is_recorded_and_a_second_with_its_label_refused(db, users, clinic, clinician):
    url = f"/patients/{clinic.patient_id}/visits/new"
    fields = {"visit_date": "2026-02-02", "visit_type": "treatment", "label": "Week 4"}
    assert post(clinician, url, fields).status_code == 303
    labels = [v.label for v in timeline(db, users, clinic).visits]
    assert labels == ["Baseline", "Week 4"]
    again = post(clinician, url, fields)
    assert again.status_code == 422
    assert "the change clashes with what is stored" in again.text
    assert len(timeline(db, users, clinic).visits) == 2


def test_a_biologic_needs_its_target(db, users, clinic, clinician):
    url = f"/patients/{clinic.patient_id}/therapies/new"
    fields = {"therapy_class": "biologic", "agent": "secukinumab", "start_date": "2025-06-01"}
    response = post(clinician, url, fields)
    assert response.status_code == 422
    assert field_error(response.text, "biologic_target") == (
        "biologic_target is missing (one of IL-17A, IL-17A/F, IL-17RA, IL-23, IL-12/23, TNF, "
        "IL-36R)"
    )
    assert post(clinician, url, {**fields, "biologic_target": "IL-17A"}).status_code == 303
    (therapy,) = timeline(db, users, clinic).therapies
    assert (therapy.agent, therapy.biologic_target) == ("secukinumab", "IL-17A")


ENROLLMENT = {
    "mrn": "MRN-0099",
    "family_name": "Roe",
    "given_name": "Rita",
    "birth_date": "1975-03-04",
    "sex": "female",
    "fitzpatrick": "2",
    "start_date": "2026-02-01",
    "status": "active",
}


def test_a_patient_is_enrolled_and_a_taken_mrn_refused(db, users, clinic, clinician):
    fields = {**ENROLLMENT, "program_id": str(clinic.program_id)}
    response = post(clinician, "/enrollments/new", fields)
    assert response.status_code == 303
    new_id = int(response.headers["location"].rsplit("/", 1)[1])
    record = load_timeline(db, users[Role.CLINICIAN], new_id)
    assert record.identity is not None and record.identity.mrn == "MRN-0099"
    assert record.patient.fitzpatrick == 2
    again = post(clinician, "/enrollments/new", fields)
    assert again.status_code == 422
    assert "a patient with this MRN is already registered" in again.text


def test_enrollment_problems_keep_what_was_typed(clinic, clinician):
    fields = {**ENROLLMENT, "fitzpatrick": "7", "program_id": str(clinic.program_id)}
    response = post(clinician, "/enrollments/new", fields)
    assert response.status_code == 422
    assert field_error(response.text, "fitzpatrick") == (
        "fitzpatrick=7 is outside the allowed range (≤ 6)"
    )
    assert 'value="MRN-0099"' in response.text and 'value="Roe"' in response.text
