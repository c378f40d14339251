"""Per-patient durability endpoints and time-to-event rows, on hand-computed patients."""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints import (
    FlareRule,
    LossOfResponseRule,
    derive_flares,
    derive_patient_endpoints,
    derive_time_to_event,
    derive_time_to_loss,
    derive_time_to_relapse,
    prepare_assessments,
)
from psotrack.errors import ValidationError
from psotrack.stats import time_to_relapse

DAYS = (0, 28, 56, 84, 112, 140)


def _cohort(series: dict[str, list[float | None]], arm: str = "A") -> pl.DataFrame:
    records = [
        (patient, arm, f"D{day}", day, value)
        for patient, values in series.items()
        for day, value in zip(DAYS, values, strict=False)
    ]
    return pl.DataFrame(
        records, schema=["patient_id", "arm", "visit", "day", "pasi"], orient="row"
    ).sample(fraction=1.0, shuffle=True, seed=4)


COHORT = _cohort(
    {
        # reaches 75 at 56 (20 → 5.0 is exactly 75 %), holds it (a missed visit is ignored)
        "sus": [20.0, 12.0, 5.0, None, 4.0, 2.0],
        # reaches 75 at 28, 90 at 56, falls to 45 % at 112 (11.0 of 20): loss at 112
        "lost": [20.0, 5.0, 2.0, 8.0, 11.0, 12.0],
        # never reaches 75; 50 at 56
        "partial": [10.0, 8.0, 5.0, 6.0, 6.0, 5.5],
        # baseline 0: not evaluable
        "zero": [0.0, 1.0, 2.0, 0.0, 0.0, 0.0],
    }
)


def _by_patient(frame: pl.DataFrame) -> dict[str, dict[str, object]]:
    return {row["patient_id"]: row for row in frame.iter_rows(named=True)}


def test_first_response_days_sustained_and_loss() -> None:
    out = derive_patient_endpoints(COHORT)
    assert out["patient_id"].to_list() == ["lost", "partial", "sus", "zero"]
    rows = _by_patient(out)
    assert rows["sus"]["first_pasi50_day"] == 56
    assert rows["sus"]["first_pasi75_day"] == 56
    assert rows["sus"]["first_pasi90_day"] == 140
    assert rows["sus"]["first_pasi100_day"] is None
    assert rows["sus"]["pasi75_sustained"] is True
    assert rows["sus"]["loss_of_response_day"] is None
    assert rows["sus"]["best_pchg"] == pytest.approx(-90.0)
    assert rows["lost"]["first_pasi75_day"] == 28 and rows["lost"]["first_pasi90_day"] == 56
    assert rows["lost"]["pasi75_sustained"] is False
    # 8.0 at day 84 is 60 % (still PASI 50); 11.0 at 112 is 45 %
    assert rows["lost"]["loss_of_response_day"] == 112
    assert rows["partial"]["first_pasi50_day"] == 56 and rows["partial"]["first_pasi75_day"] is None
    assert rows["partial"]["pasi75_sustained"] is False
    assert rows["partial"]["loss_of_response_day"] is None
    # A baseline of 0 is printed as 0.0; only the relative endpoints are empty.
    assert rows["zero"]["base"] == 0.0 and rows["zero"]["pasi75_sustained"] is None
    assert rows["zero"]["first_pasi50_day"] is None and rows["zero"]["best_pchg"] is None
    assert {r["arm"] for r in rows.values()} == {"A"}


def test_loss_rule_is_configurable() -> None:
    # lose PASI 75 (fall below 75 %) after reaching PASI 90: 'lost' reaches 90 at 56, 8.0 at 84
    rule = LossOfResponseRule(reached=90, lost_below=75)
    rows = _by_patient(derive_patient_endpoints(COHORT, loss_rule=rule))
    assert rows["lost"]["loss_of_response_day"] == 84
    assert rows["sus"]["loss_of_response_day"] is None
    with pytest.raises(ValidationError, match="lost_below"):
        LossOfResponseRule(reached=50, lost_below=75)


