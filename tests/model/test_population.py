"""Tests of virtual populations: inclusion, reproducibility, dose–response, positivity."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from psotrack.errors import ValidationError
from psotrack.model.population import build_population, simulate_arm
from psotrack.model.trigger import NO_TRIGGER

WEEKS_26 = np.arange(0.0, 183.0, 14.0)


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    return build_population(40, seed=7)


def test_every_included_patient_meets_the_inclusion_rule(population) -> None:  # type: ignore[no-untyped-def]
    assert len(population) == 40
    assert population.baseline_pasi.min() >= 10.0
    assert len(build_population(10, seed=7, min_pasi=20.0).baseline_pasi) == 10
    assert build_population(10, seed=7, min_pasi=20.0).baseline_pasi.min() >= 20.0


def test_same_seed_same_output_and_another_seed_differs(population) -> None:  # type: ignore[no-untyped-def]
    again = build_population(40, seed=7)
    np.testing.assert_array_equal(again.baseline_state, population.baseline_state)
    arm = "uc-msc-iv:1e6/kg x3 q4w"
    first = simulate_arm(population, arm, WEEKS_26, seed=3)
    assert first.equals(simulate_arm(again, arm, WEEKS_26, seed=3))
    assert not first.equals(simulate_arm(population, arm, WEEKS_26, seed=4))
    assert not np.array_equal(build_population(40, seed=8).baseline_area, population.baseline_area)


def test_untreated_patients_stay_at_their_baseline_without_trigger() -> None:
    population = build_population(40, seed=7, trigger=NO_TRIGGER)
    frame = simulate_arm(population, "control", WEEKS_26, seed=1)
    spread = frame.group_by("patient_id").agg(pl.col("pasi").max() - pl.col("pasi").min())
    assert spread["pasi"].max() == 0.0
    assert frame.filter(pl.col("day") == 0)["pasi"].to_numpy().tolist() == (
        population.baseline_pasi.tolist()
    )


def test_higher_dose_never_gives_higher_pasi_at_week_12(population) -> None:  # type: ignore[no-untyped-def]
    doses = ("1e5", "5e5", "1e6", "2e6", "4e6")
    at_week_12 = [
        simulate_arm(population, f"uc-msc-iv:{d}/kg x3 q4w", [0.0, 84.0], seed=1)
        .filter(pl.col("day") == 84.0)
        .sort("patient_id")["pasi"]
        .to_numpy()
        for d in doses
    ]
    for lower, higher in itertools.pairwise(at_week_12):
        assert np.all(higher <= lower)
    assert at_week_12[-1].mean() < at_week_12[0].mean()  # not flat: the dose matters


def test_frame_is_tidy_non_negative_and_labelled(population) -> None:  # type: ignore[no-untyped-def]
    frame = simulate_arm(population, "anti-il17 x7 q4w", WEEKS_26, seed=2)
    assert frame.height == 40 * WEEKS_26.size
    assert frame["simulated"].all() and frame["arm"].unique().to_list() == ["anti-il17 x7 q4w"]
    labs = frame.select("treg_pct", "th17_pct", "il17_pg_ml").to_numpy()
    assert (labs > 0).all()


def test_bad_population_requests_are_refused() -> None:
    with pytest.raises(ValidationError, match="n=0"):
        build_population(0, seed=1)
    with pytest.raises(ValidationError, match="min_pasi=80"):
        build_population(5, seed=1, min_pasi=80)
