"""The patient progress report on a patient recorded by the services, with hand-computed answers.

PASI by Fredriksson 1978: Σ weight × (E + I + D) × area score, weights head 0.1, upper limbs 0.2,
trunk 0.3, lower limbs 0.4.

- Screening, 2025-12-29 (day −7, the engine's baseline: the last PASI on or before day 0):
  head (2+2+2)·2·0.1 = 1.2; upper limbs (2+2+2)·3·0.2 = 3.6; trunk (3+3+2)·3·0.3 = 7.2;
  lower limbs (2+2+2)·3·0.4 = 7.2; total 19.2.
- Week 4, 2026-02-02 (day 28): head 0; upper (1+1+1)·2·0.2 = 1.2; trunk (2+2+2)·2·0.3 = 3.6;
  lower (2+1+1)·3·0.4 = 4.8; total 9.6 = 50 % of 19.2 → −50.0 %, PASI 50.
- Week 12, 2026-03-30 (day 84): head 0; upper (1+1+1)·1·0.2 = 0.6; trunk (1+1+1)·2·0.3 = 1.8;
  lower (1+1+1)·2·0.4 = 2.4; total 4.8 = exactly 25 % of 19.2 → −75.0 %: PASI 75 (a response
  at exactly 75 % is a response). Change 4.8 − 19.2 = −14.4 points.
- Two infusions of 1.5 × 10⁶ cells/kg (day 0 = 2026-01-05 and day 28): 3 × 10⁶ cells/kg in all.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from psotrack.errors import PermissionDenied
from psotrack.reports.document import ReportFormat
from psotrack.reports.patient_report import (
    draw_patient_figures,
    patient_document,
    patient_view,
    render_patient_html,
)
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.demo import build_demo, synthetic_photo
from psotrack.services.labs import record_lab_result
from psotrack.services.patient_report import patient_report
from psotrack.services.photos import attach_photo
from psotrack.services.status import patient_status
from psotrack.store.vocabulary import Role
from tests.reports.pdf_pages import keep_page_images, pdf_pages
from tests.services.conftest import add_visit, administration_form
from tests.services.test_adverse_events import event_form

GENERATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def pasi(head, upper, trunk, lower) -> dict:
    """PASI responses from (E, I, D, area score) per region."""
    names = ("erythema", "induration", "desquamation", "area")
    regions = ("head", "upper_limbs", "trunk", "lower_limbs")
    given = (head, upper, trunk, lower)
    return {r: dict(zip(names, v, strict=True)) for r, v in zip(regions, given, strict=True)}


@pytest.fixture
def course(db, clinician, patient_id) -> int:
    plan = (
        ("Screening", date(2025, 12, 29), "screening",
         pasi((2, 2, 2, 2), (2, 2, 2, 3), (3, 3, 2, 3), (2, 2, 2, 3))),
        ("Week 0", date(2026, 1, 5), "baseline", None),
        ("Week 4", date(2026, 2, 2), "follow-up",
         pasi((0, 0, 0, 0), (1, 1, 1, 2), (2, 2, 2, 2), (2, 1, 1, 3))),
        ("Week 12", date(2026, 3, 30), "follow-up",
         pasi((0, 0, 0, 0), (1, 1, 1, 1), (1, 1, 1, 2), (1, 1, 1, 2))),
    )  # fmt: skip
    visits = {}
    for label, when, kind, responses in plan:
        visits[label] = add_visit(db, clinician, patient_id, when, label, kind)
        if responses is not None:
            payload = {"visit_id": visits[label], "instrument": "pasi", "responses": responses}
            record_assessment(db, clinician, payload)
    for when in (date(2026, 1, 5), date(2026, 2, 2)):
        started = datetime(when.year, when.month, when.day, 9, tzinfo=UTC)
        log_administration(db, clinician, administration_form(patient_id, started_at=started))
    for when, value in ((date(2026, 1, 5), 4.0), (date(2026, 3, 30), 5.5)):
        record_lab_result(
            db,
            clinician,
            {
                "patient_id": patient_id,
                "analyte": "treg_pct_cd4",
                "value": value,
                "unit": "%",
                "reference_low": 3.0,
                "reference_high": 7.0,
                "sampled_at": datetime(when.year, when.month, when.day, 8, tzinfo=UTC),
            },
        )
    for label in ("Week 0", "Week 12"):
        attach_photo(
            db,
            clinician,
            patient_id=patient_id,
            image_bytes=synthetic_photo(),
            body_site="trunk",
            view="front",
            visit_id=visits[label],
        )
    headache = event_form(patient_id, onset_date=date(2026, 1, 6), resolution_date=date(2026, 1, 7))
    report_adverse_event(db, clinician, headache)
    return patient_id


def view_of(db, clinician, patient: int) -> dict:
    report = patient_report(db, clinician, patient)
    return patient_view(report, draw_patient_figures(report), generated_at=GENERATED)


def test_visit_rows_print_the_engines_change_and_response(db, clinician, course):
    rows = [row[:5] for row in view_of(db, clinician, course)["visits"]["rows"]]
    assert rows == [
        ["Screening", "-7", "19.2", "—", "—"],
        ["Week 4", "28", "9.6", "−50.0 %", "PASI 50"],
        ["Week 12", "84", "4.8", "−75.0 %", "PASI 75"],  # exactly 75 % is a response
    ]


def test_regions_baseline_beside_latest_match_the_hand_computation(db, clinician, course):
    table = view_of(db, clinician, course)["regions"]["table"]
    by_region = {row[0]: row[1:] for row in table["rows"]}

    def pair(cell: str) -> tuple[Decimal, Decimal]:
        before, after = cell.split(" → ")
        return Decimal(before), Decimal(after)

    # (erythema, thickness, scaling, area, points) baseline → latest, from the module docstring.
    expected = {
        "head and neck": ((2, 0), (2, 0), (2, 0), (2, 0), ("1.2", "0")),
        "upper limbs": ((2, 1), (2, 1), (2, 1), (3, 1), ("3.6", "0.6")),
        "trunk (with axillae and groin)": ((3, 1), (3, 1), (2, 1), (3, 2), ("7.2", "1.8")),
        "lower limbs (with buttocks)": ((2, 1), (2, 1), (2, 1), (3, 2), ("7.2", "2.4")),
    }
    for region, cells in expected.items():
        found = [pair(cell) for cell in by_region[region]]
        assert found == [(Decimal(a), Decimal(b)) for a, b in cells], region
    assert by_region["PASI total"][-1] == "19.2 → 4.8 (−14.4 points)"


def test_header_counts_the_administrations_and_their_dose(db, clinician, course):
    view = view_of(db, clinician, course)
    facts = {label: value for label, value, _ in view["facts"]}
    assert facts["Administrations"] == "2"
    assert facts["Total dose"] == "3 × 10⁶ cells/kg"  # 2 × 1.5 × 10⁶
    assert facts["Day 0 (first administration)"] == "2026-01-05"
    assert facts["MRN"] == "MRN-0001"
    assert view["status"] == patient_status(db, clinician, course).sentence
    assert view["baseline_note"].startswith("Baseline PASI 19.2;")


def test_safety_and_labs_are_listed(db, clinician, course):
    view = view_of(db, clinician, course)
    assert view["adverse_events"]["rows"] == [
        ["2026-01-06", "headache", "1", "no", "possible", "recovered", "2026-01-07"]
    ]
    lots = [(row[1], row[3], row[5], row[6]) for row in view["administrations"]["rows"]]
    assert lots == [("0", "L1", "1.5 × 10⁶", "90.0"), ("28", "L1", "1.5 × 10⁶", "90.0")]
    assert [row[:4] for row in view["labs"]["table"]["rows"]] == [
        ["2026-01-05", "0", "Treg (% of CD4⁺)", "4.0"],
        ["2026-03-30", "84", "Treg (% of CD4⁺)", "5.5"],
    ]
    assert [site["site"] for site in view["mirror"]["sites"]] == ["trunk"]
    captions = [photo["caption"] for photo in view["mirror"]["sites"][0]["photos"]]
    assert captions == [
        "Week 0 · 2026-01-05 · day 0 · front",
        "Week 12 · 2026-03-30 · day 84 · front",
    ]


def test_html_and_pdf_print_the_same_numbers(db, clinician, course):
    report = patient_report(db, clinician, course)
    images = draw_patient_figures(report)
    view = patient_view(report, images, generated_at=GENERATED)
    html = render_patient_html(view, images)
    pages = pdf_pages(patient_document(report, ReportFormat.PDF, generated_at=GENERATED))
    text = " ".join(" ".join(page.split()) for page in pages)
    printed_numbers = (
        "19.2", "−50.0 %", "−75.0 %", "PASI 75", "19.2 → 4.8 (−14.4 points)",
        "3 × 10⁶ cells/kg", view["status"], "Doe, Jane", "2026-12-01 09:30 UTC",
    )  # fmt: skip
    for printed in printed_numbers:
        assert printed in html, printed
        assert printed in text, printed
    assert html.count("data:image/svg+xml;base64,") == 7  # 5 scores, the region grid, 1 analyte
    assert html.count("data:image/jpeg;base64,") == 2  # the trunk, first and latest
    assert "describes measurements" in text and "not a promise" in text


def test_same_data_give_the_same_bytes(db, clinician, course):
    report = patient_report(db, clinician, course)
    for fmt in ReportFormat:
        first = patient_document(report, fmt, generated_at=GENERATED)
        assert patient_document(report, fmt, generated_at=GENERATED) == first, fmt


def test_a_patient_with_no_baseline_no_photo_and_no_lab_gets_a_readable_report(
    db, clinician, patient_id
):
    visit = add_visit(db, clinician, patient_id, date(2026, 2, 2), "Week 4", "follow-up")
    responses = pasi((0, 0, 0, 0), (1, 1, 1, 2), (2, 2, 2, 2), (2, 1, 1, 3))
    payload = {"visit_id": visit, "instrument": "pasi", "responses": responses}
    record_assessment(db, clinician, payload)
    view = view_of(db, clinician, patient_id)
    assert view["baseline_note"].startswith("No baseline PASI")
    assert view["visits"]["rows"][0][:5] == ["Week 4", "28", "9.6", "—", "—"]
    assert view["mirror"]["sites"] == [] and view["labs"]["charts"] == []
    report = patient_report(db, clinician, patient_id)
    pages = pdf_pages(patient_document(report, ReportFormat.PDF, generated_at=GENERATED))
    text = " ".join(pages)
    assert "No photos were taken" in text and "No immune lab results recorded" in text


def test_the_demo_report_is_labelled_synthetic_on_every_page(db, clinician):
    build_demo(db, patients=1, seed=3)
    report = patient_report(db, clinician, 1)
    content = patient_document(report, ReportFormat.PDF, generated_at=GENERATED)
    pages = pdf_pages(content)
    assert len(pages) >= 3
    assert all("SYNTHETIC DATA" in page for page in pages)
    keep_page_images(content, "patient-report-demo", pages=len(pages))


def test_only_roles_that_read_identified_records_get_a_patient_report(db, actors, course):
    with pytest.raises(PermissionDenied):
        patient_report(db, actors[Role.RESEARCHER], course)
    assert patient_report(db, actors[Role.COORDINATOR], course).administrations == 2
