"""Biologics that differ in mechanism (issue 18): IL-17, IL-23 (p19) and IL-12/23 (p40) blockers.

Known answers: the untreated right-hand side at both published steady states (Shmarov et al.
PLoS Comput Biol 2022;18:e1010267) must not change with the new terms; hand-computed Th17/Th1
recruitment under a fixed blockade; the label schedules' dose days; the clinical order of the
fitted first-order PASI decline rates (IL-17 fastest, IL-12/23 slowest; models.md, 0.11 vs
0.016/day); the first-order fit recovers hand-made exact curves.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from psotrack.errors import ValidationError
from psotrack.model import states as s
from psotrack.model.biologics import (
    first_order_curve,
    first_order_decline,
    relapse_events,
    relapse_median,
)
from psotrack.model.equations import SiteInputs, blocker_constants, rhs
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import build_population, simulate_arm
from psotrack.model.solver import published_state
from psotrack.model.therapies import build_inputs, parse_schedule

ANTI_IL17 = "anti-il17 x5 q1w then x8 q4w"
ANTI_IL23 = "anti-il23 x2 q4w then x6 q8w"
ANTI_P40 = "anti-il12/23 x2 q4w then x4 q12w"


def _shmarov_rhs(kind: str) -> np.ndarray:
    """The published core's right-hand side (sum T = Th17 + Th1), written out independently."""
    y = published_state(kind, ModelParameters())[0]
    t_cells, il17, tnf = y[s.TH17] + y[s.TH1], y[s.IL17], y[s.TNF]
    sig, sc, ta, d = y[s.SIGNAL], y[s.STEM], y[s.TRANSIT], y[s.DIFFERENTIATED]
    c = il17 + tnf
    return np.array(
        [
            1880 + 6000 * sig**4 / (3e12 + sig**4) - 1.5136 * y[s.DC],
            y[s.DC] - 36.5 * y[s.IL23],
            55 * y[s.IL23] - 1.5136 * t_cells,
            0.5 * t_cells - 36.5 * il17,  # Shmarov: IL17' = 0.5·T − 36.5·IL17
            sc + ta - 36.5 * sig,
            0.0017635 * c * sc - 1.8135e-5 * sc**2 - 0.0036 * sc,
            0.0015415 * c * sc + 0.0017562 * c * ta - 3.7321e-6 * ta**2 - 0.0036 * ta,
            0.0018063 * c * ta - 5.05e-7 * d**2 - (0.0036 + 0.0047529) * d,
        ]
    )


@pytest.mark.parametrize("kind", ["healthy", "plaque"])
def test_untreated_rhs_at_both_published_steady_states_is_shmarovs(kind: str) -> None:
    p = ModelParameters()
    y = published_state(kind, p)
    ours = rhs(0.0, y, p, SiteInputs.untreated(1))[0]
    mine = np.array(
        [
            ours[s.DC],
            ours[s.IL23],
            ours[s.TH17] + ours[s.TH1],
            ours[s.IL17],
            ours[s.SIGNAL],
            ours[s.STEM],
            ours[s.TRANSIT],
            ours[s.DIFFERENTIATED],
        ]
    )
    # Production terms of the core, each compared to 1e-9 of its own size.
    scale = np.abs(y[0, [s.DC, s.IL23, s.TH17, s.IL17, s.SIGNAL, s.STEM, s.TRANSIT]]).max()
    np.testing.assert_allclose(mine, _shmarov_rhs(kind), rtol=0, atol=1e-9 * scale)
    # The new terms with every new parameter moved: untreated, nothing changes.
    moved = replace(p, trm_share=0.9, trm_half_life=5.0, il17_signal_share=1.0)
    again = rhs(0.0, y, moved, SiteInputs.untreated(1))[0]
    np.testing.assert_allclose(again, ours, rtol=1e-9, atol=1e-9)
    assert ours[s.TRM_DEPLETION] == 0.0


def _inputs(schedule: str) -> SiteInputs:
    return build_inputs([parse_schedule(schedule)])[0]


#: Round values for the hand computations (not the calibrated defaults).
HAND = {
    "blocker_il17_ec50": 2.0,
    "blocker_il17_emax": 0.6,
    "blocker_il23_ec50": 0.5,
    "blocker_il23_emax": 0.9,
    "blocker_p40_ec50": 1.0,
    "blocker_p40_emax": 0.8,
    "trm_share": 0.4,
    "trm_half_life": 60.0,
    "il17_signal_share": 0.8,
    "il12_th1_share": 1.0,  # p40 removes all of Th1 recruitment's IL-12 drive (default 0)
}


