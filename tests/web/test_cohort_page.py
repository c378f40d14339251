"""The cohort dashboard on a hand-made cohort of five patients with known answers.

PASI (lower limbs only, 4 × area): every patient 20.0 on day 0; three at 4.0 on day 84 (−80 %,
PASI 75 responders), two at 16.0 (−20 %). So PASI 75 at day 84 is 3 of 5 (NRI, ITT), whose
exact 95 % interval is Clopper–Pearson's: Beta(0.025; 3, 3) to Beta(0.975; 4, 2), from scipy.
Treg % rises 4.0 → 6.0, 7.0, 8.0 in the responders (changes 2, 3, 4: median 3.0, Q1 2.5, Q3 3.5
by linear interpolation; all positive, so the exact two-sided Wilcoxon p is 2/2³ = 0.25) and
4.0 → 4.0, 3.0 in the non-responders (changes 0, −1).
"""

from __future__ import annotations

from datetime import date

import pytest
from scipy import stats

from psotrack.evidence import CAVEAT, load_published_table
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.dashboard import cohort_dashboard
from psotrack.services.labs import record_lab_result
from psotrack.store.vocabulary import Role
from tests.web.conftest import OWN_MRN, OWN_NAME
from tests.web.records import W0, W12, at_nine, enroll, pasi_course, program_of

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
#: family name → (W12 lower-limb area, Treg % on day 84); the own patient is the first.
COURSES = {
    OWN_NAME[0]: (1, 6.0),
    "Alphafam": (1, 7.0),
    "Betafam": (1, 8.0),
    "Gammafam": (4, 4.0),
    "Deltafam": (4, 3.0),
}


@pytest.fixture
def cohort(db, users, own_patient) -> dict[str, int]:
    clinician = users[Role.CLINICIAN]
    program = program_of(db, own_patient)
    ids = {}
    for number, (family, (area, treg)) in enumerate(COURSES.items()):
        if number == 0:
            patient = own_patient
        else:
            patient = enroll(db, clinician, program, f"MRN-C{number}", family)
        ids[family] = patient
        w0, w12 = pasi_course(db, clinician, patient, (5, area))
        for visit, when, value in ((w0, W0, 4.0), (w12, W12, treg)):
            lab = {
                "patient_id": patient,
                "visit_id": visit,
                "analyte": "treg_pct_cd4",
                "value": value,
                "unit": "%",
                "sampled_at": at_nine(when),
            }
            record_lab_result(db, clinician, lab)
    headache = {
        "term": "headache",
        "verbatim_term": "Headache after the visit",
        "onset_date": date(2026, 2, 27),
        "grade": 1,
        "serious": False,
        "expected": True,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    report_adverse_event(db, clinician, headache | {"patient_id": own_patient})
    report_adverse_event(db, clinician, headache | {"patient_id": own_patient})
    report_adverse_event(db, clinician, headache | {"patient_id": ids["Gammafam"], "grade": 3})
    return ids


def percent(x: float) -> str:
    return f"{x * 100:.1f} %"


def test_rates_carry_the_exact_interval_and_name_the_missing_data_rule(client_for, cohort):
    page = client_for(Role.CLINICIAN).get("/cohort")
    assert page.status_code == 200
    low, high = stats.beta.ppf(0.025, 3, 3), stats.beta.ppf(0.975, 4, 2)
    row = f'3 / 5</td><td class="num">60.0 %</td><td class="num">{percent(low)} – {percent(high)}'
    assert row in page.text
    assert "non-responder imputation: a missed visit counts as no response" in page.text
    assert "every enrolled patient (ITT)" in page.text
    observed = client_for(Role.CLINICIAN).get("/cohort?missing=observed&threshold=90")
    assert observed.status_code == 200
    assert "observed cases: patients with a PASI at the visit" in observed.text
    assert "0 / 5</td>" in observed.text  # nobody improved by 90 %


def test_a_bad_threshold_is_refused_with_the_field_named(client_for, cohort):
    answer = client_for(Role.CLINICIAN).get("/cohort?threshold=0")
    assert answer.status_code == 422
    assert "threshold" in answer.text


def test_the_waterfall_biomarkers_and_adverse_events_have_the_known_values(db, users, cohort):
    dashboard = cohort_dashboard(db, users[Role.RESEARCHER])
    assert dashboard.waterfall["best_pchg"].to_list() == [-20.0, -20.0, -80.0, -80.0, -80.0]
    assert dashboard.not_evaluable == 0
    assert dashboard.adverse_events.rows() == [
        (1, 2, 1, 0),
        (2, 0, 0, 0),
        (3, 1, 1, 0),
        (4, 0, 0, 0),
        (5, 0, 0, 0),
    ]
    (treg,) = dashboard.biomarkers
    assert (treg.analyte, treg.unit, treg.follow_up_day) == ("treg_pct_cd4", "%", 84)
    responders, non_responders = treg.change.responders, treg.change.non_responders
    assert responders is not None and non_responders is not None
    change = responders.change
    assert (change.median, change.q1, change.q3) == (3.0, 2.5, 3.5)
    assert responders.p_value == 0.25
    assert (non_responders.change.median, non_responders.n_pairs) == (-0.5, 2)
    between = treg.change.between_groups
    assert between is not None
    assert between.p_value == pytest.approx(stats.mannwhitneyu([2, 3, 4], [0, -1]).pvalue)


def test_the_page_shows_the_published_studies_with_their_caveat(client_for, cohort):
    page = client_for(Role.RESEARCHER).get("/cohort")
    assert page.status_code == 200
    text = page.text.replace("&#39;", "'").replace("&amp;", "&")
    assert CAVEAT in text
    for row in load_published_table().rows:
        assert row.study_id in text
    assert "SYNTHETIC" not in page.text  # nothing here is synthetic


def test_the_researcher_sees_no_identifier(client_for, cohort):
    page = client_for(Role.RESEARCHER).get("/cohort")
    assert page.status_code == 200
    for family in COURSES:
        assert family not in page.text
    assert OWN_MRN not in page.text and "MRN-C1" not in page.text
    assert "Headache after the visit" not in page.text
    assert "W12" not in page.text and "day 84" in page.text  # visits by study day, not label


@pytest.mark.parametrize(
    ("path", "title", "axis"),
    [
        ("/cohort/rates.svg", "PASI 75 responders by visit (nri)", "responders (% of patients)"),
        (
            "/cohort/waterfall.svg",
            "Best PASI change per patient",
            "best change of PASI from baseline (%)",
        ),
        ("/cohort/adverse-events.svg", "Adverse events by CTCAE grade", "CTCAE grade (v5.0)"),
    ],
)
def test_charts_are_svg_with_their_own_policy_title_and_axis_labels(
    client_for, cohort, path, title, axis
):
    chart = client_for(Role.RESEARCHER).get(path)
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.headers["content-security-policy"] == SVG_CSP
    assert title in chart.text and axis in chart.text
    assert "<script" not in chart.text
    for family in COURSES:
        assert family not in chart.text
