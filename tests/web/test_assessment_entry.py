"""The assessment entry page: PASI and the other instruments entered, scored by the server, stored.

Known answers are computed by hand from the PASI formula (Fredriksson 1978): region weights
head 0.1, upper limbs 0.2, trunk 0.3, lower limbs 0.4; part = weight × (E + I + D) × area score.
"""

from __future__ import annotations

import pytest

from psotrack.services.assessments import list_assessments
from psotrack.store.vocabulary import Role
from tests.web.clinic import field_error, make_clinic, typed_value
from tests.web.conftest import csrf_of

REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")

#: A hand-computed PASI:
#:   head        E1 I1 D0, area 1       → 0.1 × 2 × 1 = 0.2
#:   upper limbs E2 I1 D1, area 3       → 0.2 × 4 × 3 = 2.4
#:   trunk       E3 I2 D2, area 4       → 0.3 × 7 × 4 = 8.4
#:   lower limbs E2 I2 D1, area 35 %    → area score 3 (30 ≤ 35 < 50) → 0.4 × 5 × 3 = 6.0
#:   total 0.2 + 2.4 + 8.4 + 6.0 = 17.0
HAND_PASI = {
    "head_erythema": "1",
    "head_induration": "1",
    "head_desquamation": "0",
    "head_area": "1",
    "upper_limbs_erythema": "2",
    "upper_limbs_induration": "1",
    "upper_limbs_desquamation": "1",
    "upper_limbs_area": "3",
    "trunk_erythema": "3",
    "trunk_induration": "2",
    "trunk_desquamation": "2",
    "trunk_area": "4",
    "lower_limbs_erythema": "2",
    "lower_limbs_induration": "2",
    "lower_limbs_desquamation": "1",
    "lower_limbs_area_pct": "35",
}


@pytest.fixture
def clinic(db, users):
    return make_clinic(db, users[Role.CLINICIAN])


@pytest.fixture
def clinician(client_for):
    return client_for(Role.CLINICIAN)


def entry_url(clinic, instrument="pasi"):
    return f"/patients/{clinic.patient_id}/assessments/new?instrument={instrument}"


def post_form(client, clinic, fields, instrument="pasi"):
    token = csrf_of(client.get(entry_url(clinic, instrument)).text)
    form = {"csrf_token": token, "visit_id": str(clinic.visit_id), **fields}
    return client.post(entry_url(clinic, instrument), data=form)


