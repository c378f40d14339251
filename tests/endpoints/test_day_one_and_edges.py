"""Endpoints at their edges, each worked out by hand: a visit on day 1 (the first post-baseline
day), an arm recorded only on a later row, LOCF with no post-baseline visit, a group of one
patient, and baselines of PGA/DLQI that were never measured.

Written after the mutation sample of issue 14 (docs/mutation.md) found these cases unpinned.
"""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints import (
    FlareRule,
    LossOfResponseRule,
    derive_baseline,
    derive_flares,
    derive_patient_endpoints,
    derive_responders,
    derive_response_rates,
    derive_time_to_event,
    derive_time_to_loss,
    derive_time_to_relapse,
)

# Day 0 is the first treatment, so day 1 is post-baseline. Both patients start at PASI 10.0:
# "r" 10 → 2.0 on day 1 (80 %), then 6.0 on day 28 (40 %: lost PASI 50, gave back 4 of the 8
#     points gained on day 1, and rose 4.0 above its best of 2.0: a flare);
# "s" 10 → 2.5 on day 1 (exactly 75 %), then 2.0 on day 28 (80 %: PASI 75 held).
DAY_ONE = pl.DataFrame(
    {
        "patient_id": ["r", "r", "r", "s", "s", "s"],
        "visit": ["W0", "D1", "W4"] * 2,
        "day": [0, 1, 28] * 2,
        "pasi": [10.0, 2.0, 6.0, 10.0, 2.5, 2.0],
    }
)


def test_day_one_is_after_baseline() -> None:
    base = derive_baseline(DAY_ONE)
    assert base["base"].to_list() == [10.0] * 6
    flags = derive_responders(DAY_ONE).select("day", "chg", "pasi50", "pasi75", "pasi90").rows()
    assert flags == [
        (0, None, None, None, None),
        (1, -8.0, 1, 1, 0),
        (28, -4.0, 0, 0, 0),
        (0, None, None, None, None),
        (1, -7.5, 1, 1, 0),
        (28, -8.0, 1, 1, 0),
    ]


def test_day_one_response_starts_the_durability_endpoints() -> None:
    out = derive_patient_endpoints(DAY_ONE, stop_day=1, flare_rule=FlareRule())
    assert out.to_dicts() == [
        {
            "patient_id": "r",
            "arm": None,
            "base": 10.0,
            "best_pchg": -80.0,
            "first_pasi50_day": 1,
            "first_pasi75_day": 1,
            "first_pasi90_day": None,
            "first_pasi100_day": None,
            "pasi75_sustained": False,
            "loss_of_response_day": 28,
            "relapse_day": 28,
            "first_flare_day": 28,
            "flare_count": 1,
        },
        {
            "patient_id": "s",
            "arm": None,
            "base": 10.0,
            "best_pchg": -80.0,
            "first_pasi50_day": 1,
            "first_pasi75_day": 1,
            "first_pasi90_day": None,
            "first_pasi100_day": None,
            # reached on day 1 and never below 75 % afterwards
            "pasi75_sustained": True,
            "loss_of_response_day": None,
            "relapse_day": None,
            "first_flare_day": None,
            "flare_count": 0,
        },
    ]


def test_day_one_time_to_event_loss_and_relapse() -> None:
    assert derive_time_to_event(DAY_ONE).rows() == [("r", None, 1, 1), ("s", None, 1, 1)]
    # r loses PASI 50 on day 28, 27 days after reaching PASI 75; s is censored at day 28
    assert derive_time_to_loss(DAY_ONE).rows() == [("r", None, 1, 27, 1), ("s", None, 1, 27, 0)]
    # stopped after day 1: r gave back half of its 8-point gain by day 28, s did not
    assert derive_time_to_relapse(DAY_ONE, stop_day=1).rows() == [
        ("r", None, 27, 1),
        ("s", None, 27, 0),
    ]


def test_day_one_visit_is_a_rate_visit() -> None:
    out = derive_response_rates(DAY_ONE, by=None)
    assert out.select("arm", "visit", "day", "n", "responders").rows() == [
        ("all", "D1", 1, 2, 2),
        ("all", "W4", 28, 2, 1),
    ]


def test_time_to_event_without_an_arm_column_has_an_empty_arm() -> None:
    out = derive_time_to_event(DAY_ONE)
    assert out.columns == ["patient_id", "arm", "time", "event"]
    assert out.schema["arm"] == pl.String


def test_time_to_loss_ignores_a_low_screening_value() -> None:
    # Screening PASI 2.0 on day −14 is before treatment: it is not a response. Baseline is the
    # day-0 10.0; PASI 75 on day 28 (2.5), lost on day 56 (6.0 is a 40 % improvement).
    rows = pl.DataFrame(
        {
            "patient_id": ["a"] * 4,
            "arm": ["X"] * 4,
            "visit": ["SCR", "W0", "W4", "W8"],
            "day": [-14, 0, 28, 56],
            "pasi": [2.0, 10.0, 2.5, 6.0],
        }
    )
    out = derive_time_to_loss(rows)
    assert out.columns == ["patient_id", "arm", "start_day", "time", "event"]
    assert out.rows() == [("a", "X", 28, 28, 1)]
    assert derive_time_to_event(rows).rows() == [("a", "X", 28, 1)]


