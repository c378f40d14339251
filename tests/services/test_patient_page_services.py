"""The read services behind the patient page: chart series, the schedule the model is given,
the mirror's body-site → PASI region rule, and who may read them."""

from __future__ import annotations

import doctest
import importlib
from datetime import UTC, date, datetime

import pytest

from psotrack.errors import NotFound, PermissionDenied
from psotrack.services.administrations import log_administration
from psotrack.services.assessments import record_assessment
from psotrack.services.labs import record_lab_result
from psotrack.services.mirror import pasi_region
from psotrack.services.patient_charts import (
    expected_course,
    lab_series,
    model_schedule,
    score_series,
)
from psotrack.services.patient_overview import patient_overview
from psotrack.store.vocabulary import ProductSource, Role, Route
from tests.services.conftest import add_visit, administration_form

UC_IV = (ProductSource.UC_MSC, Route.IV, 1.5e6)


@pytest.mark.parametrize(
    "module",
    [
        "psotrack.services.mirror",
        "psotrack.services.patient_charts",
        "psotrack.reports.figures",
        "psotrack.number_text",
        "psotrack.reports.document",
        "psotrack.reports.view",
    ],
)
def test_docstring_examples_hold(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_the_schedule_is_read_from_the_doses_given():
    days = [date(2026, 1, 5), date(2026, 2, 2), date(2026, 3, 2)]  # 28 days apart
    assert model_schedule([UC_IV] * 3, days, False) == ("uc-msc-iv:1.5e6/kg x3 q28d", None, False)
    one = model_schedule([UC_IV], days[:1], True)
    assert one == ("uc-msc-iv:1.5e6/kg x1 + topical", None, False)
    # Gaps 20 and 40 days: mean 30, each 10 days off it → averaged, and said to be.
    uneven = [date(2026, 1, 5), date(2026, 1, 25), date(2026, 3, 6)]
    assert model_schedule([UC_IV] * 3, uneven, False) == ("uc-msc-iv:1.5e6/kg x3 q30d", None, True)
    # The median dose: 1.0, 2.0 and 9.0 × 10⁶ → 2.0 × 10⁶.
    doses = [(ProductSource.AD_MSC, Route.INTRALESIONAL, d) for d in (1.0e6, 2.0e6, 9.0e6)]
    assert model_schedule(doses, days, False)[0] == "ad-msc-pl:2e6/kg x3 q28d"


@pytest.mark.parametrize(
    ("doses", "reason"),
    [
        ([], "no cell-therapy administration recorded yet"),
        ([UC_IV, (ProductSource.BM_MSC, Route.IV, 1e6)], "more than one product or route"),
        ([(ProductSource.EXOSOME, Route.IV, 1e6)], "the model has no exosome/secretome given IV"),
        ([(ProductSource.UC_MSC, Route.SUBCUTANEOUS, 1e6)], "given subcutaneous"),
    ],
)
def test_schedules_the_model_cannot_take_say_why(doses, reason):
    text, why, _ = model_schedule(doses, [date(2026, 1, 5)] * len(doses), False)
    assert text is None and why is not None and reason in why


@pytest.mark.parametrize(
    ("site", "region"),
    [
        ("trunk", "trunk"),
        ("Lower back", "trunk"),
        ("left axilla", "trunk"),
        ("right armpit", "trunk"),
        ("back of the hand", "upper_limbs"),
        ("back of the knee", "lower_limbs"),
        ("right elbow", "upper_limbs"),
        ("upper arm, extensor", "upper_limbs"),
        ("scalp", "head"),
        ("neck", "head"),
        ("left knee", "lower_limbs"),
        ("buttocks", "lower_limbs"),
        ("fingernail", "upper_limbs"),
        ("genitals", None),
    ],
)
def test_a_body_site_is_placed_in_its_pasi_region(site, region):
    assert pasi_region(site) == region


@pytest.fixture
def treated(db, clinician, patient_id) -> int:
    """Baseline PASI 10.0 on 2026-01-05 (every region E2 I2 D1, area 2), an infusion that day,
    PASI 4.0 on day 28 (E1 I1 D0, area 2); Treg 4.0 % on day 0 and 5.5 % on day 28."""
    for when, signs in ((date(2026, 1, 5), (2, 2, 1)), (date(2026, 2, 2), (1, 1, 0))):
        visit = add_visit(db, clinician, patient_id, when, label=str(when))
        region = dict(zip(("erythema", "induration", "desquamation"), signs, strict=True))
        responses = {r: {**region, "area": 2} for r in ("head", "upper_limbs", "trunk")}
        responses["lower_limbs"] = {**region, "area": 2}
        record_assessment(
            db, clinician, {"visit_id": visit, "instrument": "pasi", "responses": responses}
        )
        record_lab_result(
            db,
            clinician,
            {
                "patient_id": patient_id,
                "analyte": "treg_pct_cd4",
                "value": 4.0 if signs[0] == 2 else 5.5,
                "unit": "%",
                "sampled_at": datetime(when.year, when.month, when.day, 8, tzinfo=UTC),
            },
        )
    log_administration(db, clinician, administration_form(patient_id))
    return patient_id


def test_score_series_carries_the_engines_baseline(db, clinician, treated):
    series = score_series(db, clinician, treated)
    assert series.baseline_pasi == 10.0
    assert series.scores.select("day", "pasi").rows() == [(0, "10.0"), (28, "4.0")]


def test_lab_series_by_study_day_and_unknown_analytes_are_not_found(db, clinician, treated):
    series = lab_series(db, clinician, treated, "treg_pct_cd4")
    assert (series.name, series.unit) == ("Treg (% of CD4⁺)", "%")
    assert series.results.select("day", "value").rows() == [(0, 4.0), (28, 5.5)]
    with pytest.raises(NotFound):
        lab_series(db, clinician, treated, "crp")  # a known analyte never measured
    with pytest.raises(NotFound):
        lab_series(db, clinician, treated, "unobtainium")


def test_expected_course_for_one_dose_and_none_without_a_dose(db, clinician, treated, patient_id):
    course = expected_course(db, clinician, treated)
    assert course.schedule == "uc-msc-iv:1.5e6/kg x1"
    assert course.forecast is not None and course.forecast.latest_day == 28
    assert course.measured.select("day", "pasi").rows() == [(0, 10.0), (28, 4.0)]
    assert expected_course(db, clinician, treated).forecast is course.forecast  # kept


def test_no_dose_no_expected_course(db, clinician, patient_id):
    course = expected_course(db, clinician, patient_id)
    assert course.forecast is None
    assert course.reason == "no cell-therapy administration recorded yet"


def test_overview_needs_identified_access(db, actors, treated):
    overview = patient_overview(db, actors[Role.COORDINATOR], treated)
    assert overview.analytes == {"treg_pct_cd4": "Treg (% of CD4⁺)"}
    assert overview.status.baseline_pasi == 10.0
    for role in (Role.RESEARCHER, Role.PATIENT):
        for read in (patient_overview, score_series, expected_course):
            with pytest.raises(PermissionDenied):
                read(db, actors[role], treated)


def test_the_page_shows_the_open_alerts_list_alerts_gives(db, actors, patient_id):
    """The page takes the open alerts from the flags its timeline read: the same alerts, in
    the same order, as ``list_alerts`` for the patient; acknowledged and closed ones left out,
    a tie on the moment raised broken by the newer flag first."""
    from psotrack.services.flags import (
        acknowledge_alert,
        close_alert,
        list_alerts,
        new_flag,
        store_flag,
    )
    from psotrack.store.models import SafetyFlag
    from psotrack.store.vocabulary import FlagKind

    clinician = actors[Role.CLINICIAN]
    moments = [datetime(2026, 2, day, 9, 0, tzinfo=UTC) for day in (3, 1, 5, 5, 2)]
    with db.transaction() as session:
        flags = [
            store_flag(
                session,
                clinician,
                new_flag(
                    patient_id=patient_id,
                    kind=FlagKind.LOW_VIABILITY,
                    entity="administrations",
                    entity_id=number,
                    message=f"viability below threshold ({number})",
                    coded_message=f"viability below threshold ({number})",
                ),
            )
            for number in range(len(moments))
        ]
        session.flush()
        for flag, moment in zip(flags, moments, strict=True):
            flag.raised_at = moment
        ids = [flag.id for flag in flags]
    acknowledge_alert(db, clinician, ids[0], "seen")
    close_alert(db, clinician, ids[4], "dealt with")
    shown = patient_overview(db, clinician, patient_id).alerts
    assert list(shown) == list_alerts(db, clinician, patient_id=patient_id)
    assert [alert.id for alert in shown] == [ids[3], ids[2], ids[1]]  # 5 Feb (twice), 1 Feb
    with db.transaction() as session:
        assert session.get(SafetyFlag, ids[1]).is_open
        assert not session.get(SafetyFlag, ids[0]).is_open
