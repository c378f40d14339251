"""The patient page, its SVG charts, the mirror and photos, on a patient recorded by the services.

Known answers (hand-computed, PASI by Fredriksson 1978: Σ weight × (E + I + D) × area score):

- Week 0 (2026-01-05, day 0, before the first infusion): every region E2 I2 D1 with area score
  4 → 0.1·5·4 + 0.2·5·4 + 0.3·5·4 + 0.4·5·4 = 2 + 4 + 6 + 8 = 20.0. The trunk is given as
  55 % (area score 4: 50 to under 70 %), so its share is 0.3 × 5 × 4 = 6.0.
- Week 12 (2026-03-30, day 84): every region E1 I1 D0, area score 2 → 0.4 + 0.8 + 1.2 + 1.6
  = 4.0, 80 % below baseline: PASI 75 reached (not 90) on day 84, at the latest visit.
- The infusion: 105 × 10⁶ cells for 70 kg = 1.5 × 10⁶ cells/kg, viability 75 %, under the
  program's 80 % release threshold: a "viability below release threshold" flag.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import text as sql

from psotrack.services.administrations import log_administration
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM
from psotrack.services.demo import synthetic_photo
from psotrack.services.flags import list_alerts
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import create_program, enroll_patient, record_visit
from psotrack.services.photos import attach_photo, read_photo
from psotrack.services.status import patient_status
from psotrack.store.vocabulary import Role
from psotrack.web.middleware import REPORT_CSP, SVG_CSP

SVG = "{http://www.w3.org/2000/svg}"


def _pasi(signs: tuple[int, int, int], area: int, trunk: dict[str, Any] | None = None) -> dict:
    erythema, induration, desquamation = signs
    region = {"erythema": erythema, "induration": induration, "desquamation": desquamation}
    responses = {r: {**region, "area": area} for r in ("head", "upper_limbs", "lower_limbs")}
    responses["trunk"] = {**region, **(trunk or {"area": area})}
    return responses


@pytest.fixture
def recorded(db, users) -> dict[str, Any]:
    clinician = users[Role.CLINICIAN]
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV, 3 infusions 4 weeks apart",
            "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
            "viability_threshold_pct": 80.0,
        },
    )
    patient = enroll_patient(
        db,
        clinician,
        {
            "mrn": "MRN-0001",
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": date(1980, 5, 17),
            "sex": "female",
            "program_id": program,
            "start_date": date(2026, 1, 5),
            "status": "active",
        },
    )
    visits = {}
    for label, when, kind in (
        ("Week 0", date(2026, 1, 5), "baseline"),
        ("Week 12", date(2026, 3, 30), "follow-up"),
    ):
        visits[label] = record_visit(
            db,
            clinician,
            {"patient_id": patient, "visit_date": when, "visit_type": kind, "label": label},
        )
    for label, responses in (
        ("Week 0", _pasi((2, 2, 1), 4, trunk={"area_pct": 55.0})),
        ("Week 12", _pasi((1, 1, 0), 2)),
    ):
        record_assessment(
            db,
            clinician,
            {"visit_id": visits[label], "instrument": "pasi", "responses": responses},
        )
    record_assessment(
        db,
        clinician,
        {"visit_id": visits["Week 0"], "instrument": "itch_nrs", "responses": {"score": 7}},
    )
    log_administration(
        db,
        clinician,
        {
            "patient_id": patient,
            "visit_id": visits["Week 0"],
            "product_source": "UC-MSC",
            "manufacturer": "Lab",
            "lot": "L1",
            "cryopreserved": True,
            "total_cells": 105_000_000,
            "body_weight_kg": 70.0,
            "cells_per_kg": 1.5e6,
            "viability_pct": 75.0,
            "route": "IV",
            "started_at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        },
    )
    record_lab_result(
        db,
        clinician,
        {
            "patient_id": patient,
            "visit_id": visits["Week 0"],
            "analyte": "treg_pct_cd4",
            "value": 4.0,
            "unit": "%",
            "reference_low": 3.0,
            "reference_high": 7.0,
            "sampled_at": datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        },
    )
    photos = {
        label: attach_photo(
            db,
            clinician,
            patient_id=patient,
            image_bytes=synthetic_photo(),
            body_site="trunk",
            view="front",
            visit_id=visits[label],
            captured_at=datetime(when.year, when.month, when.day, 10, 0, tzinfo=UTC),
        )
        for label, when in (("Week 0", date(2026, 1, 5)), ("Week 12", date(2026, 3, 30)))
    }
    return {"patient": patient, "visits": visits, "photos": photos, "clinician": clinician}


def test_the_page_shows_the_services_status_sentence_cells_per_kg_and_the_flag(
    db, client_for, recorded
):
    patient = recorded["patient"]
    status = patient_status(db, recorded["clinician"], patient)
    assert status.sentence == "PASI 75 reached on day 84, at the latest visit"
    (alert,) = list_alerts(db, recorded["clinician"], patient_id=patient)
    assert alert.kind == "viability below release threshold"

    page = client_for(Role.CLINICIAN).get(f"/patients/{patient}")
    assert page.status_code == 200
    text = page.text
    assert f'id="status-sentence">{status.sentence}</p>' in text
    assert 'class="num cells-per-kg">1.5 × 10⁶</td>' in text
    open_flags = text.split('id="open-flags"')[1].split("</ul>")[0]
    assert alert.kind in open_flags and str(escape(alert.message)) in open_flags
    assert "Doe, Jane" in text and "MRN-0001" in text and status.research_id in text
    assert "UC-MSC IV, 3 infusions 4 weeks apart" in text
    assert "SYNTHETIC" not in text  # a real (non-synthetic) patient carries no badge
    for chart in ("pasi", "bsa", "pga", "dlqi", "itch", "course", "lab-treg_pct_cd4"):
        assert f'<img class="chart" src="/patients/{patient}/charts/{chart}.svg"' in text


def test_the_page_links_to_the_progress_report_served_as_html_and_pdf(client_for, recorded):
    client = client_for(Role.COORDINATOR)
    patient = recorded["patient"]
    page = client.get(f"/patients/{patient}").text
    assert f'href="/patients/{patient}/report.pdf"' in page
    assert f'href="/patients/{patient}/report.html"' in page
    html = client.get(f"/patients/{patient}/report.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"] == REPORT_CSP
    assert "PASI 75 reached on day 84, at the latest visit" in html.text
    assert "20.0 → 4.0 (−16.0 points)" in html.text  # the module docstring's totals
    pdf = client.get(f"/patients/{patient}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith(
        'attachment; filename="progress-report-PT-'
    )
    assert pdf.content.startswith(b"%PDF-")


def test_a_synthetic_patient_is_badged(db, users, client_for):
    program = create_program(
        db, SYSTEM, {"name": "Demo", "regimen": "x", "product_source": "UC-MSC", "route": "IV"}
    )
    form = {
        "mrn": "DEMO-0001",
        "family_name": "Synthetic",
        "given_name": "Patient 001",
        "birth_date": date(1980, 5, 17),
        "sex": "female",
        "program_id": program,
        "start_date": date(2026, 1, 5),
        "status": "active",
        "synthetic": True,
    }
    patient = enroll_patient(db, users[Role.CLINICIAN], form)
    page = client_for(Role.CLINICIAN).get(f"/patients/{patient}")
    assert page.status_code == 200
    assert '<span class="badge synthetic"' in page.text and "Synthetic, Patient 001" in page.text


def test_the_pasi_chart_is_svg_with_its_title_axis_labels_and_response_lines(client_for, recorded):
    client = client_for(Role.CLINICIAN)
    response = client.get(f"/patients/{recorded['patient']}/charts/pasi.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-security-policy"] == SVG_CSP
    texts = [t.text for t in ET.fromstring(response.text).iter(f"{SVG}text")]
    assert "PASI over study days" in texts
    assert "Study day (day 0 = first cell-therapy administration)" in texts
    assert "PASI (points, 0–72)" in texts
    # Baseline 20.0: PASI 50, 75 and 90 at 10.0, 5.0 and 2.0.
    assert "PASI 75: 5.0 (25 % of baseline 20.0)" in texts


def test_lab_and_course_charts_answer_and_an_unknown_chart_is_404(client_for, recorded):
    client = client_for(Role.CLINICIAN)
    patient = recorded["patient"]
    lab = client.get(f"/patients/{patient}/charts/lab-treg_pct_cd4.svg")
    assert lab.status_code == 200
    texts = [t.text for t in ET.fromstring(lab.text).iter(f"{SVG}text")]
    assert "Treg (% of CD4⁺) over study days" in texts
    assert "reference range 3–7 %" in texts
    course = client.get(f"/patients/{patient}/charts/course.svg")
    assert course.status_code == 200
    body = ET.fromstring(course.text)
    assert body.find(f".//{SVG}g[@id='expected-band']") is not None
    reading = " ".join(t.text or "" for t in body.iter(f"{SVG}text"))
    assert "(simulated)" in reading and "Schedule: uc-msc-iv:1.5e6/kg x1." in reading
    assert client.get(f"/patients/{patient}/charts/lab-crp.svg").status_code == 404
    assert client.get(f"/patients/{patient}/charts/waterfall.svg").status_code == 404


def test_the_mirror_shows_both_visits_photos_dates_and_the_trunks_signs(client_for, recorded):
    client = client_for(Role.CLINICIAN)
    patient, visits, photos = recorded["patient"], recorded["visits"], recorded["photos"]
    query = f"site=trunk&visit={visits['Week 0']}&visit={visits['Week 12']}"
    page = client.get(f"/patients/{patient}/mirror?{query}")
    assert page.status_code == 200
    text = page.text
    assert f'src="/photos/{photos["Week 0"]}"' in text
    assert f'src="/photos/{photos["Week 12"]}"' in text
    assert "2026-01-05 · study day 0" in text and "2026-03-30 · study day 84" in text
    assert "trunk (with axillae and groin)" in text
    first, second = text.split('class="mirror-visit"')[1:]
    # Week 0 trunk: E2 I2 D1, area 55 % → score 4, share 6.0 of PASI 20.0.
    for sign, value in (("Erythema", 2), ("Induration", 2), ("Desquamation", 1)):
        assert f'<th>{sign}</th><td class="num">{value}</td>' in first
    assert '<td class="num">4 (55.0 %)</td>' in first
    assert '<td class="num">6.0</td>' in first and '<td class="num">20.0</td>' in first
    # Week 12 trunk: E1 I1 D0, area score 2 → share 1.2 of PASI 4.0.
    for sign, value in (("Erythema", 1), ("Induration", 1), ("Desquamation", 0)):
        assert f'<th>{sign}</th><td class="num">{value}</td>' in second
    assert '<td class="num">2</td>' in second
    assert '<td class="num">1.2</td>' in second and '<td class="num">4.0</td>' in second


def test_the_mirror_refuses_a_site_never_photographed_in_one_line(client_for, recorded):
    client = client_for(Role.CLINICIAN)
    page = client.get(f"/patients/{recorded['patient']}/mirror?site=left+elbow")
    assert page.status_code == 422
    refusal = "site=&#39;left elbow&#39;: a body site photographed for this patient: trunk"
    assert refusal in page.text


def test_a_photo_is_served_as_stored(db, client_for, recorded):
    photo_id = recorded["photos"]["Week 0"]
    response = client_for(Role.CLINICIAN).get(f"/photos/{photo_id}")
    assert response.status_code == 200
    assert response.content == read_photo(db, recorded["clinician"], photo_id)
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == "inline"


def test_unknown_patient_or_photo_is_404(client_for, recorded):
    client = client_for(Role.CLINICIAN)
    for path in ("/patients/99999", "/patients/99999/charts/pasi.svg", "/photos/99999"):
        assert client.get(path).status_code == 404, path
    assert client.get("/patients/99999/mirror").status_code == 404


@pytest.mark.parametrize("role", [Role.RESEARCHER, Role.PATIENT])
def test_researchers_and_patients_are_refused_every_route(client_for, recorded, role):
    client = client_for(role)
    patient, photo_id = recorded["patient"], recorded["photos"]["Week 0"]
    for path in (
        f"/patients/{patient}",
        f"/patients/{patient}/charts/pasi.svg",
        f"/patients/{patient}/charts/course.svg",
        f"/patients/{patient}/mirror?site=trunk",
        f"/photos/{photo_id}",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Doe" not in response.text and "MRN-0001" not in response.text


def test_free_text_is_escaped_on_the_page_and_in_the_mirror(db, client_for, recorded):
    hostile = '<script>alert("x")</script>'
    visit = record_visit(
        db,
        recorded["clinician"],
        {
            "patient_id": recorded["patient"],
            "visit_date": date(2026, 4, 27),
            "visit_type": "unscheduled",
            "label": hostile,
        },
    )
    attach_photo(
        db,
        recorded["clinician"],
        patient_id=recorded["patient"],
        image_bytes=synthetic_photo(),
        body_site=hostile,
        view="front",
        visit_id=visit,
    )
    client = client_for(Role.CLINICIAN)
    page = client.get(f"/patients/{recorded['patient']}")
    mirror = client.get(f"/patients/{recorded['patient']}/mirror?site={quote(hostile)}")
    assert page.status_code == mirror.status_code == 200
    for text in (page.text, mirror.text):
        assert hostile not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text


def test_the_page_offers_each_role_only_what_it_may_record(client_for, recorded):
    """The action links follow the roles (every route checks again, see test_route_rules)."""
    patient = recorded["patient"]
    clinician = client_for(Role.CLINICIAN).get(f"/patients/{patient}").text
    coordinator = client_for(Role.COORDINATOR).get(f"/patients/{patient}").text
    administration = f'href="/patients/{patient}/administrations/new"'
    for page in (clinician, coordinator):
        assert f'href="/patients/{patient}/assessments/new?instrument=pasi"' in page
        assert f'href="/patients/{patient}/adverse-events/new"' in page
        assert f'href="/history/patients/{patient}"' in page
    assert administration in clinician  # coordinators do not give cell therapy
    assert administration not in coordinator


def test_a_kept_page_is_shown_only_while_the_record_is_unchanged(db, client_for, recorded):
    """Each process keeps a patient's page under the revision the database raises on every
    change to the record: a change through a service, and one made by hand in SQL, both show
    on the very next view."""
    patient, client = recorded["patient"], client_for(Role.CLINICIAN)
    first = client.get(f"/patients/{patient}").text
    assert client.get(f"/patients/{patient}").text == first  # the same page, kept
    assert "Doe, Jane" in first and "Week 24" not in first
    record_visit(
        db,
        recorded["clinician"],
        {
            "patient_id": patient,
            "visit_date": date(2026, 6, 22),
            "visit_type": "follow-up",
            "label": "Week 24",
        },
    )
    assert "<td>Week 24</td>" in client.get(f"/patients/{patient}").text
    with db.transaction() as session:
        session.execute(
            sql("UPDATE patient_identities SET family_name = 'Roe' WHERE patient_id = :p"),
            {"p": patient},
        )
    page = client.get(f"/patients/{patient}").text
    assert "Roe, Jane" in page and "Doe, Jane" not in page


def test_the_kept_part_of_the_page_reads_nothing_of_the_user_or_session() -> None:
    """The patient page's content is kept per patient, revision and role and shown to every
    user of that role: its template may read the record and the role's offers only (an
    undefined name would render empty, not fail, so it is checked here)."""
    from jinja2 import meta

    from psotrack.web.routes.patient_page import PAGE
    from psotrack.web.templating import TEMPLATES

    env = TEMPLATES.env
    assert env.loader is not None
    source = env.loader.get_source(env, PAGE)[0]
    names = meta.find_undeclared_variables(env.parse(source))
    record = {"overview", "timeline", "status", "score_charts", "lab_prefix", "scientific"}
    assert names <= record | {"can"}, names - record - {"can"}
