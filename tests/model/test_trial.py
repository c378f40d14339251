"""Simulated trials: rates recounted independently, reproducibility, power, order of improvement.

Known answers: responder counts are recounted here from the trajectories with plain integers
(tenths of PASI, the rule "(base − value) × 100 ≥ threshold × base"), and intervals recomputed
with statsmodels' Clopper–Pearson (``method="beta"``); Fisher p-values with scipy.
"""

from __future__ import annotations

from collections import defaultdict

import polars as pl
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportion_confint

from psotrack.errors import ValidationError
from psotrack.model.trial import TrialResult, power_estimate, sign_half_times, simulate_trial

CELL = "uc-msc-iv:1.5e6/kg x4 q2w"


@pytest.fixture(scope="module")
def trial() -> TrialResult:
    return simulate_trial([CELL, "control"], n=40, weeks=8, seed=3)


def test_rates_equal_an_independent_recount_from_the_trajectories(trial: TrialResult) -> None:
    rows = trial.trajectories.select("patient_id", "arm", "day", "pasi").rows()
    base = {pid: round(pasi * 10) for pid, _, day, pasi in rows if day == 0}
    counts: dict[tuple[str, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for pid, arm, day, pasi in rows:
        if day == 0:
            continue
        for threshold in (50, 75, 90):
            hit = (base[pid] - round(pasi * 10)) * 100 >= threshold * base[pid]
            counts[(arm, day, threshold)][0] += int(hit)
            counts[(arm, day, threshold)][1] += 1
    rates = trial.rates
    assert rates.height == len(counts) == 2 * 8 * 3
    for row in rates.iter_rows(named=True):
        responders, n = counts[(row["arm"], row["day"], int(row["endpoint"][4:]))]
        assert (row["responders"], row["n"]) == (responders, n)
        low, high = proportion_confint(responders, n, method="beta")
        assert row["ci_low"] == pytest.approx(low, abs=1e-9)
        assert row["ci_high"] == pytest.approx(high, abs=1e-9)
    final = rates.filter(pl.col("day") == 56, pl.col("endpoint") == "PASI75")
    by_arm = dict(zip(final["arm"], final["responders"], strict=True))
    assert by_arm[CELL] > 0


def test_trajectories_are_tidy_and_labelled_simulated(trial: TrialResult) -> None:
    frame = trial.trajectories
    assert frame.columns[:5] == ["patient_id", "arm", "visit", "day", "pasi"]
    assert frame["simulated"].all()
    assert frame.group_by("arm").agg(pl.col("patient_id").n_unique())["patient_id"].to_list() == [
        40,
        40,
    ]
    assert frame["patient_id"].n_unique() == 80
    assert frame.filter(pl.col("day") == 0)["pasi"].to_numpy().min() >= 10.0  # inclusion PASI ≥ 10
    control = frame.filter(pl.col("arm") == "control").sort("patient_id", "day")
    spread = control.group_by("patient_id").agg(pl.col("pasi").n_unique().alias("k"))
    # the trigger and reading noise move untreated readings (a placebo course, not a flat line)
    assert spread["k"].max() > 1


def test_same_seed_same_output_and_another_seed_differs(trial: TrialResult) -> None:
    again = simulate_trial([CELL, "control"], n=40, weeks=8, seed=3)
    assert again.trajectories.equals(trial.trajectories)
    assert again.rates.equals(trial.rates)
    other = simulate_trial([CELL, "control"], n=40, weeks=8, seed=4)
    assert not other.trajectories.equals(trial.trajectories)


@pytest.mark.parametrize(
    ("arms", "n", "weeks", "field"),
    [
        (["uc-msc-iv:1e6 x3"], 10, 4, "schedule"),
        (["control", "Control"], 10, 4, "arms"),
        (["control"], 0, 4, "n"),
        (["control"], 10, 0, "weeks"),
    ],
)
def test_bad_trial_input_names_the_field(arms: list[str], n: int, weeks: int, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        simulate_trial(arms, n=n, weeks=weeks, seed=1)
    assert caught.value.problems[0].field == field


def test_power_with_one_replicate_is_fisher_on_the_same_simulated_trial() -> None:
    single = simulate_trial([CELL, "control"], n=12, weeks=4, seed=9)
    final = single.rates.filter(pl.col("day") == 28, pl.col("endpoint") == "PASI75")
    count = dict(zip(final["arm"], final["responders"], strict=True))
    p = fisher_exact([[count[CELL], 12 - count[CELL]], [count["control"], 12]]).pvalue
    power = power_estimate([CELL, "control"], n=12, weeks=4, replicates=1, seed=9)
    assert power["significant"].to_list() == [int(p < 0.05)]
    assert power["reference"].to_list() == ["control"]


def test_power_lies_in_unit_interval_and_grows_with_n() -> None:
    small = power_estimate([CELL, "control"], n=4, weeks=8, replicates=30, seed=5)
    large = power_estimate([CELL, "control"], n=30, weeks=8, replicates=30, seed=5)
    for frame in (small, large):
        assert 0.0 <= frame["ci_low"][0] <= frame["power"][0] <= frame["ci_high"][0] <= 1.0
    assert large["power"][0] > small["power"][0]
    with pytest.raises(ValidationError):
        power_estimate(["control"], n=4, weeks=4, replicates=3, seed=1)


def test_order_of_improvement_in_a_typical_treated_patient() -> None:
    """What the model does (issue 7 asks; nothing imposed): time to 50 % of each sign's improvement.

    Calibrated UC-MSC course after the refit with the trigger (2026-12-03: paracrine EC50 4.36,
    half-life 25 d), typical patient: area 12 d, desquamation 13 d, erythema 15 d, induration
    18 d (at the pre-refit fit 17, 17, 18, 18 d for erythema, desquamation, induration, area;
    before the kinetics 7, 9, 16, 16 d). Scaling halves before redness and thickness, and area is
    not last: it is read from the plaque's excess thickness (10 % visibility rule of the
    observation model), so it halves no later than induration. The clinical order (redness,
    thickness, scaling, area) therefore does NOT emerge. Under the anti-IL-17 blocker as
    recalibrated with the trigger (issue 18) redness and area halve first (erythema 11 d, area
    11 d, desquamation 12 d, induration 15 d; before the recalibration scaling came first, 19 d,
    and redness third, 27 d).
    """
    cell = sign_half_times(CELL, weeks=26)
    # The orderings are the behaviour asserted (the days above are what the model gives, not a
    # known answer, and are not pinned here).
    assert cell["desquamation"] < cell["erythema"] < cell["induration"]  # type: ignore[operator]
    assert cell["area"] <= cell["induration"]  # type: ignore[operator]
    blocker = sign_half_times("anti-il17 x4 q4w", weeks=26)
    # Orderings of whole days (docs/model.md section 10); redness and area halve on one day.
    assert blocker["erythema"] == blocker["area"] < blocker["desquamation"] < blocker["induration"]
    assert sign_half_times("control", weeks=4) == dict.fromkeys(cell)  # nothing improves
