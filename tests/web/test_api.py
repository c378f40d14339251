"""The JSON API ``/api/v1`` with bearer tokens: known answers, refusals, paging, the schema.

Known answers are computed by hand in the comments (PASI: Fredriksson & Pettersson 1978, region
score = (erythema + induration + desquamation) × area score × region weight, weights head 0.1,
upper limbs 0.2, trunk 0.3, lower limbs 0.4); the cohort's exact interval is computed here
independently, from the beta quantiles of Clopper & Pearson (1934), with scipy.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from scipy.stats import beta

from psotrack.services.context import SYSTEM
from psotrack.services.patients import create_program
from psotrack.store.vocabulary import Role

Client = Callable[[Role], TestClient]
ZERO = {"erythema": 0, "induration": 0, "desquamation": 0, "area": 0}


def pasi(**regions: tuple[int, int, int, int]) -> dict[str, Any]:
    """PASI responses: the regions named as (erythema, induration, desquamation, area), others 0."""
    out = {r: dict(ZERO) for r in ("head", "upper_limbs", "trunk", "lower_limbs")}
    for region, (e, i, d, a) in regions.items():
        out[region] = {"erythema": e, "induration": i, "desquamation": d, "area": a}
    return out


@pytest.fixture
def program_id(db) -> int:
    form = {
        "name": "API test program",
        "regimen": "1e6 cells/kg IV x3",
        "product_source": "UC-MSC",
        "route": "IV",
    }
    return create_program(db, SYSTEM, form)


def enroll(api: TestClient, program_id: int, mrn: str, **extra: Any) -> int:
    body = {
        "mrn": mrn,
        "family_name": "Synthetic",
        "given_name": f"Person {mrn}",
        "birth_date": "1980-05-01",
        "sex": "female",
        "program_id": program_id,
        "start_date": "2026-01-05",
        "status": "active",
        "synthetic": True,
        **extra,
    }
    response = api.post("/api/v1/patients", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def visit(api: TestClient, patient_id: int, when: str, label: str) -> int:
    body = {"patient_id": patient_id, "visit_date": when, "visit_type": "follow-up", "label": label}
    response = api.post("/api/v1/visits", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def assess(api: TestClient, visit_id: int, responses: dict[str, Any]) -> None:
    body = {"visit_id": visit_id, "instrument": "pasi", "responses": responses}
    response = api.post("/api/v1/assessments", json=body)
    assert response.status_code == 201, response.text


def test_pasi_posted_reads_back_exactly(api_for: Client, program_id: int) -> None:
    api = api_for(Role.CLINICIAN)
    patient = enroll(api, program_id, "MRN-1")
    week0 = visit(api, patient, "2026-01-05", "W0")
    # upper limbs (2+1+1)×2×0.2 = 1.6; trunk (2+1+1)×2×0.3 = 2.4; lower (2+2+1)×3×0.4 = 6.0
    # head 0: PASI = 1.6 + 2.4 + 6.0 = 10.0
    assess(api, week0, pasi(upper_limbs=(2, 1, 1, 2), trunk=(2, 1, 1, 2), lower_limbs=(2, 2, 1, 3)))
    listed = api.get(f"/api/v1/patients/{patient}/assessments").json()
    assert listed["total"] == 1
    (row,) = listed["items"]
    assert (row["instrument"], row["score"], row["visit_id"]) == ("pasi", "10.0", week0)
    assert row["responses"]["lower_limbs"] == {
        "erythema": 2,
        "induration": 2,
        "desquamation": 1,
        "area": 3,
    }
    found = api.get("/api/v1/patients", params={"q": "MRN-1"}).json()
    assert [(r["patient_id"], r["current_pasi"]) for r in found["items"]] == [(patient, "10.0")]
    detail = api.get(f"/api/v1/patients/{patient}").json()
    assert (detail["mrn"], detail["birth_date"], detail["enrollments"][0]["status"]) == (
        "MRN-1",
        "1980-05-01",
        "active",
    )
    visits = api.get(f"/api/v1/patients/{patient}/visits").json()["items"]
    assert [(v["id"], v["label"], v["study_day"]) for v in visits] == [(week0, "W0", 0)]


def test_cohort_rate_with_its_exact_interval(api_for: Client, program_id: int) -> None:
    api = api_for(Role.CLINICIAN)
    # Lower limbs only, (e+i+d) × area × 0.4. Baseline on day 0, week 12 on day 84:
    # A 20.0 → 4.0 (−80 %: PASI 75), B 10.0 → 6.0 (−40 %), C 10.0 → 2.0 (−80 %: PASI 75).
    course = {
        "A": ((4, 4, 2, 5), (2, 2, 1, 2)),
        "B": ((3, 1, 1, 5), (3, 0, 0, 5)),
        "C": ((3, 1, 1, 5), (1, 0, 0, 5)),
    }
    for name, (before, after) in course.items():
        patient = enroll(api, program_id, f"MRN-{name}")
        assess(api, visit(api, patient, "2026-01-05", "W0"), pasi(lower_limbs=before))
        assess(api, visit(api, patient, "2026-03-30", "W12"), pasi(lower_limbs=after))
    params = {"program_id": program_id, "threshold": 75, "by": "none"}
    answer = api_for(Role.RESEARCHER).get("/api/v1/cohort/rates", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["missing"], body["denominator"], body["interval"], body["patients"]) == (
        "nri",
        "itt",
        "exact",
        3,
    )
    assert "non-responder" in body["missing_text"].lower()
    assert body["denominator_text"] and body["denominator_text"] in body["title"]
    (rate,) = body["items"]
    assert (rate["group"], rate["visit"], rate["day"], rate["n"], rate["responders"]) == (
        "all",
        "day 84",
        84,
        3,
        2,
    )
    # Clopper–Pearson 95 %: [Beta(0.025; x, n−x+1), Beta(0.975; x+1, n−x)] with x=2, n=3.
    assert rate["rate"] == pytest.approx(2 / 3)
    assert rate["ci_low"] == pytest.approx(beta.ppf(0.025, 2, 2), abs=1e-9)
    assert rate["ci_high"] == pytest.approx(beta.ppf(0.975, 3, 1), abs=1e-9)


def test_bad_input_is_a_422_naming_field_value_and_rule(api_for: Client, program_id: int) -> None:
    api = api_for(Role.CLINICIAN)
    patient = enroll(api, program_id, "MRN-2")
    week0 = visit(api, patient, "2026-01-05", "W0")
    responses = pasi(trunk=(7, 1, 1, 2))
    answer = api.post(
        "/api/v1/assessments",
        json={"visit_id": week0, "instrument": "pasi", "responses": responses},
    )
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "responses", "trunk_erythema"]
    assert problem["msg"].startswith("responses.trunk_erythema=7 is outside 0")
    # Strict numbers: lax parsing would read false as grade 0 and "3" as 3.
    event = {
        "patient_id": patient,
        "term": "headache",
        "onset_date": "2026-01-06",
        "grade": False,
        "serious": "no",
        "relatedness": "unlikely",
        "outcome": "recovered",
    }
    answer = api.post("/api/v1/adverse-events", json=event)
    assert answer.status_code == 422
    problems = {p["loc"][-1]: p["msg"] for p in answer.json()["detail"]}
    assert set(problems) == {"grade", "serious"}
    assert problems["grade"] == "grade=False: Input should be a valid integer"
    assert problems["serious"] == "serious='no': Input should be a valid boolean"
    answer = api.post("/api/v1/patients", json={"mrn": "MRN-3"})
    missing = {p["loc"][-1] for p in answer.json()["detail"] if p["type"] == "missing"}
    assert {"family_name", "birth_date", "sex", "program_id", "start_date"} <= missing
    assert api.get("/api/v1/patients", params={"q": "MRN-3"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"page_size": 201},
            "page_size",
            "page_size='201': Input should be less than or equal to 200",
        ),
        (
            {"page_size": 0},
            "page_size",
            "page_size='0': Input should be greater than or equal to 1",
        ),
        ({"page": "٣"}, "page", "page='٣': Value error, not a whole number in ASCII digits"),
        (
            {"page": 1_000_001},
            "page",
            "page='1000001': Input should be less than or equal to 1000000",
        ),
    ],
)
def test_page_bounds(api_for: Client, params: dict[str, Any], field: str, message: str) -> None:
    answer = api_for(Role.CLINICIAN).get("/api/v1/alerts", params=params)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [{"loc": ["query", field], "msg": message, "type": "invalid"}]


def test_pages_cut_the_list(api_for: Client, program_id: int) -> None:
    api = api_for(Role.CLINICIAN)
    patient = enroll(api, program_id, "MRN-4")
    made = [visit(api, patient, f"2026-02-{day:02d}", f"V{day}") for day in (1, 2, 3, 4, 5)]
    pages = [
        api.get(f"/api/v1/patients/{patient}/visits", params={"page": n, "page_size": 2}).json()
        for n in (1, 2, 3, 4)
    ]
    assert [[v["id"] for v in p["items"]] for p in pages] == [made[:2], made[2:4], made[4:], []]
    assert {(p["total"], p["page_size"]) for p in pages} == {(5, 2)}


def test_no_token_is_401_with_the_bearer_challenge(anonymous: TestClient) -> None:
    answer = anonymous.get("/api/v1/patients")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    forged = anonymous.get("/api/v1/alerts", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401


def test_a_researcher_asking_by_internal_id_learns_nothing(
    api_for: Client, program_id: int
) -> None:
    patient = enroll(api_for(Role.CLINICIAN), program_id, "MRN-5")
    researcher = api_for(Role.RESEARCHER)
    real = researcher.get(f"/api/v1/patients/{patient}/endpoints")
    absent = researcher.get(f"/api/v1/patients/{patient + 1000}/endpoints")
    assert (real.status_code, absent.status_code) == (403, 403)
    assert real.json() == absent.json()
    assert researcher.get(f"/api/v1/patients/{patient}").status_code == 403


def test_a_researcher_lists_and_reads_by_research_id_only(api_for: Client, program_id: int) -> None:
    clinician = api_for(Role.CLINICIAN)
    patient = enroll(clinician, program_id, "MRN-6", family_name="Hidden")
    assess(
        clinician, visit(clinician, patient, "2026-01-05", "Jane's W0"), pasi(trunk=(1, 1, 1, 1))
    )
    research_id = clinician.get(f"/api/v1/patients/{patient}").json()["research_id"]
    researcher = api_for(Role.RESEARCHER)
    assert researcher.get("/api/v1/patients", params={"q": "Hidden"}).json()["total"] == 0
    listed = researcher.get("/api/v1/patients", params={"q": research_id}).json()
    (row,) = listed["items"]
    assert row["research_id"] == research_id
    assert row["patient_id"] is row["mrn"] is row["family_name"] is row["given_name"] is None
    status = researcher.get(f"/api/v1/research/patients/{research_id.lower()}")
    assert status.status_code == 200, status.text
    body = status.json()
    assert (body["patient_id"], body["research_id"], body["kind"]) == (
        None,
        research_id,
        "no_follow_up",
    )
    # trunk (1+1+1)×1×0.3 = 0.9; the visit is named by study day, never by its free-text label
    assert [(r["visit"], r["pasi"]) for r in body["rows"]] == [("day 0", 0.9)]
    assert "Jane" not in status.text and "Hidden" not in status.text
    assert researcher.get("/api/v1/research/patients/PT-00000000").status_code == 404
    assert researcher.get("/api/v1/patients", params={"sort": "name"}).status_code == 422


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        (Role.PATIENT, "GET", "/api/v1/alerts"),
        (Role.PATIENT, "GET", "/api/v1/cohort/rates"),
        (Role.RESEARCHER, "POST", "/api/v1/visits"),
        (Role.RESEARCHER, "GET", "/api/v1/photos/1"),
        (Role.COORDINATOR, "POST", "/api/v1/administrations"),
    ],
)
def test_roles_are_refused_with_403(api_for: Client, role: Role, method: str, path: str) -> None:
    answer = api_for(role).request(method, path, json={})
    assert answer.status_code == 403
    assert set(answer.json()) == {"detail"}


def test_unknown_records_are_404_and_say_nothing_more(api_for: Client) -> None:
    api = api_for(Role.CLINICIAN)
    for path in ("/api/v1/patients/999999", "/api/v1/patients/999999/visits", "/api/v1/photos/5"):
        answer = api.get(path)
        assert (answer.status_code, answer.json()) == (404, {"detail": "not found"}), path


def test_a_grade_3_event_shows_as_an_alert_coded_for_researchers(
    api_for: Client, program_id: int
) -> None:
    clinician = api_for(Role.CLINICIAN)
    patient = enroll(clinician, program_id, "MRN-7")
    event = {
        "patient_id": patient,
        "term": "headache",
        "verbatim_term": "headache after Jane's visit",
        "onset_date": "2026-01-06",
        "grade": 3,
        "serious": False,
        "relatedness": "unlikely",
        "outcome": "recovered",
    }
    answer = clinician.post("/api/v1/adverse-events", json=event)
    assert answer.status_code == 201, answer.text
    events = clinician.get(f"/api/v1/patients/{patient}/adverse-events").json()["items"]
    assert [(e["id"], e["grade"], e["ctcae_version"]) for e in events] == [
        (answer.json()["id"], 3, "5.0")
    ]
    (alert,) = clinician.get(f"/api/v1/patients/{patient}/alerts").json()["items"]
    assert (alert["kind"], alert["patient_id"]) == ("adverse event grade ≥ 3", patient)
    assert "Jane" in alert["message"]
    (coded,) = api_for(Role.RESEARCHER).get("/api/v1/alerts").json()["items"]
    assert (coded["id"], coded["patient_id"], coded["research_id"]) == (
        alert["id"],
        None,
        alert["research_id"],
    )
    assert "Jane" not in coded["message"]


def test_a_photo_uploaded_is_listed_and_served(api_for: Client, program_id: int) -> None:
    api = api_for(Role.CLINICIAN)
    patient = enroll(api, program_id, "MRN-8")
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (200, 80, 60)).save(buffer, "PNG")
    form = {"patient_id": str(patient), "body_site": "left elbow", "view": "front"}
    files = {"image": ("elbow.png", buffer.getvalue(), "image/png")}
    answer = api.post("/api/v1/photos", data=form, files=files)
    assert answer.status_code == 201, answer.text
    (meta,) = api.get(f"/api/v1/patients/{patient}/photos").json()["items"]
    assert (meta["id"], meta["media_type"], meta["width"], meta["height"]) == (
        answer.json()["id"],
        "image/png",
        6,
        4,
    )
    served = api.get(f"/api/v1/photos/{meta['id']}")
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).getpixel((0, 0)) == (200, 80, 60)
    fake = {"image": ("elbow.jpg", b"<script>alert(1)</script>", "image/jpeg")}
    refused = api.post("/api/v1/photos", data=form, files=fake)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "image_bytes"]


def test_the_schema_documents_every_api_operation(app) -> None:
    schema = app.openapi()
    assert "OAuth2PasswordBearer" in schema["components"]["securitySchemes"]
    for path, operations in schema["paths"].items():
        if path == "/api/v1/token":
            continue
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation["tags"], where
            assert {"401", "403", "404", "422"} <= set(operation["responses"]), where
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, where
            content = operation["responses"][success[0]]["content"]
            assert all("schema" in c or t.startswith("image/") for t, c in content.items()), where
            assert operation["security"] == [{"OAuth2PasswordBearer": []}], where
            if method == "post":
                assert "requestBody" in operation, where


def test_input_that_once_crashed_the_server_is_a_clear_refusal(
    api_for: Client, anonymous: TestClient, program_id: int
) -> None:
    """Each of these was a 500 (PostgreSQL cannot compare a NUL; year 1 with an offset has no
    UTC time; ``Infinity`` was stored and could not be answered)."""
    api = api_for(Role.CLINICIAN)
    patient = enroll(api, program_id, "MRN-9")
    nul = api_for(Role.RESEARCHER).get("/api/v1/research/patients/PT-%00AB")
    assert nul.status_code == 422
    assert "text without control characters" in nul.json()["detail"][0]["msg"]
    token = anonymous.post("/api/v1/token", data={"username": "clini\x00cian", "password": "x"})
    assert token.status_code == 401
    dose = {
        "patient_id": patient,
        "product_source": "UC-MSC",
        "manufacturer": "Synthetic lab",
        "lot": "L1",
        "cryopreserved": False,
        "total_cells": 70_000_000,
        "body_weight_kg": 70,
        "cells_per_kg": 1_000_000,
        "viability_pct": 90,
        "route": "IV",
        "started_at": "0001-01-01T00:00:00+05:00",
    }
    early = api.post("/api/v1/administrations", json=dose)
    assert early.status_code == 422
    assert early.json()["detail"] == [
        {
            "loc": ["body", "started_at"],
            "msg": "started_at='0001-01-01T00:00:00+05:00': a date from 1900-01-01 to 2100-12-31",
            "type": "invalid",
        }
    ]
    valid = json.dumps({**dose, "started_at": "2026-01-05T09:00:00Z"})
    body = valid[:-1] + ', "volume_ml": Infinity}'
    endless = api.post(
        "/api/v1/administrations", content=body, headers={"Content-Type": "application/json"}
    )
    assert endless.status_code == 422
    assert endless.json()["detail"][0]["msg"] == "volume_ml=inf: Input should be a finite number"
    assert api.get(f"/api/v1/patients/{patient}/administrations").json()["total"] == 0
    unreadable = api.post(
        "/api/v1/visits", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert unreadable.status_code == 400


def test_a_bad_path_value_names_the_parameter(api_for: Client) -> None:
    answer = api_for(Role.CLINICIAN).get("/api/v1/patients/0/visits")
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {
            "loc": ["path", "patient_id"],
            "msg": "patient_id='0': Input should be greater than or equal to 1",
            "type": "invalid",
        }
    ]