def test_relapse_after_stopping() -> None:
    # stop at day 56: 'lost' best on therapy 2.0 → max improvement 18.0; half of it given back
    # at PASI ≥ 11.0 → 112 (8.0 at 84 has given back 6.0 only). 'sus': best on therapy 5.0,
    # improvement 15.0, never rises 7.5 above 5.0 → no relapse.
    rows = _by_patient(derive_patient_endpoints(COHORT, stop_day=56))
    assert rows["lost"]["relapse_day"] == 112
    assert rows["sus"]["relapse_day"] is None
    assert rows["zero"]["relapse_day"] is None
    assert "relapse_day" not in derive_patient_endpoints(COHORT).columns


def test_relapse_boundary_is_inclusive() -> None:
    # base 10.0, best 2.0 on therapy (improvement 8.0): 6.0 gives back exactly 50 % → relapse
    frame = _cohort({"r": [10.0, 2.0, 5.9, 6.0]})
    assert derive_patient_endpoints(frame, stop_day=28)["relapse_day"].to_list() == [84]


def test_flares_over_running_best() -> None:
    # running best: 12.0, 6.0, 6.0, 4.0 …; 9.0 at 84 is +50 % over 6.0 → flare; 4.0; 5.9 is
    # +47.5 % over 4.0 → none; then 6.0 at 140 is +50 % → second episode
    frame = _cohort({"f": [20.0, 12.0, 6.0, 9.0, 4.0, 5.9]})
    assert derive_flares(frame).row(0) == ("f", "A", 84, 1)
    frame = _cohort({"f": [20.0, 12.0, 6.0, 9.0, 9.5, 6.0]})
    # 9.0 and 9.5 both flare (one episode), 6.0 does not
    assert derive_flares(frame).select("first_flare_day", "flare_count").row(0) == (84, 1)
    frame = _cohort({"f": [20.0, 0.0, 0.1, 0.0, 0.6, 0.0]})
    # from a best of 0, any rise ≥ min_rise_tenths (default 0.1) flares: two episodes
    assert derive_flares(frame)["flare_count"].to_list() == [2]
    strict = derive_flares(frame, FlareRule(min_rise_tenths=5))
    assert strict.select("first_flare_day", "flare_count").row(0) == (112, 1)
    joined = derive_patient_endpoints(frame, flare_rule=FlareRule())
    assert joined.select("first_flare_day", "flare_count").row(0) == (56, 2)


def test_time_to_event_rows() -> None:
    out = _by_patient(derive_time_to_event(COHORT, threshold=75))
    assert set(out) == {"sus", "lost", "partial"}  # 'zero' is not evaluable
    assert (out["sus"]["time"], out["sus"]["event"]) == (56, 1)
    assert (out["lost"]["time"], out["lost"]["event"]) == (28, 1)
    assert (out["partial"]["time"], out["partial"]["event"]) == (140, 0)
    no_follow_up = _cohort({"n": [10.0, None, None]})
    assert derive_time_to_event(no_follow_up).select("time", "event").row(0) == (0, 0)


def test_duration_of_response_rows() -> None:
    out = _by_patient(derive_time_to_loss(COHORT))
    assert set(out) == {"sus", "lost"}
    assert (out["lost"]["start_day"], out["lost"]["time"], out["lost"]["event"]) == (28, 84, 1)
    assert (out["sus"]["start_day"], out["sus"]["time"], out["sus"]["event"]) == (56, 84, 0)


def test_prepared_assessments_give_the_same_answers() -> None:
    prepared = prepare_assessments(COHORT)
    assert derive_patient_endpoints(prepared).equals(derive_patient_endpoints(COHORT))
    assert derive_time_to_event(prepared).equals(derive_time_to_event(COHORT))


RELAPSE_COHORT = pl.concat(
    [
        COHORT,
        _cohort(
            {
                # stops at 56 with no later visit: never seen off therapy, no row
                "short": [10.0, 2.0, 2.0, None, None, None],
                # best 2.0 on therapy (gain 8.0), 4.0 at 84 gives back 2.0 < 4.0; then lost
                "gone": [10.0, 2.0, 2.0, 4.0, None, None],
            }
        ),
    ]
)


