"""Tests of the integrators: the vectorised solver against scipy's LSODA (rtol 1e-8), positivity."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from psotrack.errors import ValidationError
from psotrack.model import solver
from psotrack.model import states as s
from psotrack.model.equations import (
    BLOCKADE_SOURCES,
    LINEAR_STATES,
    PARACRINE_SOURCES,
    SiteInputs,
    rhs,
)
from psotrack.model.observation import area_percent, observe_pasi, sign_severity
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import build_population, trial_trigger
from psotrack.model.solver import Dosing, published_state, simulate, simulate_reference
from psotrack.model.therapies import build_inputs, parse_schedule
from psotrack.model.trigger import NO_TRIGGER

ARMS = ("control", "uc-msc-iv:1e6/kg x3 q4w", "ad-msc-pl:2e6/kg x2 q2w @1w", "anti-il17 x4 q4w")
DAYS = np.arange(0.0, 183.0, 7.0)


@pytest.fixture(scope="module")
def sample() -> tuple[object, np.ndarray, np.ndarray]:
    pop = build_population(4, seed=11, trigger=NO_TRIGGER)
    inputs, dosing = build_inputs([parse_schedule(a) for a in ARMS])
    fast = simulate(pop.parameters, pop.baseline_state, DAYS, inputs, dosing)
    ref = np.stack(
        [
            simulate_reference(
                pop.parameters.row(i),
                pop.baseline_state[i],
                DAYS,
                inputs.take([i]),
                Dosing(dosing.days, dosing.amounts[:, i : i + 1]),
            )
            for i in range(4)
        ],
        axis=1,
    )
    return pop, fast, ref


def test_vectorised_states_equal_the_reference_solve(sample) -> None:  # type: ignore[no-untyped-def]
    _, fast, ref = sample
    core = slice(0, s.VASCULAR + 1)
    # Error relative to each patient's and state's largest value over the 26 weeks.
    scale = np.abs(ref[:, :, core]).max(axis=0)
    error = np.abs(fast[:, :, core] - ref[:, :, core]).max(axis=0) / scale
    # Worst during relapse (a bistable switch, where timing is sensitive): 0.072 % at h = 1/4 d
    # with the stiff-order-4 step (patient 4, vascular state); ETDRK4 left 0.72 % (Th1 of the
    # perilesional patient near day 105), so this bound of 0.2 % fails with ETDRK4.
    assert error.max() < 2e-3


def test_vectorised_pasi_equals_the_reference_away_from_grading_edges(sample) -> None:  # type: ignore[no-untyped-def]
    # PASI is a step function of the states: a sign's grade steps where 3·severity + 0.5 crosses
    # an integer, a region's area score at 10, 30, 50, 70 and 90 %. The solver's documented
    # accuracy is on the states (< 1 % of range, test above), so the continuous inputs of the
    # grading must agree within 1 % of their range (0.04 of the 0–4 grade scale, 1 point of
    # area), and the PASI must agree exactly wherever the reference lies farther than that from
    # every edge. Near an edge a grade may flip: after the cell-therapy refit (2026-12-03) the
    # UC-MSC patient's induration at day 28 reads 2.0009 against 1.9955 on the grade scale,
    # PASI 5.6 against 4.2; the benchmark reads the cohort mean, not one patient at a switch.
    pop, fast, ref = sample
    edges = np.array([10.0, 30.0, 50.0, 70.0, 90.0])
    flipped = 0
    for k in range(DAYS.size):
        a = observe_pasi(fast[k], pop.baseline_induration, pop.baseline_area)
        b = observe_pasi(ref[k], pop.baseline_induration, pop.baseline_area)
        sev_a, sev_b = sign_severity(fast[k]), sign_severity(ref[k])
        near = np.zeros(len(b), dtype=bool)
        for name in sev_b:
            grade_a, grade_b = 3.0 * sev_a[name] + 0.5, 3.0 * sev_b[name] + 0.5
            assert np.all(np.abs(grade_a - grade_b) <= 0.04)
            near |= np.abs(grade_b - np.round(grade_b)) <= 0.04
        area_a = area_percent(sev_a["induration"], pop.baseline_induration, pop.baseline_area)
        area_b = area_percent(sev_b["induration"], pop.baseline_induration, pop.baseline_area)
        assert np.all(np.abs(area_a - area_b) <= 1.0)
        near |= np.any(np.abs(area_b[..., None] - edges) <= 1.0, axis=(1, 2))
        assert np.array_equal(a[~near], b[~near])
        flipped += int(np.sum(a != b))
    assert flipped <= 1  # measured: one patient on one day (above)


def test_halving_the_step_shrinks_the_error_fourfold_or_more() -> None:
    p = ModelParameters()
    y0 = published_state("plaque", p)
    inputs, dosing = build_inputs([parse_schedule("uc-msc-iv:1e6/kg x2 q2w")])
    days = np.arange(0.0, 43.0, 1.0)
    ref = simulate_reference(p, y0[0], days, inputs, dosing)
    errors = [
        np.abs(simulate(p, y0, days, inputs, dosing, k)[:, 0, :12] - ref[:, :12]).max()
        for k in (4, 8)
    ]
    assert errors[1] < errors[0] / 4


def test_states_stay_non_negative_from_extreme_starts() -> None:
    p = ModelParameters().broadcast(3)
    y0 = published_state("plaque", p, 3)
    y0[0, :12] = 0.0  # empty skin
    y0[1, :12] *= 20.0  # far beyond the plaque
    y0[2, s.TREG] = 1e5
    inputs, dosing = build_inputs([parse_schedule("uc-msc-iv:1e8/kg x3 q1w + anti-il23:10")] * 3)
    out = simulate(p, y0, np.arange(0.0, 60.0, 0.25), inputs, dosing)
    assert np.isfinite(out).all()
    assert out.min() >= 0.0


def test_a_day_off_the_step_grid_is_refused() -> None:
    p = ModelParameters()
    with pytest.raises(ValidationError, match="grid of 1/4 day"):
        simulate(p, published_state("plaque", p), [0.1], SiteInputs.untreated(1))


def test_therapy_states_follow_their_closed_form_solution() -> None:
    # The therapy states are integrated exactly (solver._LinearFlow). Known answer, by hand: a
    # first-order chain x' = c·e^(−a·t) − k·x, x(0) = 0 gives x = c·(e^(−a·t) − e^(−k·t))/(k − a)
    # (the Bateman solution); the systemic pool sums three such inputs (lung, organs, depot).
    p = ModelParameters()
    y0 = published_state("plaque", p)
    y0[0, s.MSC_LUNG], y0[0, s.MSC_DEPOT], y0[0, s.BLOCKER_DEPOT] = 1.0, 0.5, 2.0
    days = np.array([0.25, 1.0, 2.5, 7.0, 30.0])
    out = simulate(p, y0, days, SiteInputs.untreated(1))[:, 0]
    kl, ko, kd, kp = p.msc_lung_loss, p.msc_organ_loss, p.msc_depot_loss, p.paracrine_decay
    ka, ke, f, q, spill = (
        p.blocker_il17_absorption,  # a row without a blocker carries anti-IL-17's PK
        p.blocker_elimination("il17"),
        p.msc_lung_escape,
        p.msc_secretion,
        p.msc_depot_spillover,
    )

    def chain(c: float, a: float, k: float) -> np.ndarray:
        return c * (np.exp(-a * days) - np.exp(-k * days)) / (k - a)

    expected = {
        s.MSC_LUNG: np.exp(-kl * days),
        s.MSC_ORGANS: chain(f * kl, kl, ko),
        s.MSC_DEPOT: 0.5 * np.exp(-kd * days),
        s.BLOCKER_DEPOT: 2.0 * np.exp(-ka * days),
        s.BLOCKER_CENTRAL: chain(2.0 * ka, ka, ke),
        s.PARACRINE_LOCAL: chain(q * 0.5, kd, kp),
        # organs = f·kl/(ko − kl)·(e^(−kl·t) − e^(−ko·t)) feeds the pool as two exponentials
        s.PARACRINE_SYSTEMIC: chain(q, kl, kp)
        + chain(q * f * kl / (ko - kl), kl, kp)
        - chain(q * f * kl / (ko - kl), ko, kp)
        + chain(q * spill * 0.5, kd, kp),
    }
    for state, values in expected.items():
        np.testing.assert_allclose(out[:, state], values, rtol=1e-10, err_msg=s.STATES[state])


def test_the_therapy_states_form_a_closed_linear_system() -> None:
    # What the solver relies on to integrate them apart (equations.LINEAR_STATES): their
    # derivatives are linear in themselves and do not involve any other state.
    rng = np.random.default_rng(5)
    p, inputs = ModelParameters().broadcast(6), SiteInputs.untreated(6)
    linear = list(LINEAR_STATES)
    y1, y2 = rng.uniform(0.0, 2.0, (2, 6, s.N_STATES)) * published_state("plaque", p, 6).clip(1)

    def therapy_rhs(y: np.ndarray) -> np.ndarray:
        return rhs(0.0, y, p, inputs)[:, linear]

    mixed = y1.copy()
    mixed[:, linear] = y2[:, linear]
    np.testing.assert_allclose(therapy_rhs(mixed), therapy_rhs(y2), rtol=1e-13)
    np.testing.assert_allclose(
        therapy_rhs(y1 + 3.0 * y2), therapy_rhs(y1) + 3.0 * therapy_rhs(y2), rtol=1e-12
    )


def test_blocks_of_rows_give_the_same_result_as_one_block(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Rows are independent; simulate integrates them in blocks of solver.BLOCK_ROWS.
    pop = build_population(7, seed=3)
    arms = [parse_schedule(a) for a in (*ARMS, "control", ARMS[1], ARMS[2])]
    inputs, dosing = build_inputs(arms)
    days = np.arange(0.0, 64.0, 7.0)
    whole = simulate(pop.parameters, pop.baseline_state, days, inputs, dosing)
    monkeypatch.setattr(solver, "BLOCK_ROWS", 3)
    blocks = simulate(pop.parameters, pop.baseline_state, days, inputs, dosing)
    np.testing.assert_allclose(blocks, whole, rtol=1e-12, atol=1e-12)


def test_rows_shared_among_processes_give_the_same_result_as_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # solver.simulate(workers=2) forks a child for half of the blocks (psotrack.processes); each
    # row's arithmetic is the same, and the caller's trigger stream ends where one process's does.
    pop = build_population(7, seed=5)
    arms = [parse_schedule(a) for a in (*ARMS, "control", ARMS[1], ARMS[3])]
    inputs, dosing = build_inputs(arms)
    days = np.arange(0.0, 64.0, 7.0)
    monkeypatch.setattr(solver, "BLOCK_ROWS", 2)
    streams = [trial_trigger(pop, np.arange(7)) for _ in range(2)]
    one = simulate(pop.parameters, pop.baseline_state, days, inputs, dosing, 4, streams[0], 1)
    two = simulate(pop.parameters, pop.baseline_state, days, inputs, dosing, 4, streams[1], 2)
    np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)
    assert streams[0] is not None and streams[1] is not None
    np.testing.assert_array_equal(streams[1].value, streams[0].value)


def test_a_number_of_processes_below_one_is_refused() -> None:
    pop = build_population(2, seed=5, trigger=NO_TRIGGER)
    inputs, dosing = build_inputs([parse_schedule("control")] * 2)
    with pytest.raises(ValidationError) as caught:
        simulate(pop.parameters, pop.baseline_state, [7.0], inputs, dosing, workers=0)
    assert caught.value.problems[0].field == "workers"


@pytest.mark.parametrize(
    ("arm", "idle"),
    [
        ("control", set(PARACRINE_SOURCES) | set(BLOCKADE_SOURCES)),
        ("uc-msc-iv:1e6/kg x3 q4w", set(BLOCKADE_SOURCES)),
        ("anti-il17 x4 q4w", set(PARACRINE_SOURCES)),
    ],
)
def test_a_therapy_group_no_dose_enters_is_idle(arm: str, idle: set[int]) -> None:
    # Idle groups keep their no-therapy factors (solver._idle_states); a dosed group never is.
    pop = build_population(1, seed=5, trigger=NO_TRIGGER)
    _, dosing = build_inputs([parse_schedule(arm)])
    y = np.ascontiguousarray(pop.baseline_state.T)
    assert solver._idle_states(y, dosing.amounts) == idle
    y[s.BLOCKER_CENTRAL] = 1.0  # antibody left from before: that group is not idle
    assert solver._idle_states(y, dosing.amounts) == idle - set(BLOCKADE_SOURCES)


def test_step_is_of_order_four_and_stable_when_stiff() -> None:
    # The step of Hochbruck & Ostermann on y' = −λy + N(t, y), N = −y²/2 + 1 + sin 3t, every
    # core row one scalar problem, against scipy's Radau at rtol 1e-13 (y(0) = 1, t = 2). Known
    # answer: an exponential Runge–Kutta method of order four converges as h⁴ when λh is small
    # (λ = 1: observed 3.95, 3.99, 4.00 per halving; a52 with the sign of ψ₃ flipped gives 2.99),
    # and a stiff row (λ = 1 000, λh up to 250) stays stable and accurate (1.1e-7 at h = 1/4).
    lams = np.array([1.0, 1000.0])
    end = 2.0

    def nonlinear(t: float, y: np.ndarray) -> np.ndarray:
        return -0.5 * y * y + 1.0 + np.sin(3.0 * t)

    reference = np.array(
        [
            solve_ivp(
                lambda t, y, lam=lam: -lam * y + nonlinear(t, y),
                (0.0, end),
                [1.0],
                method="Radau",
                rtol=1e-13,
                atol=1e-15,
            ).y[0, -1]
            for lam in lams
        ]
    )

    def error(h: float) -> np.ndarray:
        y = np.zeros((s.N_STATES, lams.size))
        y[solver._CORE] = 1.0
        weights = solver._exprk4_weights(np.broadcast_to(lams, y[solver._CORE].shape).copy(), h)
        work = tuple(np.zeros_like(y) for _ in range(8))

        def production(stage: np.ndarray, t: float, out: np.ndarray) -> None:
            out[solver._CORE] = nonlinear(t, stage[solver._CORE])

        for k in range(round(end / h)):
            t = k * h
            solver._exprk4_step(y, weights, production, (t, t + h / 2, t + h), work)
        return np.abs(y[solver._CORE] - reference).max(axis=0)

    errors = [error(1.0 / n) for n in (4, 8, 16, 32)]
    orders = [np.log2(a[0] / b[0]) for a, b in itertools.pairwise(errors)]
    assert all(3.8 < order < 4.2 for order in orders), orders
    assert max(e[1] for e in errors) < 1e-6