# Arms: "a" on its first row only, "b" on a later row only, "c" on none.
ARMS = pl.DataFrame(
    {
        "patient_id": ["a", "a", "b", "b", "b", "c", "c"],
        "arm": ["A", None, None, "B", None, None, None],
        "visit": ["W0", "W4", "W0", "W4", "W8", "W0", "W4"],
        "day": [0, 28, 0, 28, 56, 0, 28],
        "pasi": [10.0, 5.0, 10.0, 5.0, 4.0, 10.0, 9.0],
    }
)


def test_a_patients_arm_is_taken_from_any_row_that_has_one() -> None:
    assert derive_flares(ARMS)["arm"].to_list() == ["A", "B", None]
    assert derive_patient_endpoints(ARMS)["arm"].to_list() == ["A", "B", None]
    shuffled = ARMS.sample(fraction=1.0, shuffle=True, seed=3)
    assert derive_patient_endpoints(shuffled)["arm"].to_list() == ["A", "B", None]


def test_a_single_row_without_an_arm() -> None:
    row = pl.DataFrame(
        {"patient_id": ["a"], "arm": [None], "visit": ["W0"], "day": [0], "pasi": [10.0]},
        schema_overrides={"arm": pl.String},
    )
    assert derive_flares(row).rows() == [("a", None, None, 0)]


def test_locf_with_no_post_baseline_visit_is_an_empty_table() -> None:
    rows = pl.DataFrame(
        {"patient_id": ["a", "b"], "arm": ["X", "Y"], "visit": ["W0"] * 2, "day": [0, 0]}
    ).with_columns(pasi=pl.Series([10.0, 8.0]))
    for missing in ("locf", "nri", "observed"):
        out = derive_response_rates(rows, missing=missing)  # type: ignore[arg-type]
        assert out.height == 0
        assert out.columns == [
            "arm",
            "visit",
            "day",
            "n",
            "responders",
            "rate",
            "ci_low",
            "ci_high",
            "missing",
            "denominator",
            "ci",
        ]


def test_a_group_of_one_patient_gets_its_exact_interval() -> None:
    # Clopper–Pearson for n = 1: 1/1 → (α/2)^(1/n) = 0.025 to 1; 0/1 → 0 to 1 − 0.025 = 0.975.
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b"],
            "arm": ["X", "X", "Y", "Y"],
            "visit": ["W0", "W4"] * 2,
            "day": [0, 28] * 2,
            "pasi": [10.0, 2.5, 10.0, 9.0],
        }
    )
    out = derive_response_rates(rows).select("arm", "n", "responders", "rate", "ci_low", "ci_high")
    assert out.rows() == [
        ("X", 1, 1, 1.0, pytest.approx(0.025, abs=1e-12), 1.0),
        ("Y", 1, 0, 0.0, 0.0, pytest.approx(0.975, abs=1e-12)),
    ]


def test_rates_without_any_patient_counted_keep_float_columns() -> None:
    # Observed cases at a visit nobody attended: n = 0, no rate and no interval, but the columns
    # stay Float64 (a table of nothing but nulls would otherwise turn into the Null type).
    rows = pl.DataFrame(
        {"patient_id": ["a", "a"], "arm": ["X", "X"], "visit": ["W0", "W4"], "day": [0, 28]}
    ).with_columns(pasi=pl.Series([10.0, None]))
    out = derive_response_rates(rows, missing="observed")
    assert out.select("n", "rate", "ci_low", "ci_high").rows() == [(0, None, None, None)]
    assert [out.schema[c] for c in ("rate", "ci_low", "ci_high")] == [pl.Float64] * 3


def test_pga_and_dlqi_baselines_never_measured_are_empty() -> None:
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b"],
            "visit": ["W0", "W4"] * 2,
            "day": [0, 28] * 2,
            "pasi": [10.0, 5.0, 8.0, 4.0],
            "pga": [None, 2, 3, 1],
            "dlqi": [12, 3, None, 0],
        }
    )
    out = derive_baseline(rows).select("patient_id", "base_pga", "base_dlqi").rows()
    assert out == [("a", None, 12), ("a", None, 12), ("b", 3, None), ("b", 3, None)]


def test_loss_of_response_after_a_level_other_than_50_75_90_100() -> None:
    # reached PASI 60 on day 28 (10 → 4.0), below PASI 50 on day 56 (6.0 is 40 %): lost on day 56;
    # PASI 75 was never reached, so the default rule finds no loss
    rows = pl.DataFrame(
        {
            "patient_id": ["a"] * 3,
            "visit": ["W0", "W4", "W8"],
            "day": [0, 28, 56],
            "pasi": [10.0, 4.0, 6.0],
        }
    )
    rule = LossOfResponseRule(reached=60, lost_below=50)
    assert derive_patient_endpoints(rows, loss_rule=rule)["loss_of_response_day"].to_list() == [56]
    assert derive_patient_endpoints(rows)["loss_of_response_day"].to_list() == [None]
    assert derive_time_to_loss(rows, rule).rows() == [("a", None, 28, 28, 1)]
