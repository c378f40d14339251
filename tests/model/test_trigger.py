"""The onset/flare stimulus dc_stim (an Ornstein–Uhlenbeck trigger), reading noise, placebo."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from psotrack.errors import ValidationError
from psotrack.model import solver
from psotrack.model.equations import SiteInputs
from psotrack.model.population import build_population, simulate_arm
from psotrack.model.solver import simulate, simulate_reference
from psotrack.model.trigger import (
    DEFAULT_TRIGGER,
    NO_TRIGGER,
    TriggerSpec,
    TriggerStream,
    row_paths,
    stationary_start,
)


def _paths(spec: TriggerSpec, n: int, steps: int, h: float, seed: int) -> np.ndarray:
    x0 = stationary_start(spec, n, np.random.default_rng([seed, 1]))
    stream = TriggerStream(spec, x0, seed, h)
    return np.stack([stream.value.copy()] + [stream.advance().copy() for _ in range(steps)])


def test_ou_stationary_variance_and_autocorrelation() -> None:
    spec = TriggerSpec(sigma=900.0, tau=10.0, mean=250.0)
    x = _paths(spec, 20_000, 40, 0.25, seed=3)  # 10 days, 20 000 independent paths
    n = x.shape[1]
    variance = spec.sigma**2 * spec.tau / 2  # exact stationary variance σ²τ/2
    for k in (0, 20, 40):
        # mean within 4 standard errors; variance ratio inside the chi-square 99.99 % interval
        assert abs(x[k].mean() - spec.mean) < 4 * np.sqrt(variance / n)
        low, high = stats.chi2.ppf([5e-5, 1 - 5e-5], n - 1) / (n - 1)
        assert low < x[k].var(ddof=1) / variance < high
    for lag_steps in (4, 20, 40):
        r = np.corrcoef(x[0], x[lag_steps])[0, 1]
        expected = np.exp(-lag_steps * 0.25 / spec.tau)  # e^(−Δ/τ)
        assert abs(r - expected) < 4 * (1 - expected**2) / np.sqrt(n)


def test_trigger_spec_refuses_bad_values() -> None:
    with pytest.raises(ValidationError, match=r"trigger\.sigma"):
        TriggerSpec(sigma=-1.0, tau=10.0)
    with pytest.raises(ValidationError, match=r"trigger\.tau"):
        TriggerSpec(sigma=1.0, tau=0.0)


@pytest.fixture(scope="module")
def patients() -> tuple:
    pop = build_population(4, seed=3, trigger=NO_TRIGGER)
    return pop.parameters, pop.baseline_state


def test_sigma_zero_is_exactly_the_deterministic_model(patients: tuple) -> None:
    p, y0 = patients
    days = np.arange(0, 57, 7.0)
    inputs = SiteInputs.untreated(4)
    plain = simulate(p, y0, days, inputs)
    stream = TriggerStream(NO_TRIGGER, np.zeros(4), 1, 0.25)
    assert np.array_equal(simulate(p, y0, days, inputs, trigger=stream), plain)


def test_both_solvers_integrate_the_same_forcing(patients: tuple) -> None:
    p, y0 = patients
    spec = TriggerSpec(sigma=900.0, tau=10.0)
    x0 = stationary_start(spec, 4, np.random.default_rng(9))
    days = np.arange(0, 127, 7.0)
    inputs = SiteInputs.untreated(4)
    fast = simulate(p, y0, days, inputs, trigger=TriggerStream(spec, x0, 5, 0.25))
    moved = False
    rows = (0, 2)  # 2 remits during these 18 weeks (a switch: the hardest case)
    paths = row_paths(TriggerStream(spec, x0, 5, 0.25), 126 * 4, rows)
    for i, path in zip(rows, paths, strict=True):
        one = replace(p, **{k: np.asarray(v)[i] for k, v in vars(p).items()})
        ref = simulate_reference(one, y0[i], days, inputs.take([i]), trigger=path)
        scale = ref[:, :12].max(axis=0)
        error = (np.abs(fast[:, i, :12] - ref[:, :12]).max(axis=0) / scale).max()
        # 0.10 % and 0.18 % (the remitting row) with the stiff-order-4 step; ETDRK4 left
        # 0.15 % and 0.75 %, above this bound.
        assert error < 0.004
        moved |= bool(np.abs(ref[-1, 8:11].sum() / ref[0, 8:11].sum() - 1) > 0.05)
    assert moved  # the trigger really moved a plaque


def test_same_seed_same_population_and_paths() -> None:
    a = build_population(20, seed=7)
    b = build_population(20, seed=7)
    assert np.array_equal(a.baseline_state, b.baseline_state)
    assert a.trigger_state is not None and b.trigger_state is not None
    assert np.array_equal(a.trigger_state, b.trigger_state)
    fa = simulate_arm(a, "control", [0, 28], seed=2)
    fb = simulate_arm(b, "control", [0, 28], seed=2)
    assert fa.equals(fb)
    assert a.trigger == DEFAULT_TRIGGER
    # the day-0 reading is the screening reading that decided inclusion
    assert np.array_equal(fa.filter(fa["day"] == 0)["pasi"].to_numpy(), a.baseline_pasi)


def test_placebo_rates_at_moderate_n() -> None:
    n = 600
    pop = build_population(n, seed=2022)
    frame = simulate_arm(pop, "control", [0, 84], seed=1).sort("patient_id", "day")
    pasi = frame["pasi"].to_numpy().reshape(n, 2)
    improvement = 1 - pasi[:, 1] / pasi[:, 0]
    for threshold, published in ((0.75, 0.052), (0.90, 0.021)):
        count = int(np.sum(improvement >= threshold))
        # the published rate must not be rejected at 1 % by an exact two-sided test at this n
        assert stats.binomtest(count, n, published).pvalue > 0.01, (threshold, count)
    assert np.sum(improvement >= 1.0) <= 6  # published 0.3 %: at most 6 of 600 (P ≈ 0.995)


def test_time_chunks_and_row_blocks_do_not_change_the_trajectories(
    patients: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stimulus is drawn ahead in time chunks and rows are integrated in blocks; neither may
    # change what a row sees: the same stream gives the same trajectories, bit for bit.
    p, y0 = patients
    spec = TriggerSpec(sigma=900.0, tau=10.0)
    x0 = stationary_start(spec, 4, np.random.default_rng(9))
    days = np.arange(0, 64, 7.0)
    inputs = SiteInputs.untreated(4)
    whole = simulate(p, y0, days, inputs, trigger=TriggerStream(spec, x0, 5, 0.25))
    monkeypatch.setattr(solver, "TRIGGER_VALUES", 4 * 5)  # chunks of 5 steps
    monkeypatch.setattr(solver, "BLOCK_ROWS", 3)  # two blocks of two rows
    pieces = simulate(p, y0, days, inputs, trigger=TriggerStream(spec, x0, 5, 0.25))
    assert np.array_equal(whole, pieces)
