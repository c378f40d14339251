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


def select_first_choice(page, name: str) -> None:
    """Pick the first real option of a select (the blank "choose…" is the first entry)."""
    value = page.eval_on_selector(f"select[name={name}]", "s => s.options[1].value")
    page.select_option(f"select[name={name}]", value)


def test_a_saved_pasi_shows_on_the_timeline_chart_and_status_sentence(page, live_server):
    from psotrack.services.context import SYSTEM
    from psotrack.services.status import patient_status

    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    patient = first_patient(live_server)
    page.goto(f"/patients/{patient}")
    before = page.inner_text("#status-sentence")
    rows_before = page.locator("#assessments tbody tr").count()
    page.goto(f"/patients/{patient}/visits/new")
    page.fill("input[name=visit_date]", "2026-12-01")
    page.select_option("select[name=visit_type]", "follow-up")
    page.fill("input[name=label]", "Browser follow-up")
    page.click("form.entry button[type=submit]")
    page.wait_for_url(f"**/patients/{patient}")
    page.goto(f"/patients/{patient}/assessments/new?instrument=pasi")
    # At the new visit: a PASI of 0.6 (0.1 × 2 × 1 + 0.2 × 2 × 1), hand-computed.
    page.select_option(
        "select[name=visit_id]",
        label=page.eval_on_selector(
            "select[name=visit_id]",
            "s => [...s.options].find(o => o.text.includes('Browser follow-up')).text",
        ),
    )
    for region in ("head", "upper_limbs", "trunk", "lower_limbs"):
        signs = ("1", "1", "0", "1") if region in ("head", "upper_limbs") else ("0", "0", "0", "0")
        for item, value in zip(
            ("erythema", "induration", "desquamation", "area"), signs, strict=True
        ):
            page.fill(f"input[name={region}_{item}]", value)
    from playwright.sync_api import expect

    expect(page.locator("[data-live-total]")).to_have_text("0.6")
    page.click("#assessment-form button[type=submit]")
    page.wait_for_url(f"**/patients/{patient}")
    after = patient_status(live_server.db, SYSTEM, patient).sentence
    assert page.inner_text("#status-sentence") == after != before
    assert page.locator("#assessments tbody tr").count() == rows_before + 1
    assert "0.6" in page.inner_text("#assessments")
    assert all(images_drawn(page, "img.chart"))
    screenshot(page, "patient-page-after-pasi")


def test_an_uploaded_photo_can_be_compared_with_an_earlier_visit(page, live_server, tmp_path):
    from PIL import Image

    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    patient = first_patient(live_server)
    picture = tmp_path / "plaque.png"
    Image.new("RGB", (64, 48), (200, 90, 80)).save(picture)
    page.goto(f"/patients/{patient}/photos/new")
    last = page.eval_on_selector(
        "select[name=visit_id]", "s => s.options[s.options.length - 1].value"
    )
    page.select_option("select[name=visit_id]", last)
    page.fill("input[name=body_site]", "trunk")
    page.fill("input[name=view]", "front")
    page.set_input_files("input[name=photo]", str(picture))
    page.click("form.entry button[type=submit]")
    page.wait_for_url(f"**/patients/{patient}")
    page.goto(f"/patients/{patient}/mirror?site=trunk")
    boxes = page.locator("#mirror-choice input[name=visit]")
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(True)
    page.click("#mirror-choice button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#mirror img.photo").count() >= 2
    assert all(images_drawn(page, "#mirror img.photo"))
    screenshot(page, "mirror-after-upload")


def test_a_grade_3_adverse_event_raises_an_alert(page, live_server):
    sign_in(page, "demo-clinician")
    page.wait_for_url("**/patients")
    patient = first_patient(live_server)
    page.goto("/alerts")
    open_before = page.locator("#open-alerts tbody tr").count()
    page.goto(f"/patients/{patient}/adverse-events/new")
    select_first_choice(page, "term")
    page.fill("input[name=onset_date]", "2026-11-30")
    page.check("input[name=grade][value='3']")
    page.check("input[name=serious][value=no]")
    select_first_choice(page, "relatedness")
    select_first_choice(page, "outcome")
    page.click("button[name=action][value=save]")
    page.wait_for_url(f"**/patients/{patient}")
    page.goto("/alerts")
    alerts = page.locator("#open-alerts tbody tr")
    assert alerts.count() == open_before + 1
    assert "grade ≥ 3" in page.inner_text("#open-alerts")
    screenshot(page, "alerts")


INSTRUMENTS = ("pasi", "bsa", "pga", "dlqi", "itch_nrs", "pssi", "napsi", "tpss")


def every_page_opens(page, paths: list[str]) -> None:
    """Each page answers 200 with its heading; the ``page`` fixture then fails on any script
    error or refused inline script or style (the Content-Security-Policy) seen on the way."""
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.locator("main h1").count() >= 1, path
        page.wait_for_load_state("networkidle")


def test_every_staff_page_opens_in_chromium_without_a_script_or_policy_error(page, live_server):
    from psotrack.store.models import Visit

    patient = first_patient(live_server)
    with live_server.db.transaction() as session:
        visit = session.scalar(select(Visit.id).where(Visit.patient_id == patient))
    sign_in(page, "demo-admin")
    page.wait_for_url("**/patients")
    every_page_opens(
        page,
        [
            "/patients",
            f"/patients/{patient}",
            f"/patients/{patient}/mirror",
            *(f"/patients/{patient}/assessments/new?instrument={i}" for i in INSTRUMENTS),
            f"/patients/{patient}/administrations/new",
            f"/patients/{patient}/adverse-events/new",
            f"/patients/{patient}/labs/new",
            f"/patients/{patient}/therapies/new",
            f"/patients/{patient}/visits/new",
            f"/patients/{patient}/photos/new",
            "/enrollments/new",
            f"/history/visits/{visit}",
            f"/history/patients/{patient}",
            f"/records/visits/{visit}/correct",
            "/alerts",
            "/cohort",
            "/admin/users",
            "/account/password",
        ],
    )


def test_the_patients_own_pages_open_in_chromium(page):
    sign_in(page, "demo-patient")
    page.wait_for_url("**/me")
    every_page_opens(page, ["/me", "/me/itch", "/account/password", "/me/dlqi"])
    screenshot(page, "patient-dlqi")  # the tablet layout of the DLQI
