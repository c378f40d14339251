"""The cohort report rendered from the tiny hand-built cohort and from the synthetic demo.

Every rate printed in the HTML is checked against the endpoint engine run here on the same long
table (``derive_response_rates`` and ``derive_flag_rates``, NRI, one group); the PDF is opened
with pypdf (pages, headings, the data's label on every page) and its first pages are turned into
PNG files under tests/artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import html as html_text
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

import pypdf
import pytest

from psotrack.endpoints import derive_flag_rates, derive_response_rates
from psotrack.reports.cohort_report import cohort_document, interval, percent
from psotrack.reports.document import ReportFormat
from psotrack.services.cohort_report import cohort_report
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.demo import build_demo
from psotrack.services.patients import create_program, enroll_patient
from psotrack.services.timeline import assessments_frame
from psotrack.services.users import create_user
from psotrack.store.vocabulary import Role
from tests.cohort_records import W0, W12, _visit, build_tiny_cohort
from tests.web.records import pasi_with_lower_limb_area

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PRINTED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
RATES = re.compile(r'<table id="rates">.*?<tbody>(.*?)</tbody>', re.S)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
ENDPOINTS = {"PASI 50": 50, "PASI 75": 75, "PASI 90": 90, "PASI 100": 100,
             "PGA 0/1": "pga01", "DLQI 0/1": "dlqi01"}  # fmt: skip
HEADINGS = (
    "Enrolment and retention",
    "Baseline characteristics",
    "Responder rates by visit",
    "Course of PASI",
    "Time to PASI 75 and time to relapse",
    "Biomarkers",
    "Adverse events",
    "Published MSC studies beside this cohort",
)


def render(db: Database, actor: Actor, program: int | None = None, **dates: date) -> str:
    report = cohort_report(db, actor, program, **dates)
    return cohort_document(report, ReportFormat.HTML, generated_at=PRINTED).decode("utf-8")


def pdf_of(db: Database, actor: Actor, program: int | None = None, **dates: date) -> bytes:
    report = cohort_report(db, actor, program, **dates)
    return cohort_document(report, ReportFormat.PDF, generated_at=PRINTED)


def printed_table(page: str, id: str) -> list[list[str]]:
    """The body rows of the table ``id`` as printed (cell text, entities decoded)."""
    found = re.search(rf'<table id="{id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert found is not None, f"no table {id}"
    return [
        [html_text.unescape(c).strip() for c in CELL.findall(row)]
        for row in ROW.findall(found.group(1))
    ]


def printed_rates(page: str) -> dict[tuple[str, int], list[str]]:
    """``(endpoint, day) → [visit, day, responders / n, rate, interval]`` as printed."""
    found = RATES.search(page)
    if found is None:
        return {}
    out = {}
    for row in ROW.findall(found.group(1)):
        cells = [html_text.unescape(c).strip() for c in CELL.findall(row)]
        out[(cells[0], int(cells[2]))] = cells[1:]
    return out


def engine_rates(
    db: Database, actor: Actor, program: int | None
) -> dict[tuple[str, int], list[str]]:
    """The same table from the endpoint engine, formatted as the report formats numbers."""
    frame = assessments_frame(db, actor, program)
    out = {}
    for name, measure in ENDPOINTS.items():
        if isinstance(measure, int):
            rates = derive_response_rates(frame, measure, "nri", by=None)
        else:
            rates = derive_flag_rates(frame, measure, "nri", by=None)
        for r in rates.iter_rows(named=True):
            out[(name, r["day"])] = [
                r["visit"],
                str(r["day"]),
                f"{r['responders']} / {r['n']}",
                percent(r["rate"]),
                interval(r["ci_low"], r["ci_high"]),
            ]
    return out


@pytest.fixture
def db(engine, tmp_path) -> Database:
    return Database.from_engine(engine, photo_dir=tmp_path / "photos")


@pytest.fixture
def staff(db) -> dict[Role, Actor]:
    """A researcher and a clinician (named after their role)."""
    out = {}
    for role in (Role.RESEARCHER, Role.CLINICIAN):
        form = {"username": role.value, "display_name": role.value, "role": role.value}
        out[role] = Actor(create_user(db, SYSTEM, form), role, role.value)
    return out


@pytest.fixture
def tiny(db, staff) -> dict[str, int]:
    return build_tiny_cohort(db, staff[Role.CLINICIAN])


def test_every_printed_rate_is_the_engines_tiny_cohort(db, staff, tiny):
    researcher = staff[Role.RESEARCHER]
    page = render(db, researcher, tiny["program"])
    printed = printed_rates(page)
    assert printed == engine_rates(db, researcher, tiny["program"])
    # By hand (tests/cohort_records.py): PASI 75 at day 84 is alpha alone of three, 33.3 %.
    assert printed[("PASI 75", 84)][2:4] == ["1 / 3", "33.3 %"]
    assert "non-responder imputation: a missed visit counts as no response" in page
    assert "SYNTHETIC" not in page  # real-looking test patients are not synthetic
    for secret in ("MRN-TINY", "Alpha", "moved to another city"):
        assert secret not in page
    assert "No laboratory values" in page  # a program with no labs reads, not fails


def test_printed_tables_hold_the_hand_worked_numbers(db, staff, tiny):
    page = render(db, staff[Role.RESEARCHER], tiny["program"])
    flow = {row[0]: row[1] for row in printed_table(page, "flow")}
    assert [flow[s] for s in ("Screened", "Enrolled", "Treated", "Followed to day 84")] == [
        "4", "3", "2", "2"
    ]  # fmt: skip
    baseline = {(r[0], r[1]): r[2:] for r in printed_table(page, "baseline")}
    # Baseline PASI 20, 20, 16: median 20.0 [18.0, 20.0], range 16.0–20.0.
    assert baseline[("Baseline PASI (points)", "")] == ["3", "", "20.0 [18.0, 20.0]", "16.0–20.0"]
    assert baseline[("Sex", "male")] == ["2", "66.7", "", ""]
    # Two first doses, one with a reaction: 50.0 %, Clopper–Pearson 1/2 = 1.3–98.7 %.
    assert printed_table(page, "infusions")[0] == ["1st", "2", "1", "1", "50.0 %", "1.3–98.7 %"]
    serious = printed_table(page, "serious")
    assert [row[1:4] for row in serious] == [["infection", "3", "10"]]
    assert "3 patients with an evaluable baseline, 1 reached PASI 75" in page
    assert "no PASI 50 responder was seen after study day 0" in page


def test_the_same_data_give_the_same_html(db, staff, tiny):
    researcher = staff[Role.RESEARCHER]
    assert render(db, researcher, tiny["program"]) == render(db, researcher, tiny["program"])


def test_a_cohort_of_one_and_an_empty_one_render(db, staff):
    clinician = staff[Role.CLINICIAN]
    program = create_program(
        db,
        SYSTEM,
        {"name": "One", "regimen": "none", "product_source": "UC-MSC", "route": "IV"},
    )
    patient = enroll_patient(
        db,
        clinician,
        {"mrn": "MRN-ONE", "family_name": "Solo", "given_name": "One", "sex": "female",
         "birth_date": date(1980, 1, 1), "program_id": program, "start_date": W0,
         "status": "active"},
    )  # fmt: skip
    _visit(db, clinician, patient, W0, "W0", {"pasi": pasi_with_lower_limb_area(5)})
    _visit(db, clinician, patient, W12, "W12", {"pasi": pasi_with_lower_limb_area(1)})
    page = render(db, staff[Role.RESEARCHER], program)
    # One patient, 20.0 → 4.0 (−80 %): PASI 75 at day 84 is 1 of 1.
    assert printed_rates(page)[("PASI 75", 84)][2:4] == ["1 / 1", "100.0 %"]
    assert "No laboratory values" in page and "No adverse event recorded." in page
    assert pdf_of(db, staff[Role.RESEARCHER], program).startswith(b"%PDF")
    empty = render(db, staff[Role.RESEARCHER], program, date_from=date(2030, 1, 1))
    assert "No post-baseline visit with a score yet" in empty
    assert pdf_of(db, staff[Role.RESEARCHER], program, date_from=date(2030, 1, 1)).startswith(
        b"%PDF"
    )


def test_demo_cohort_pdf_pages_text_and_label(db, staff):
    build_demo(db, patients=6, seed=5)
    researcher = staff[Role.RESEARCHER]
    page = render(db, researcher)
    assert printed_rates(page) == engine_rates(db, researcher, None)
    pdf = pdf_of(db, researcher)
    reader = pypdf.PdfReader(BytesIO(pdf))
    texts = [p.extract_text() for p in reader.pages]
    assert 6 <= len(texts) <= 10
    for number, text in enumerate(texts, start=1):
        assert "SYNTHETIC DATA" in text, f"page {number} carries no data label"
        assert f"page {number} of {len(texts)}" in text
    whole = " ".join(" ".join(t.split()) for t in texts)
    for heading in HEADINGS:
        assert heading in whole
    assert "descriptive comparison only" in whole  # the evidence table's own sentence
    assert pdf == pdf_of(db, researcher)  # the same data, the same bytes
    _save_pages(pdf, "cohort-report-demo")


def _save_pages(pdf: bytes, name: str) -> None:
    """The first two pages as PNG under tests/artifacts/ (skipped where pdftoppm is absent)."""
    if shutil.which("pdftoppm") is None:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "2", str(source), str(ARTIFACTS / name)],
        check=True,
        timeout=60,
    )
    assert sorted(ARTIFACTS.glob(f"{name}-*.png"))