def test_pasi_hand_computed_total_is_stored_and_read_back(db, users, clinic, clinician):
    response = post_form(clinician, clinic, {**HAND_PASI, "assessed_by_me": "yes"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/patients/{clinic.patient_id}"
    (stored,) = list_assessments(db, users[Role.CLINICIAN], clinic.patient_id, "pasi")
    assert stored.score == "17.0"
    assert stored.visit_id == clinic.visit_id
    assert stored.assessor_id == users[Role.CLINICIAN].user_id
    # The responses are kept as entered: the area of the lower limbs as a percentage.
    assert stored.responses["lower_limbs"] == {
        "erythema": 2,
        "induration": 2,
        "desquamation": 1,
        "area_pct": 35,
    }


def test_pasi_docstring_example_all_regions_alike(db, users, clinic, clinician):
    # Every region E2 I2 D1 area 2: (0.1 + 0.2 + 0.3 + 0.4) × 5 × 2 = 10.0
    fields = {}
    for region in REGIONS:
        fields |= {f"{region}_erythema": "2", f"{region}_induration": "2"}
        fields |= {f"{region}_desquamation": "1", f"{region}_area": "2"}
    assert post_form(clinician, clinic, fields).status_code == 303
    (stored,) = list_assessments(db, users[Role.CLINICIAN], clinic.patient_id, "pasi")
    assert stored.score == "10.0"
    assert stored.assessor_id is None  # "assessed by me" not ticked: the assessor is not stated


def test_bad_values_are_named_beside_their_fields_and_nothing_is_stored(
    db, users, clinic, clinician
):
    bad = {
        **HAND_PASI,
        "trunk_area": "7",
        "head_erythema": "٣",
        "lower_limbs_area_pct": "1e1",
    }
    response = post_form(clinician, clinic, bad)
    assert response.status_code == 422
    page = response.text
    assert field_error(page, "trunk_area") == (
        "responses.trunk_area=7 is outside 0–6 (an area score)"
    )
    assert field_error(page, "head_erythema") == (
        "responses.head_erythema='٣' is not a whole number in ASCII digits "
        "(a grade of erythema 0–4)"
    )
    assert field_error(page, "lower_limbs_area_pct") == (
        "responses.lower_limbs_area_pct='1e1' is not a decimal number in ASCII digits "
        "(a percentage 0–100)"
    )
    assert field_error(page, "trunk_erythema") == ""
    assert "Nothing was saved: 3 problems to fix" in page
    # What was typed comes back as typed, the good values too.
    assert typed_value(page, "trunk_area") == "7"
    assert typed_value(page, "head_erythema") == "٣"
    assert typed_value(page, "lower_limbs_area_pct") == "1e1"
    assert typed_value(page, "trunk_induration") == "2"
    assert list_assessments(db, users[Role.CLINICIAN], clinic.patient_id) == []


def test_an_out_of_range_value_alone_is_refused_by_the_instrument(db, users, clinic, clinician):
    response = post_form(clinician, clinic, {**HAND_PASI, "head_area": "7"})
    assert response.status_code == 422
    assert field_error(response.text, "head_area") == (
        "responses.head_area=7 is outside 0–6 (an area score)"
    )
    assert list_assessments(db, users[Role.CLINICIAN], clinic.patient_id) == []


def test_missing_visit_and_blank_items_are_named(db, users, clinic, clinician):
    token = csrf_of(clinician.get(entry_url(clinic)).text)
    fields = {k: v for k, v in HAND_PASI.items() if k != "head_area"}
    response = clinician.post(entry_url(clinic), data={"csrf_token": token, **fields})
    assert response.status_code == 422
    assert field_error(response.text, "visit_id") == (
        "visit_id is missing (one of the patient's visits)"
    )
    assert field_error(response.text, "head_area") == (
        "responses.head_area is missing (an area score 0–6, or area_pct 0–100)"
    )
    assert list_assessments(db, users[Role.CLINICIAN], clinic.patient_id) == []


def test_a_visit_of_another_patient_is_refused(db, users, clinic, clinician):
    from psotrack.services.patients import enroll_patient, record_visit

    other = enroll_patient(
        db,
        users[Role.CLINICIAN],
        {
            "mrn": "MRN-0002",
            "family_name": "Roe",
            "given_name": "Rita",
            "birth_date": "1975-01-01",
            "sex": "female",
            "program_id": clinic.program_id,
            "start_date": "2026-01-05",
        },
    )
    visit = {"patient_id": other, "visit_date": "2026-01-06", "visit_type": "baseline"}
    other_visit = record_visit(db, users[Role.CLINICIAN], {**visit, "label": "Baseline"})
    token = csrf_of(clinician.get(entry_url(clinic)).text)
    form = {"csrf_token": token, **HAND_PASI, "visit_id": str(other_visit)}
    response = clinician.post(entry_url(clinic), data=form)
    assert response.status_code == 422
    assert field_error(response.text, "visit_id") == (
        f"visit_id={other_visit}: a visit of patient {clinic.patient_id}"
    )
    assert list_assessments(db, users[Role.CLINICIAN], other) == []


def test_live_score_of_a_full_pasi_gives_total_and_parts(clinic, clinician):
    token = csrf_of(clinician.get(entry_url(clinic)).text)
    responses = {
        "head": {"erythema": 1, "induration": 1, "desquamation": 0, "area": 1},
        "upper_limbs": {"erythema": 2, "induration": 1, "desquamation": 1, "area": 3},
        "trunk": {"erythema": 3, "induration": 2, "desquamation": 2, "area": 4},
        "lower_limbs": {"erythema": 2, "induration": 2, "desquamation": 1, "area_pct": 35},
    }
    answer = clinician.post("/api/v1/score/pasi", json=responses, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200
    body = answer.json()
    assert body["score"] == "17.0"
    parts = {row["region"]: row["contribution"] for row in body["details"]["summary"]}
    assert parts == {
        "head": "0.2",
        "upper_limbs": "2.4",
        "trunk": "8.4",
        "lower_limbs": "6.0",
        "total": "17.0",
    }


def test_live_score_of_a_partial_pasi_names_what_is_missing(clinic, clinician):
    token = csrf_of(clinician.get(entry_url(clinic)).text)
    partial = {
        "head": {"erythema": 1, "induration": 1, "desquamation": 0, "area": 7},
        "upper_limbs": {},
        "trunk": {},
        "lower_limbs": {},
    }
    answer = clinician.post("/api/v1/score/pasi", json=partial, headers={"X-CSRF-Token": token})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    refused = {tuple(p["loc"]): (p["type"], p["msg"]) for p in detail}
    assert refused[("body", "responses", "head_area")] == (
        "range",
        "responses.head_area=7 is outside 0–6 (an area score)",
    )
    missing = sorted(p["loc"][-1] for p in detail if p["type"] == "missing")
    # Three signs and the area of each of the three empty regions.
    assert len(missing) == 12
    assert "trunk_area" in missing and "upper_limbs_erythema" in missing


def test_live_score_needs_the_csrf_header(clinic, clinician):
    answer = clinician.post("/api/v1/score/pasi", json={})
    assert answer.status_code == 403


def test_the_form_carries_what_the_live_score_script_reads(clinic, clinician):
    page = clinician.get(entry_url(clinic)).text
    assert 'data-live-score="/api/v1/score/pasi"' in page
    assert 'data-path="trunk.area_pct" data-kind="number"' in page
    assert '<script src="/static/entry.js" defer></script>' in page
    script = clinician.get("/static/entry.js")
    assert script.status_code == 200
    assert "X-CSRF-Token" in script.text


@pytest.mark.parametrize(
    ("instrument", "fields", "score"),
    [
        # BSA as typed: 12.5 % of body surface.
        ("bsa", {"percent": "12.5"}, "12.5"),
        # BSA from handprints: 6 palms × 0.5 % = 3.0 %.
        ("bsa", {"handprints": "6", "unit": "palm"}, "3.0"),
        ("pga", {"scale": "6", "grade": "5"}, "5"),
        # PSSI: (2 + 2 + 1) × area score 3 (40 % of the scalp) = 15.
        (
            "pssi",
            {
                "scalp_erythema": "2",
                "scalp_induration": "2",
                "scalp_desquamation": "1",
                "scalp_area_pct": "40",
            },
            "15",
        ),
        # NAPSI: R1 matrix 2 + bed 1, L2 matrix 4 + bed 0 = 7.
        ("napsi", {"R1_matrix": "2", "R1_bed": "1", "L2_matrix": "4", "L2_bed": "0"}, "7"),
        # TPSS: 3 + 2 + 1 = 6.
        (
            "tpss",
            {"site": "left elbow", "erythema": "3", "induration": "2", "scaling": "1"},
            "6",
        ),
        ("itch_nrs", {"score": "7"}, "7"),
        # DLQI: q1 very much 3, q2 a lot 2, q7 "no, a little" 1, q10 a little 1, the rest
        # not at all / not relevant 0 → 7.
        (
            "dlqi",
            {
                "q1": "very much",
                "q2": "a lot",
                "q3": "not at all",
                "q4": "not at all",
                "q5": "not relevant",
                "q6": "not at all",
                "q7": "no, a little",
                "q8": "not at all",
                "q9": "not relevant",
                "q10": "a little",
            },
            "7",
        ),
    ],
)
def test_other_instruments_are_scored_and_stored(
    db, users, clinic, clinician, instrument, fields, score
):
    response = post_form(clinician, clinic, fields, instrument)
    assert response.status_code == 303, response.text
    (stored,) = list_assessments(db, users[Role.CLINICIAN], clinic.patient_id, instrument)
    assert stored.score == score


def test_pga_scale_is_never_defaulted(db, users, clinic, clinician):
    page = clinician.get(entry_url(clinic, "pga")).text
    assert 'name="scale" value="5"' in page and 'name="scale" value="6"' in page
    assert "checked" not in page.split('name="scale"')[1].split("</fieldset>")[0]
    response = post_form(clinician, clinic, {"grade": "2"}, "pga")
    assert response.status_code == 422
    assert field_error(response.text, "scale") == (
        "responses.scale is missing (5 or 6 (points of the PGA scale))"
    )
    assert list_assessments(db, users[Role.CLINICIAN], clinic.patient_id) == []


def test_dlqi_shows_item_numbers_neutral_labels_and_the_copyright_line(clinic, clinician):
    page = clinician.get(entry_url(clinic, "dlqi")).text
    assert "Item 1 — skin symptoms" in page
    assert "Item 7 — work or study" in page
    assert "Item 10 — treatment burden" in page
    assert "© Dermatology Life Quality Index. A Y Finlay, G K Khan, April 1992" in page
    assert 'class="entry tablet"' in page
    # "Not relevant" is not offered on items 1 and 2.
    item_1 = page.split("Item 1 — skin symptoms")[1].split("</fieldset>")[0]
    assert "not relevant" not in item_1


def test_dlqi_with_two_blanks_is_stored_unscored(db, users, clinic, clinician):
    answers = {f"q{n}": "a little" for n in range(3, 11) if n != 7}
    answers["q7"] = "yes"
    response = post_form(clinician, clinic, answers, "dlqi")
    assert response.status_code == 303
    (stored,) = list_assessments(db, users[Role.CLINICIAN], clinic.patient_id, "dlqi")
    assert stored.score is None
    assert stored.responses["q1"] is None and stored.responses["q2"] is None
