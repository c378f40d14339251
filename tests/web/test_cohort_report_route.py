"""The cohort report in the web app: HTML and PDF for research roles, linked from /cohort."""

from __future__ import annotations

from psotrack.store.vocabulary import Role
from tests.web.conftest import OWN_MRN, OWN_NAME

REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def test_researcher_reads_the_html_report_under_its_own_policy(client_for):
    answer = client_for(Role.RESEARCHER).get("/cohort/report.html")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == REPORT_CSP
    assert "Cohort report" in answer.text and "Enrolment and retention" in answer.text
    assert OWN_MRN not in answer.text and OWN_NAME[0] not in answer.text


def test_the_pdf_comes_as_an_attachment(client_for):
    answer = client_for(Role.CLINICIAN).get("/cohort/report.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.content.startswith(b"%PDF")


def test_a_patient_may_not_and_the_dashboard_links_it(client_for):
    assert client_for(Role.PATIENT).get("/cohort/report.html").status_code == 403
    page = client_for(Role.RESEARCHER).get("/cohort").text
    assert 'href="/cohort/report.html"' in page and 'href="/cohort/report.pdf"' in page
