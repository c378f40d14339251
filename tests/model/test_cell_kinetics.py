"""Cell kinetics of infused MSCs and the null scenario (issue 18), with known answers.

The review measured, on the model before cell kinetics (dose straight into the paracrine pool;
reproduced by the first version of this file, commit "Tests reproducing the review's MSC
findings"): one 1.5 × 10⁶ cells/kg IV infusion lowered the median PASI by 26 % at day 3 and 44 %
at day 7, 37 % of virtual patients halved their PASI within a week (seed 7, n = 300), no MSC
Emax could be 0, and the control arm never moved. The tests below hold the fixed behaviour.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from scipy.stats import fisher_exact

from psotrack.errors import ValidationError
from psotrack.model import states as s
from psotrack.model.parameters import MSC_EMAX, ModelParameters, without_msc_effect
from psotrack.model.population import Population, build_population, simulate_arm, simulate_sites
from psotrack.model.solver import published_state, simulate
from psotrack.model.therapies import build_inputs, parse_schedule
from psotrack.model.trial import NULL_SUFFIX, power_estimate, simulate_trial

ONE_INFUSION = "uc-msc-iv:1.5e6/kg"
CHENG = "uc-msc-iv:1.5e6/kg x4 q2w"
DAYS = [0, 3, 7, 14, 28]
#: Published early first-order PASI decline of an IL-17A blocker (secukinumab), 1/day
#: (../shared/reference/models.md): the fastest the MSC response may be without a source.
ANTI_IL17_DECLINE = 0.11


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(300, seed=7)


def _relative_pasi(population: Population, arm: str) -> npt.NDArray[np.float64]:
    frame = simulate_arm(population, arm, DAYS, seed=8).sort("patient_id", "day")
    pasi = frame["pasi"].to_numpy().reshape(-1, len(DAYS))
    return np.asarray(pasi / pasi[:, :1], dtype=np.float64)


def test_one_infusion_is_no_faster_than_a_published_il17_blocker(population: Population) -> None:
    relative = _relative_pasi(population, ONE_INFUSION)
    median = np.median(relative, axis=0)
    # Median first-order decline over days 0–3, 0–7 and 0–14, with the trigger and the refit of
    # 2026-12-03 (paracrine_ec50 4.36, half-life 25 d): measured 0.046, 0.060 and 0.060/day
    # (−13 %, −34 %, −57 %); at the pre-refit fit with the trigger 0.025, 0.029 and 0.023/day;
    # before the cell kinetics 0.10 and 0.083/day (−26 %, −44 %).
    for k, day in ((1, 3), (2, 7), (3, 14)):
        assert -math.log(median[k]) / day <= ANTI_IL17_DECLINE
    # Patients halving PASI within a week: measured 23.3 % (70/300) after the refit (7.0 % at
    # the pre-refit fit, 37 % before the cell kinetics). At the published 0.11/day the typical
    # patient halves by day ln 2/0.11 = 6.3, so half of them halve within a week: the bound for
    # "no faster". The model's own anti-IL-17 is no bound: with the trigger it is itself slower
    # than its published decline (docs/model.md section 5.3), so the infusion is now faster than
    # it (−57 % against −27 % at day 14), a stated limitation (section 9.3).
    assert np.exp(-ANTI_IL17_DECLINE * 7) < 0.5
    assert np.mean(relative[:, 2] <= 0.5) < 0.5


def test_iv_cells_follow_the_closed_form_lung_kinetics() -> None:
    p = ModelParameters()
    inputs, dosing = build_inputs([parse_schedule("uc-msc-iv:2e6/kg")])
    days = np.array([0.25, 1.0, 3.0, 7.0, 14.0])
    y = simulate(p, published_state("plaque", p), days, inputs, dosing)[:, 0, :]
    dose, q, f = 2.0, p.msc_secretion, p.msc_lung_escape
    k, ko, kp = (math.log(2) / h for h in (0.5, 1.0, p.paracrine_half_life))
    assert (p.msc_lung_half_life, p.msc_organ_half_life) == (0.5, 1.0)

    def bateman(a: float, b: float, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray((np.exp(-a * t) - np.exp(-b * t)) / (b - a))

    lung = dose * np.exp(-k * days)
    organs = f * k * dose * bateman(k, ko, days)
    paracrine = (
        q
        * dose
        * (bateman(k, kp, days) + f * k / (ko - k) * (bateman(k, kp, days) - bateman(ko, kp, days)))
    )
    np.testing.assert_allclose(y[:, s.MSC_LUNG], lung, rtol=1e-9)
    np.testing.assert_allclose(y[:, s.MSC_ORGANS], organs, rtol=1e-5)
    np.testing.assert_allclose(y[:, s.PARACRINE_SYSTEMIC], paracrine, rtol=1e-5)
    # Eggenhofer 2012: viable MSCs in the lung at 24 h, none found at 72 h.
    assert y[1, s.MSC_LUNG] / dose == pytest.approx(0.25)
    assert y[2, s.MSC_LUNG] / dose < 0.02
    assert y[:, s.MSC_DEPOT].max() == 0.0 and y[:, s.PARACRINE_LOCAL].max() == 0.0


def test_perilesional_cells_stay_in_a_local_depot() -> None:
    p = ModelParameters()
    inputs, dosing = build_inputs([parse_schedule("ad-msc-pl:1e6/kg")])
    days = np.array([1.0, 3.0, 7.0])
    y = simulate(p, published_state("plaque", p), days, inputs, dosing)[:, 0, :]
    kd, kp = math.log(2) / p.msc_depot_half_life, math.log(2) / p.paracrine_half_life
    local = p.msc_secretion * (np.exp(-kd * days) - np.exp(-kp * days)) / (kp - kd)
    np.testing.assert_allclose(y[:, s.MSC_DEPOT], np.exp(-kd * days), rtol=1e-9)
    np.testing.assert_allclose(y[:, s.PARACRINE_LOCAL], local, rtol=1e-5)
    np.testing.assert_allclose(y[:, s.PARACRINE_SYSTEMIC], p.msc_depot_spillover * local, rtol=1e-5)
    assert y[:, s.MSC_LUNG].max() == 0.0


def test_perilesional_treats_injected_plaques_more_and_the_rest_less_than_iv() -> None:
    # Depot cells live 6 times longer than lung cells (t½ 3 d vs 0.5 d) and secrete locally;
    # only 10 % of their secretion reaches the circulation (0.43 vs 0.72 unit-days per unit).
    small = build_population(60, seed=7)
    iv, _ = simulate_sites(small, "ad-msc-iv:1.5e6/kg x4 q2w", [28])
    rest, injected = simulate_sites(small, "ad-msc-pl:1.5e6/kg x4 q2w", [28])
    assert injected is not None
    il17 = s.IL17
    assert np.median(injected[0, :, il17]) < np.median(iv[0, :, il17]) < np.median(rest[0, :, il17])


def test_msc_emax_of_zero_is_allowed_and_the_bounds_still_hold() -> None:
    null = ModelParameters(**dict.fromkeys(MSC_EMAX, 0.0))  # type: ignore[arg-type]
    assert all(getattr(null, name) == 0.0 for name in MSC_EMAX)
    for name, bad in (("msc_dc_emax", 1.5), ("msc_treg_emax", 11.0), ("msc_th17_emax", -0.1)):
        with pytest.raises(ValidationError) as caught:
            ModelParameters(**{name: bad})  # type: ignore[arg-type]
        assert caught.value.problems[0].field == name
    with pytest.raises(ValidationError):
        ModelParameters(paracrine_ec50=0.0)  # other parameters still must be > 0


@pytest.mark.parametrize("arm", [CHENG, "ad-msc-pl:1.5e6/kg x4 q2w"])
def test_null_arm_equals_the_control_arm_exactly(population: Population, arm: str) -> None:
    # Every MSC Emax 0: the terms (1 − 0·occ) and (1 + 0·occ) are exactly 1, so the immune and
    # skin states — and, with the same lab seed, every reading — equal the untreated ones.
    null = replace(population, parameters=without_msc_effect(population.parameters))
    treated = simulate_arm(null, arm, DAYS, seed=8)
    control = simulate_arm(population, "control", DAYS, seed=8)
    columns = ["patient_id", "day", "pasi", "treg_pct", "th17_pct", "il17_pg_ml"]
    assert treated.select(columns).equals(control.select(columns))
    # The cells themselves were given: the kinetic states are not zero.
    plaques, injected = simulate_sites(null, arm, [1])
    site = injected if injected is not None else plaques
    assert site[0, :, s.PARACRINE_SYSTEMIC].min() > 0


def test_trial_null_arm_is_added_without_changing_the_given_arms() -> None:
    plain = simulate_trial([CHENG, "control"], n=12, weeks=4, seed=5)
    with_null = simulate_trial([CHENG, "control"], n=12, weeks=4, seed=5, null=True)
    assert with_null.arms == (CHENG, CHENG + NULL_SUFFIX, "control")
    for arm in (CHENG, "control"):
        a = plain.trajectories.filter(pl.col("arm") == arm).drop("patient_id")
        b = with_null.trajectories.filter(pl.col("arm") == arm).drop("patient_id")
        assert a.equals(b)
    null = with_null.trajectories.filter(pl.col("arm") == CHENG + NULL_SUFFIX)
    assert null["patient_id"].n_unique() == 12 and null["simulated"].all()


def test_power_table_counts_equal_a_recount_against_the_moving_control() -> None:
    n, replicates = 17, 40
    table = power_estimate([CHENG, "control"], n, 26, replicates, seed=1, threshold=75, null=True)
    row = table.row(0, named=True)
    # The control now moves (trigger, reading noise): a recount of both arms from the same
    # patients (simulate_trial draws the same arm seeds as power_estimate) and Fisher's test
    # per replicate must give the table's figures.
    frame = simulate_trial([CHENG, "control"], n * replicates, 26, seed=1).trajectories

    def responders(arm: str) -> np.ndarray:
        rows = frame.filter(pl.col("arm") == arm)
        final = rows.filter(pl.col("day") == 182).sort("patient_id")
        base = rows.filter(pl.col("day") == 0).sort("patient_id")
        # Integer tenths of PASI, the rule "(base − value) × 100 ≥ threshold × base".
        tenths_base = (base["pasi"] * 10).round(0).cast(pl.Int64)
        tenths_final = (final["pasi"] * 10).round(0).cast(pl.Int64)
        hit = ((tenths_base - tenths_final) * 100 >= 75 * tenths_base).to_numpy()
        return np.asarray(hit.reshape(replicates, n).sum(axis=1))

    arm, control = responders(CHENG), responders("control")
    p_values = [
        fisher_exact([[a, n - a], [b, n - b]]).pvalue for a, b in zip(arm, control, strict=True)
    ]
    assert row["significant"] == int(np.sum(np.array(p_values) < 0.05))
    assert row["arm_rate"] == pytest.approx(arm.mean() / n)
    assert row["reference_rate"] == pytest.approx(control.mean() / n)
    assert row["reference_rate"] > 0  # a placebo response, no longer a flat control