def test_p19_block_leaves_th1_recruitment_and_p40_blocks_both() -> None:
    p = replace(ModelParameters(), **HAND)
    y = published_state("plaque", p)
    y[0, s.BLOCKER_CENTRAL] = 2.0
    untreated = rhs(0.0, y, p, SiteInputs.untreated(1))[0]
    p19, p40 = (rhs(0.0, y, p, _inputs(a))[0] for a in ("anti-il23", "anti-p40"))
    loss_th1 = 1.5136 * y[0, s.TH1]
    recruit_th1 = untreated[s.TH1] + loss_th1
    recruit_th17 = untreated[s.TH17] + 1.5136 * y[0, s.TH17]
    # Hand-computed: B = Emax·C/(EC50 + C) with the drug's own constants.
    b19 = 0.9 * 2.0 / (0.5 + 2.0)
    b40 = 0.8 * 2.0 / (1.0 + 2.0)
    theta = 0.4  # TRM share; depletion 0 at the start: the memory share is untouched
    assert p19[s.TH1] + loss_th1 == pytest.approx(recruit_th1, rel=1e-12)
    assert p19[s.TH17] + 1.5136 * y[0, s.TH17] == pytest.approx(
        recruit_th17 * ((1 - theta) * (1 - b19) + theta), rel=1e-12
    )
    assert p40[s.TH1] + loss_th1 == pytest.approx(recruit_th1 * (1 - b40), rel=1e-12)
    assert p40[s.TH17] + 1.5136 * y[0, s.TH17] == pytest.approx(
        recruit_th17 * ((1 - theta) * (1 - b40) + theta), rel=1e-12
    )
    # IL-23 blockade depletes resident memory; anti-IL-17 does not, but cuts the signal.
    assert p19[s.TRM_DEPLETION] == pytest.approx(math.log(2) / 60.0 * b19)
    il17 = rhs(0.0, y, p, _inputs("anti-il17"))[0]
    b17 = 0.6 * 2.0 / (2.0 + 2.0)
    assert il17[s.TRM_DEPLETION] == 0.0 and il17[s.TH1] == pytest.approx(untreated[s.TH1])
    made = y[0, s.STEM] + y[0, s.TRANSIT]
    assert il17[s.SIGNAL] + 36.5 * y[0, s.SIGNAL] == pytest.approx(made * (1 - 0.8 * b17))


def test_each_drug_has_its_label_half_life() -> None:
    p = ModelParameters()
    for arm, half_life in (("anti-il17", 27.0), ("anti-il23", 17.0), ("anti-il12/23", 21.0)):
        pk = blocker_constants(p, _inputs(arm), 1)
        assert math.log(2) / pk.elimination[0] == pytest.approx(half_life)


def test_trm_depletion_recovers_slowly_after_il23_blockade_stops() -> None:
    # Label: Tremfya t½ 15–18 days. After the drug is gone, depletion decays at ln 2/60 per day.
    from psotrack.model.solver import simulate

    p = replace(ModelParameters(), **HAND)
    y0 = published_state("plaque", p)
    inputs, dosing = build_inputs([parse_schedule("anti-il23 x2 q4w")])
    out = simulate(p, y0, [0, 84, 365, 425], inputs, dosing)
    depletion = out[:, 0, s.TRM_DEPLETION]
    assert depletion[1] > 0.2  # depleted on therapy (B23 ≈ 0.7–0.8, t½ 60 days: 0.26)
    assert 0 < depletion[3] < depletion[2]
    # Blocker washed out (10 half-lives): pure first-order recovery at the TRM rate.
    assert depletion[3] / depletion[2] == pytest.approx(math.exp(-math.log(2) * 60 / 60), rel=0.05)


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    population = build_population(60, 5)
    days = list(range(0, 85, 7))
    return {a: simulate_arm(population, a, days, seed=6) for a in (ANTI_IL17, ANTI_IL23, ANTI_P40)}


def test_first_order_rate_order_is_il17_then_il23_then_p40(
    frames: dict[str, pl.DataFrame],
) -> None:
    # The clinical order (models.md: secukinumab ≈ 0.11/day > ustekinumab ≈ 0.016/day; IL-23
    # p19 between). At n = 60, seed 5 the fitted rates are about 0.073, 0.053 and 0.050/day.
    rate = {a: first_order_decline(f)["rate_per_day"][0] for a, f in frames.items()}
    assert rate[ANTI_IL17] > rate[ANTI_IL23] > rate[ANTI_P40] > 0


@pytest.mark.parametrize(("k", "reduction"), [(0.11, 0.9), (0.016, 1.0), (0.05, 0.6), (0.3, 0.97)])
def test_first_order_fit_recovers_an_exact_curve(k: float, reduction: float) -> None:
    # Three patients of different baselines on the same exact curve (1 − I) + I·e^(−k·t), so the
    # median PASI ratio at every weekly visit is the curve itself; a fourth patient with a
    # baseline PASI of 0 is not evaluable and must be left out.
    days = np.arange(0.0, 85.0, 7.0)
    ratio = (1 - reduction) + reduction * np.exp(-k * days)
    rows = [
        {"arm": "a", "patient_id": pid, "day": day, "pasi": base * r}
        for pid, base in ((1, 12.0), (2, 20.0), (3, 35.5), (4, 0.0))
        for day, r in zip(days.tolist(), ratio.tolist(), strict=True)
    ]
    fit = first_order_decline(pl.DataFrame(rows)).row(0, named=True)
    assert fit["rate_per_day"] == pytest.approx(k, abs=1e-6)
    assert fit["max_reduction"] == pytest.approx(reduction, abs=1e-6)
    assert (fit["visits"], fit["n"]) == (13, 3)
    np.testing.assert_allclose(first_order_curve(days, k, reduction), ratio, rtol=1e-12)


