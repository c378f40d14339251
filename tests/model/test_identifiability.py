"""Identifiability grid: the profile of the fitted cell-therapy group computed two independent ways.

The grid's PASI 40 counts come from the arm simulation and the endpoint engine; here they are
recounted from the solver's states directly (``simulate_sites``, ``observe_pasi`` in exact
tenths, PASI 40 when ``10·PASI(224) ≤ 6·PASI(0)``), and the log likelihood from scipy's binomial.
The review's 5 × 6 figure at n = 300 (PASI 40 27–35 % along the ridge, PGA 0/1 within 2 points
of PASI 40) is reproduced by ``benchmarks/bench_model.py --part calibration``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from psotrack.model import ModelParameters, build_population
from psotrack.model.calibration import FIT_GROUPS, load_targets, with_typical
from psotrack.model.identifiability import default_grid, plot_ridge, profile_grid, profile_ridge
from psotrack.model.observation import observe_pasi
from psotrack.model.population import simulate_sites
from psotrack.model.trigger import NO_TRIGGER

NAMES, IDS = FIT_GROUPS["cell_therapy"]
TARGETS = {t.id: t for t in load_targets()}


def _pasi40_by_solver(population, values: dict[str, float]) -> int:  # type: ignore[no-untyped-def]
    at = with_typical(population, replace(ModelParameters(), **values))
    arm = TARGETS[IDS[0]].arm
    plaques, injected = simulate_sites(at, arm, [0.0, 224.0])
    assert injected is None  # an IV arm: one plaque per patient
    pasi = [observe_pasi(plaques[k], at.baseline_induration, at.baseline_area) for k in (0, 1)]
    tenths = [np.rint(10 * p).astype(int) for p in pasi]
    return int(np.sum((tenths[0] > 0) & (10 * tenths[1] <= 6 * tenths[0])))


def test_profile_grid_counts_agree_with_the_solver_and_scipy() -> None:
    population = build_population(24, seed=11, trigger=NO_TRIGGER)  # noise-free readings
    first, second = [1.0, 4.0], [0.7, 3.0]
    grid = profile_grid(population, seed=12, first=first, second=second)
    assert grid.height == 4 and grid.columns[:2] == list(NAMES)
    for row in grid.iter_rows(named=True):
        values = {NAMES[0]: row[NAMES[0]], NAMES[1]: row[NAMES[1]]}
        assert row[f"responders {IDS[0]}"] == _pasi40_by_solver(population, values)
        expected = sum(
            stats.binom.logpmf(
                TARGETS[i].responders, TARGETS[i].n,
                min(max(row[i], 1 / (2 * row["n"])), 1 - 1 / (2 * row["n"])),
            )
            for i in IDS
        )  # fmt: skip
        assert row["log_likelihood"] == pytest.approx(expected)
    # The mechanism's direction, a check that the grid is not constant: a more potent (lower
    # EC50), longer-lived paracrine pool gives no fewer PASI 40 responders.
    counts = {
        (r[NAMES[0]], r[NAMES[1]]): r[f"responders {IDS[0]}"] for r in grid.iter_rows(named=True)
    }
    assert counts[(1.0, 3.0)] >= counts[(4.0, 0.7)]
    assert counts[(1.0, 3.0)] > 0


def test_profile_ridge_keeps_the_most_likely_point_per_row() -> None:
    grid = pl.DataFrame(
        {
            "a": [1.0, 1.0, 1.0, 2.0, 2.0, 2.0],
            "b": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
            "rate": [0.1, 0.3, 0.5, 0.05, 0.2, 0.3],
            "n": [300] * 6,
            "log_likelihood": [-9.0, -1.0, -4.0, -9.0, -5.0, -2.0],
        }
    )
    ridge = profile_ridge(grid)
    assert ridge.select("a", "b").rows() == [(1.0, 2.0), (2.0, 3.0)]


def test_default_grid_is_five_by_six_around_the_defaults_and_plots(tmp_path: Path) -> None:
    first, second = default_grid()
    assert (len(first), len(second)) == (5, 6)
    assert float(getattr(ModelParameters(), NAMES[0])) in first
    grid = pl.DataFrame(
        {
            NAMES[0]: np.repeat([1.0, 2.0], 2),
            NAMES[1]: np.tile([1.0, 2.0], 2),
            IDS[0]: [0.1, 0.3, 0.05, 0.2],
            "n": [300] * 4,
            "log_likelihood": [-3.0, -1.0, -4.0, -2.0],
        }
    )
    path = tmp_path / "ridge.svg"
    plot_ridge(grid, path, IDS[0])
    text = path.read_text(encoding="utf-8")
    assert "SIMULATED" in text and "profile ridge" in text


def test_posterior_plot_shows_its_draws_on_the_grid(tmp_path: Path) -> None:
    from psotrack.model.posterior import Posterior

    grid = pl.DataFrame(
        {
            NAMES[0]: np.repeat([1.0, 2.0], 2),
            NAMES[1]: np.tile([1.0, 2.0], 2),
            IDS[0]: [0.1, 0.3, 0.05, 0.2],
            f"responders {IDS[0]}": [30, 90, 15, 60],
            "n": [300] * 4,
            "log_likelihood": [-3.0, -1.0, -4.0, -2.0],
        }
    )
    draws = np.array([[1.5, 1.5], [1.2, 1.8]])
    post = Posterior(tuple(NAMES), draws, {"cell_therapy": 0.5}, 10, 12, 1, 4, 2, 1)
    path = tmp_path / "posterior.svg"
    post.plot(path, grid)
    assert "posterior draws" in path.read_text(encoding="utf-8")