def test_time_to_relapse_rows_count_from_the_stop_day() -> None:
    # stop 56. 'lost': best 2.0 on therapy, relapse at 112 (see test_relapse_after_stopping):
    # time 112 − 56 = 56. 'sus': no relapse, censored at its last PASI after 56 (140; 84 is
    # missed): 84. 'partial': best 5.0 (gain 5.0), never 7.5 again: censored at 140 → 84.
    # 'gone': censored at 84 → 28. 'zero' is not evaluable and 'short' has no visit after 56.
    out = _by_patient(derive_time_to_relapse(RELAPSE_COHORT, stop_day=56))
    assert {k: (v["time"], v["event"], v["arm"]) for k, v in out.items()} == {
        "gone": (28, 0, "A"),
        "lost": (56, 1, "A"),
        "partial": (84, 0, "A"),
        "sus": (84, 0, "A"),
    }
    endpoints = derive_patient_endpoints(RELAPSE_COHORT, stop_day=56)
    relapsed = endpoints.filter(pl.col("relapse_day").is_not_null())["patient_id"].to_list()
    assert [k for k, v in out.items() if v["event"] == 1] == relapsed


def test_time_to_relapse_percent_and_boundary() -> None:
    # base 10.0, best 2.0 by day 28 (gain 8.0): 6.0 at 84 gives back exactly 50 % → relapse at
    # 84, time 56; with relapse_percent=60 it needs 6.8, never reached → censored at 84.
    frame = _cohort({"r": [10.0, 2.0, 5.9, 6.0]})
    assert derive_time_to_relapse(frame, stop_day=28).select("time", "event").row(0) == (56, 1)
    stricter = derive_time_to_relapse(frame, stop_day=28, relapse_percent=60)
    assert stricter.select("time", "event").row(0) == (56, 0)
    with pytest.raises(ValidationError, match="stop_day"):
        derive_time_to_relapse(frame, stop_day=28.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="relapse_percent"):
        derive_time_to_relapse(frame, stop_day=28, relapse_percent=0)


def test_time_to_relapse_rows_feed_kaplan_meier() -> None:
    # Rows (28, 0), (56, 1), (84, 0), (84, 0): at day 56 three are at risk and one relapses,
    # so relapse-free survival is 2/3 from day 56 on; the median is not reached.
    rows = derive_time_to_relapse(prepare_assessments(RELAPSE_COHORT), stop_day=56)
    fitted = time_to_relapse(rows).curve()
    assert (fitted.n, fitted.events) == (4, 1)
    assert fitted.survival_at(55) == 1.0
    assert fitted.survival_at(56) == pytest.approx(2 / 3, abs=1e-12)
    assert fitted.median is None


def test_time_to_relapse_keeps_responders_on_therapy_unless_asked_otherwise():
    from psotrack.endpoints import derive_time_to_relapse

    rows = pl.DataFrame(
        {
            "patient_id": ["r"] * 4 + ["n"] * 4,
            "visit": ["W0", "W4", "W8", "W12"] * 2,
            "day": [0, 28, 56, 84] * 2,
            # r: 10 → 4 (PASI 60) on therapy, then back to 8; n: 10 → 9.9, never PASI 50.
            "pasi": [10.0, 4.0, 8.0, 9.0, 10.0, 9.9, 10.0, 10.0],
        }
    )
    default = derive_time_to_relapse(rows, stop_day=28)
    assert default.select("patient_id", "time", "event").rows() == [("r", 28, 1)]
    everyone = derive_time_to_relapse(rows, stop_day=28, responders=None)
    assert everyone["patient_id"].to_list() == ["n", "r"]
    only_pasi75 = derive_time_to_relapse(rows, stop_day=28, responders=75)
    assert only_pasi75.height == 0
    with pytest.raises(ValidationError, match="responders=60"):
        derive_time_to_relapse(rows, stop_day=28, responders=60)