def test_first_order_fit_is_per_arm_and_ignores_visits_after_the_window() -> None:
    days = [0.0, 7.0, 14.0, 28.0, 56.0, 84.0, 168.0]
    rows = []
    for arm, k, reduction in (("fast", 0.11, 0.95), ("slow", 0.016, 1.0)):
        curve = first_order_curve(days, k, reduction).tolist()
        curve[-1] = 1.0  # a relapse after day 84 must not change the fit of days 0–84
        rows += [
            {"arm": arm, "patient_id": 1, "day": d, "pasi": 20 * r}
            for d, r in zip(days, curve, strict=True)
        ]
    fit = first_order_decline(pl.DataFrame(rows))
    assert fit["arm"].to_list() == ["fast", "slow"]
    np.testing.assert_allclose(fit["rate_per_day"].to_numpy(), [0.11, 0.016], atol=1e-6)
    np.testing.assert_allclose(fit["max_reduction"].to_numpy(), [0.95, 1.0], atol=1e-6)


def test_first_order_fit_refuses_too_few_visits_or_no_baseline() -> None:
    frame = pl.DataFrame(
        {
            "arm": ["a"] * 3,
            "patient_id": [1] * 3,
            "day": [0.0, 14.0, 28.0],
            "pasi": [10.0, 5.0, 2.5],
        }
    )
    with pytest.raises(ValidationError, match="three or more visits") as caught:
        first_order_decline(frame.filter(pl.col("day") < 28))
    assert "\n" not in str(caught.value)
    with pytest.raises(ValidationError, match="frame='a'"):
        first_order_decline(frame.filter(pl.col("day") > 0))


def test_relapse_uses_the_endpoint_engines_rule() -> None:
    # Patient 1 responds (PASI 75 by day 28) and gives back half its improvement by day 84;
    # patient 2 responds and stays clear (censored); patient 3 never responds (no row).
    frame = pl.DataFrame(
        {
            "arm": ["x"] * 12,
            "patient_id": [1] * 4 + [2] * 4 + [3] * 4,
            "day": [0.0, 28.0, 56.0, 84.0] * 3,
            "pasi": [20.0, 2.0, 6.0, 12.0, 20.0, 1.0, 1.0, 2.0, 20.0, 18.0, 18.0, 19.0],
        }
    )
    events = relapse_events(frame, stop_day=28)
    assert events.select("patient_id", "time", "event").rows() == [("1", 56, 1), ("2", 56, 0)]
    median, responders, relapses = relapse_median(frame, stop_day=28)
    # KM: S falls to 1/2 at day 56 (relapse of 1 of 2 at risk); the median is where S ≤ 1/2.
    assert (median, responders, relapses) == (56.0, 2, 1)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("anti-il17 x5 q1w then x2 q4w", [0, 7, 14, 21, 28, 56, 84]),
        ("anti-il23 x2 q4w then x2 q8w", [0, 28, 84, 140]),
        ("anti-il12/23 x2 q4w then x1 q12w + topical:0.2", [0, 28, 112]),
        ("anti-p40:0.5 x1 @1w then x2 q12w", [7, 91, 175]),
    ],
)
def test_loading_then_maintenance_doses(text: str, days: list[int]) -> None:
    schedule = parse_schedule(text)
    assert schedule.blocker is not None
    assert schedule.blocker.doses.days() == days


def test_drug_names_map_to_their_blockade_flags() -> None:
    for text, flags in (
        ("anti-il17", (1, 0, 0)),
        ("anti-il23", (0, 1, 0)),
        ("anti-il12/23", (0, 1, 1)),
        ("anti-p40", (0, 1, 1)),
    ):
        inputs = _inputs(text)
        assert (inputs.il17_block[0], inputs.il23_block[0], inputs.il12_block[0]) == flags
    assert parse_schedule("uc-msc-iv:1.5e+06/kg x4 q2w+anti-il17 x7 q4w").blocker is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("anti-il17 x5 q1w then", "cannot read 'anti-il17 x5 q1w then'"),
        ("anti-il17 x5 q1w then x8", "cannot read the maintenance phase 'x8'"),
        ("anti-il17 x5 q1w then x0 q4w", "'then' needs x<count> ≥ 1"),
        ("anti-il17 x5 q1w then x8 q0w", "'then' needs x<count> ≥ 1"),
        ("anti-il17 x5 q1w then x2 q4w then x2 q4w", "cannot read the maintenance phase"),
        ("anti-il17 x5 q1w then x\u0663 q4w", "cannot read the maintenance phase"),
        ("anti-il17 x30 q1w then x30 q4w", "60 doses in all is more than 52"),
        ("anti-il17 x5 q1w then x20 q52w", "beyond day 1826"),
        ("anti-il99 x2 q4w", "cannot read 'anti-il99 x2 q4w'"),
        ("uc-msc-iv:1e6/kg x2 q2w then x2 q4w", "cannot read"),
    ],
)
def test_bad_loading_schedules_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match="schedule=") as caught:
        parse_schedule(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
