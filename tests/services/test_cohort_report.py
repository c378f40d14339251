"""The cohort report's data on the tiny hand-built cohort (tests/cohort_records.py).

Every expected number is worked out by hand in the module text of ``tests.cohort_records`` and
in the comments here; exact intervals are checked against scipy's beta quantiles
(Clopper–Pearson: Beta(α/2; x, n − x + 1) to Beta(1 − α/2; x + 1, n − x)).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from scipy import stats

from psotrack.errors import NotFound, PermissionDenied, ValidationError
from psotrack.evidence import CAVEAT
from psotrack.services.cohort_report import cohort_report
from psotrack.store.vocabulary import Role
from tests.cohort_records import build_tiny_cohort


@pytest.fixture
def tiny(db, actors) -> dict[str, int]:
    return build_tiny_cohort(db, actors[Role.CLINICIAN])


def test_flow_counts_each_step(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    flow = dict(report.flow.select("step", "patients").rows())
    # alpha, beta, gamma, delta screened; delta still in screening; alpha and beta dosed and
    # seen at W12 (day 84, named by its study day for a researcher); gamma withdrawn.
    assert flow == {
        "Screened": 4,
        "Not enrolled": 1,
        "Enrolled": 3,
        "Treated": 2,
        "Followed to day 84": 2,
        "Completed": 0,
        "Withdrawn": 1,
        "Ongoing": 2,
    }
    withdrawn = report.flow.filter(pl.col("step") == "Withdrawn")["note"][0]
    assert "reason recorded for 1" in withdrawn
    assert "moved" not in withdrawn  # the free-text reason is never read
    assert (report.patients, report.screened) == (3, 4)


def test_baseline_table_by_hand(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    rows = {(r["characteristic"], r["level"]): r for r in report.baseline.to_dicts()}
    dist = "median [Q1, Q3]; range"
    # Age 2026 − 1970 = 56 for all three; disease duration 2026 − 2016 = 10.
    assert rows[("Age (years)", dist)]["median"] == 56.0
    assert rows[("Disease duration (years)", dist)]["minimum"] == 10.0
    # Sex: alpha female, beta and gamma male → 1 (33.3 %) and 2 (66.7 %).
    assert rows[("Sex", "female")]["n"] == 1
    assert rows[("Sex", "male")]["percent"] == pytest.approx(200 / 3)
    assert rows[("Fitzpatrick skin type", "II")]["n"] == 3
    # Baseline PASI 20, 20, 16: median 20; Q1 by linear interpolation 16 + 0.5 × 4 = 18.
    pasi = rows[("Baseline PASI (points)", dist)]
    assert (pasi["n"], pasi["median"], pasi["q1"], pasi["q3"]) == (3, 20.0, 18.0, 20.0)
    # BSA 30 and 10 (gamma has none): median 20, Q1 15, Q3 25.
    bsa = rows[("Baseline BSA (%)", dist)]
    assert (bsa["n"], bsa["median"], bsa["q1"], bsa["q3"]) == (2, 20.0, 15.0, 25.0)
    assert rows[("Baseline DLQI (points)", dist)]["median"] == 20.0
    # alpha: methotrexate and a biologic before day 0; beta a topical steroid only.
    assert rows[("Prior systemic therapy", "yes")]["n"] == 1
    assert rows[("Prior biologic therapy", "yes")]["n"] == 1


def test_rates_of_every_endpoint_at_day_84(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    found = {r[0]: r[1:] for r in report.rates.select("endpoint", "day", "n", "responders").rows()}
    # NRI over 3 enrolled: alpha −80 % (PASI 50, 75), PGA 1, DLQI 1; beta −20 %, PGA 3,
    # DLQI 10; gamma missed the visit.
    assert found == {
        "PASI 50": (84, 3, 1),
        "PASI 75": (84, 3, 1),
        "PASI 90": (84, 3, 0),
        "PASI 100": (84, 3, 0),
        "PGA 0/1": (84, 3, 1),
        "DLQI 0/1": (84, 3, 1),
    }
    low, high = (
        report.rates.filter(pl.col("endpoint") == "PASI 75").select("ci_low", "ci_high").row(0)
    )
    assert low == pytest.approx(stats.beta.ppf(0.025, 1, 3))
    assert high == pytest.approx(stats.beta.ppf(0.975, 2, 2))


def test_course_survival_and_waterfall(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    assert report.waterfall["best_pchg"].to_list() == [-20.0, -80.0]
    assert report.not_evaluable == 1  # gamma: a baseline, no follow-up
    km = report.time_to_pasi75
    assert km is not None
    # alpha reached PASI 75 on day 84; beta censored on day 84, gamma on day 0.
    assert (km.curve().n, km.curve().events) == (3, 1)
    assert km.curve().at_risk_at(84) == 2
    # Both doses on day 0: relapse counts from day 0, where no one has responded yet.
    assert report.relapse_stop_day == 0
    assert report.time_to_relapse is None
    assert report.biomarkers == ()  # no labs


def test_safety_tables(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    safety = report.safety
    assert (safety.events, safety.patients_with_event) == (2, 2)
    assert safety.by_term.select("term", "grade_2", "grade_3", "serious").rows() == [
        ("infection", 0, 1, 1),
        ("infusion related reaction", 1, 0, 0),
    ]
    serious = safety.serious.row(0, named=True)
    assert serious["patient_id"].startswith("PT-")
    assert (serious["term"], serious["grade"], serious["onset_day"]) == ("infection", 3, 10)
    assert serious["criteria"] == "hospitalisation"
    # Two first doses, alpha's with a reaction: 1 of 2.
    assert safety.infusions.select("administration", "administrations", "with_reaction").rows() == [
        ("1st", 2, 1),
        ("all", 2, 1),
    ]
    assert safety.infusions["rate"][0] == 0.5


def test_evidence_rows_lay_the_cohort_beside_each_endpoint(db, actors, tiny):
    report = cohort_report(db, actors[Role.RESEARCHER], tiny["program"])
    cohort = report.evidence.filter(pl.col("source") == "cohort")
    # PASI 40 at the last visit (alpha −80 % yes, beta −20 % no), PGA 0/1 alpha, PASI 50 at the
    # visit nearest to 1 year (day 84, the only one): each 1 of 3.
    assert cohort.select("endpoint", "responders", "n").rows() == [
        ("PASI40", 1, 3),
        ("PGA01", 1, 3),
        ("PASI50", 1, 3),
    ]
    assert cohort["time_point"][0] == "last visit, day 84"
    assert report.evidence_caveat == CAVEAT


def test_dates_filter_on_the_enrollment_start(db, actors, tiny):
    researcher = actors[Role.RESEARCHER]
    later = cohort_report(db, researcher, tiny["program"], date_from=date(2026, 1, 6))
    assert (later.screened, later.patients, later.rates.height) == (0, 0, 0)
    same = cohort_report(db, researcher, None, date(2026, 1, 5), date(2026, 1, 5))
    assert same.patients == 3
    with pytest.raises(ValidationError, match="date_to"):
        cohort_report(db, researcher, None, date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(NotFound):
        cohort_report(db, researcher, 999)


def test_a_patient_may_not_read_it(db, actors, tiny):
    with pytest.raises(PermissionDenied):
        cohort_report(db, actors[Role.PATIENT], tiny["program"])
