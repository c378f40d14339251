"""Tests of the healthy-state stability check against independent computations (scipy, long run)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize

from psotrack.model import states as s
from psotrack.model.bistability import CORE, healthy_state_stability
from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.observation import sign_severity
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import build_population, simulate_sites
from psotrack.model.solver import PUBLISHED_STEADY_STATES, published_state, simulate
from psotrack.model.trigger import NO_TRIGGER


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    return build_population(24, seed=11, trigger=NO_TRIGGER)


def _independent(p: ModelParameters) -> tuple[np.ndarray, float]:  # type: ignore[type-arg]
    """fsolve from the published healthy state, then a central-difference Jacobian's eigenvalues."""
    inputs = SiteInputs.untreated(1)

    def f(core: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        y = np.zeros((1, s.N_STATES))
        y[0, :CORE] = core
        return rhs(0.0, y, p, inputs)[0, :CORE]

    start = published_state("healthy", p)[0, :CORE]
    root, _, found, _ = optimize.fsolve(f, start, xtol=1e-12, full_output=True)
    jac = np.empty((CORE, CORE))
    for j in range(CORE):
        h = 1e-5 * max(abs(root[j]), 1.0)
        up, down = root.copy(), root.copy()
        up[j] += h
        down[j] -= h
        jac[:, j] = (f(up) - f(down)) / (2 * h)
    return (root if found == 1 else np.full(CORE, np.nan)), float(np.linalg.eigvals(jac).real.max())


def test_published_parameters_have_the_published_stable_healthy_state() -> None:
    found = healthy_state_stability(ModelParameters(), 1)
    assert found.stable.tolist() == [True]
    healthy = PUBLISHED_STEADY_STATES["healthy"]
    total = healthy["stem"] + healthy["transit"] + healthy["differentiated"]
    kerat = found.state[0, s.STEM] + found.state[0, s.TRANSIT] + found.state[0, s.DIFFERENTIATED]
    assert kerat == pytest.approx(total, rel=1e-5)  # 76 701 cells/mm² (79 820 with immune cells)
    assert found.max_real_eigenvalue[0] < 0


def test_much_stronger_t_cell_recruitment_removes_the_healthy_state() -> None:
    strong = replace(ModelParameters(), t_cell_recruitment=55.0 * 1.5)
    found = healthy_state_stability(strong, 1)
    assert found.stable.tolist() == [False]
    y = simulate(
        strong, published_state("healthy", strong), [1000], SiteInputs.untreated(1), None, 1
    )
    assert sign_severity(y)["induration"][0, 0] > 0.9  # it falls into the plaque


def test_agrees_with_fsolve_and_an_independent_jacobian(population) -> None:  # type: ignore[no-untyped-def]
    found = healthy_state_stability(population.parameters, len(population))
    assert 0 < found.stable.sum() < len(population)  # both kinds present in this population
    picks = [*np.flatnonzero(found.stable)[:3], *np.flatnonzero(~found.stable)[:3]]
    for i in picks:
        root, eig = _independent(population.parameters.row(int(i)))
        induration = sign_severity(np.r_[root, np.zeros(s.N_STATES - CORE)])["induration"]
        independent_stable = bool(np.isfinite(root).all() and induration < 0.5 and eig < 0)
        assert bool(found.stable[i]) == independent_stable, i
        if found.stable[i]:
            np.testing.assert_allclose(found.state[i, :CORE], root, rtol=1e-6, atol=1e-6)
            assert found.max_real_eigenvalue[i] == pytest.approx(eig, rel=1e-3)


def test_agrees_with_a_long_untreated_run_from_healthy_skin(population) -> None:  # type: ignore[no-untyped-def]
    p, n = population.parameters, len(population)
    found = healthy_state_stability(p, n)
    y = simulate(p, published_state("healthy", p, n), [2000], SiteInputs.untreated(n), None, 1)
    stays_healthy = sign_severity(y[0])["induration"] < 0.5
    np.testing.assert_array_equal(found.stable, stays_healthy)


def test_without_a_stable_healthy_state_every_response_is_temporary(population) -> None:  # type: ignore[no-untyped-def]
    found = healthy_state_stability(population.parameters, len(population))
    states, _ = simulate_sites(population, "uc-msc-iv:1e8/kg x4 q2w", [0, 84, 1000])
    induration = sign_severity(states)["induration"]
    healed = induration[1] < 0.5
    assert healed.all()  # the largest dose clears every plaque while it acts …
    # … then every patient without a stable healthy state is back at the baseline plaque,
    np.testing.assert_allclose(induration[2, ~found.stable], induration[0, ~found.stable], 1e-3)
    # while those with one stay clear.
    assert (induration[2, found.stable] < 0.5).all()
