"""A clinic's day in real Chromium: sign in, find a patient, and what a researcher may see."""

from __future__ import annotations

from sqlalchemy import select

from psotrack.store.models import PatientIdentity
from tests.browser.conftest import screenshot, sign_in


def identities(live_server) -> list[PatientIdentity]:
    with live_server.db.transaction() as session:
        found = list(session.scalars(select(PatientIdentity)).all())
        session.expunge_all()
    return found


def test_a_clinician_signs_in_and_finds_a_patient_by_mrn(page, live_server):
    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    target = identities(live_server)[1]
    page.fill("input[name=q]", target.mrn)
    page.click("form[role=search] button")
    rows = page.locator("#patient-list tbody tr")
    assert rows.count() == 1
    assert target.mrn in rows.first.inner_text()
    screenshot(page, "patient-list")


def test_a_wrong_password_is_refused_in_words(page):
    page.goto("/login")
    page.fill("input[name=username]", "demo-clinician")
    page.fill("input[name=password]", "not the right one")
    page.click("button[type=submit]")
    assert "username or password is wrong" in page.inner_text("#login-error")


def test_a_researcher_finds_no_identifier_on_any_page_they_can_open(page, live_server):
    sign_in(page, "demo-researcher")
    page.wait_for_load_state()
    secrets = set()
    for identity in identities(live_server):
        secrets |= {identity.mrn, identity.family_name, identity.given_name}
    seen = [page.url]
    texts = [page.content()]
    for href in page.eval_on_selector_all("header nav a", "els => els.map(e => e.href)"):
        page.goto(href)
        seen.append(page.url)
        texts.append(page.content())
    for url, text in zip(seen, texts, strict=True):
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{url} shows {leaked}"
    response = page.goto("/patients")
    assert response is not None and response.status == 403
