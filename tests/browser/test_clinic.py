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


def first_patient(live_server) -> int:
    from psotrack.store.models import Patient

    with live_server.db.transaction() as session:
        return int(session.scalar(select(Patient.id).order_by(Patient.id)))


def images_drawn(page, selector: str) -> list[bool]:
    """Whether each image matched has loaded and has a size (a chart the browser drew)."""
    page.wait_for_load_state("networkidle")
    return page.eval_on_selector_all(
        selector, "els => els.map(e => e.complete && e.naturalWidth > 0)"
    )


def test_the_patient_page_shows_the_status_sentence_and_draws_every_chart(page, live_server):
    from psotrack.services.context import SYSTEM
    from psotrack.services.status import patient_status

    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    patient = first_patient(live_server)
    page.goto(f"/patients/{patient}")
    expected = patient_status(live_server.db, SYSTEM, patient).sentence
    assert page.inner_text("#status-sentence") == expected
    drawn = images_drawn(page, "img.chart")
    assert len(drawn) >= 5 and all(drawn)
    screenshot(page, "patient-page")


def test_the_mirror_puts_two_visits_photos_side_by_side(page, live_server):
    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    patient = first_patient(live_server)
    page.goto(f"/patients/{patient}/mirror")
    boxes = page.locator("#mirror-choice input[name=visit]")
    assert boxes.count() >= 2
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i < 2)
    page.click("#mirror-choice button")
    page.wait_for_load_state("networkidle")
    photos = page.locator("#mirror img.photo")
    assert photos.count() == 2
    assert all(images_drawn(page, "#mirror img.photo"))
    first, second = (photos.nth(i).bounding_box() for i in range(2))
    assert first and second and second["x"] > first["x"]  # side by side, not stacked
    screenshot(page, "mirror")


def test_the_researcher_sees_the_cohort_dashboard_with_its_charts(page):
    sign_in(page, "demo-researcher")
    page.wait_for_url("**/cohort")
    assert "exact (Clopper–Pearson) 95 %" in page.inner_text("#rates-rules")
    assert page.locator("#cohort-rates tbody tr").count() >= 1
    assert all(images_drawn(page, "img.chart"))
    screenshot(page, "cohort")


def test_the_patient_sees_only_their_own_record(page, live_server):
    sign_in(page, "demo-patient")
    page.wait_for_url("**/me")
    response = page.goto(f"/patients/{first_patient(live_server)}")
    assert response is not None and response.status == 403
    screenshot(page, "patient-own-record")
