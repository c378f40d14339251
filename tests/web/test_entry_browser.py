"""The PASI form in real Chromium: the live total and parts come from the server as one types.

Skipped, saying why, where Debian's Chromium or Playwright is missing (``make browser``
installs Chromium). The app is served by uvicorn in a thread on the test's database; a
screenshot of the filled form is kept under ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from psotrack.services.assessments import list_assessments
from psotrack.store.vocabulary import Role
from tests.web.clinic import make_clinic
from tests.web.conftest import PASSWORD

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
#: The hand-computed PASI of test_assessment_entry: parts 0.2, 2.4, 8.4, 6.0; total 17.0.
FIELDS = {
    "head": ("1", "1", "0", "1", ""),
    "upper_limbs": ("2", "1", "1", "3", ""),
    "trunk": ("3", "2", "2", "4", ""),
    "lower_limbs": ("2", "2", "1", "", "35"),
}


@pytest.fixture
def browser_page(browser):
    """A fresh page of the test process's one Chromium (tests/conftest.py)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def served(app) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_live_pasi_total_and_parts_update_as_the_assessor_types(
    db, users, served, browser_page, request
):
    if "postgresql" in request.node.name:
        pytest.skip("one browser run is enough: the database is the page tests' business")
    clinic = make_clinic(db, users[Role.CLINICIAN])
    page = browser_page
    problems: list[str] = []
    # Script errors and CSP refusals; a 422 of the live score (an incomplete form) is expected.
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(f"{served}/login")
    page.fill('input[name="username"]', "clinician")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{served}/patients")
    page.goto(f"{served}/patients/{clinic.patient_id}/assessments/new?instrument=pasi")
    page.select_option('select[name="visit_id"]', str(clinic.visit_id))
    total = page.locator("[data-live-total]")
    for region, (erythema, induration, desquamation, area, area_pct) in FIELDS.items():
        page.fill(f'input[name="{region}_erythema"]', erythema)
        page.fill(f'input[name="{region}_induration"]', induration)
        page.fill(f'input[name="{region}_desquamation"]', desquamation)
        if area:
            page.fill(f'input[name="{region}_area"]', area)
        if area_pct:
            page.fill(f'input[name="{region}_area_pct"]', area_pct)
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(total).to_have_text("17.0")
    expect(page.locator('[data-part="trunk"]')).to_have_text("8.4")
    expect(page.locator('[data-part="lower_limbs"]')).to_have_text("6.0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pasi_entry_live.png"), full_page=True)

    page.fill('input[name="trunk_area"]', "7")
    expect(page.locator("#err-trunk_area")).to_have_text(
        "responses.trunk_area=7 is outside 0–6 (an area score)"
    )
    expect(total).to_have_text("—")
    page.fill('input[name="trunk_area"]', "4")
    expect(total).to_have_text("17.0")
    expect(page.locator("#err-trunk_area")).to_have_text("")

    page.click('#assessment-form button[type="submit"]')
    page.wait_for_url(f"{served}/patients/{clinic.patient_id}")
    (stored,) = list_assessments(db, users[Role.CLINICIAN], clinic.patient_id, "pasi")
    assert stored.score == "17.0"
    assert problems == [], f"the browser reported errors: {problems}"
