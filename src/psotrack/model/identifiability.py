"""Identifiability of a fitted group: rates over a parameter grid, the profile ridge, a plot.

:func:`profile_grid` simulates a group's fitted targets (:data:`~psotrack.model.calibration.
FIT_GROUPS`) on one virtual population (common random numbers) at every point of a grid of the
group's first two parameters — by default 5 × 6 points, the stored defaults times
:data:`FACTORS_FIRST` and :data:`FACTORS_SECOND` — with the log likelihood of the published
figures (:func:`~psotrack.model.posterior.log_likelihood`) at each point. :func:`profile_ridge`
keeps, for each value of the first parameter, the grid point of highest likelihood (the profile
likelihood on the grid): when the rates barely change along that ridge, the counts constrain one
combination of the two parameters, not each one, and the prior picks the point.
:func:`plot_ridge` draws the grid, the ridge and the posterior draws. All simulated.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from psotrack.errors import ValidationError
from psotrack.model.calibration import (
    FIT_GROUPS,
    load_targets,
    measure_targets,
    with_typical,
)
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import Population
from psotrack.model.posterior import Posterior, log_likelihood

FACTORS_FIRST: Final = (0.5, 0.71, 1.0, 1.41, 2.0)
FACTORS_SECOND: Final = (0.5, 0.71, 1.0, 1.41, 2.0, 2.83)
LABEL: Final = "SIMULATED — psotrack virtual patients, not a result about any therapy"


def default_grid(group: str = "cell_therapy") -> tuple[list[float], list[float]]:
    """The stored defaults of the group's first two parameters times the default factors."""
    names = FIT_GROUPS[group][0]
    first, second = (float(getattr(ModelParameters(), k)) for k in names[:2])
    return [first * f for f in FACTORS_FIRST], [second * f for f in FACTORS_SECOND]


def profile_grid(
    population: Population,
    seed: int,
    group: str = "cell_therapy",
    first: Sequence[float] | None = None,
    second: Sequence[float] | None = None,
) -> pl.DataFrame:
    """Simulated rate of each fitted target of ``group`` and the log likelihood, per grid point.

    Columns: the two parameter names, ``<target>`` (rate, one column per target), ``responders
    <target>`` (count), ``n`` and ``log_likelihood``; lab noise seed ``seed``.
    """
    if group not in FIT_GROUPS:
        raise ValidationError("group", group, " or ".join(FIT_GROUPS), "invalid")
    names, ids = FIT_GROUPS[group]
    if first is None or second is None:
        first, second = default_grid(group)
    targets = [t for t in load_targets() if t.id in ids]
    rows: list[dict[str, float | int]] = []
    for a in first:
        for b in second:
            typical = replace(ModelParameters(), **{names[0]: float(a), names[1]: float(b)})
            measures = measure_targets(with_typical(population, typical), targets, seed)
            row: dict[str, float | int] = {names[0]: float(a), names[1]: float(b)}
            for t in targets:
                m = measures[t.id]
                assert m.count is not None and m.total
                row[t.id] = m.count / m.total
                row[f"responders {t.id}"] = m.count
                row["n"] = m.total
            row["log_likelihood"] = log_likelihood(targets, measures)
            rows.append(row)
    return pl.DataFrame(rows)


def profile_ridge(grid: pl.DataFrame) -> pl.DataFrame:
    """For each value of the first parameter, the grid row of highest log likelihood."""
    first = grid.columns[0]
    best = grid.sort("log_likelihood", descending=True, maintain_order=True)
    return best.group_by(first, maintain_order=True).first().sort(first)


def plot_ridge(
    grid: pl.DataFrame, path: Path, target: str, posterior: Posterior | None = None
) -> None:
    """Heat map of ``target``'s simulated rate over the grid (log axes), the profile ridge and
    the posterior draws of the same two parameters; SVG or PNG by the path's suffix."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    first, second = grid.columns[0], grid.columns[1]
    xs = sorted(set(grid[first].to_list()))
    ys = sorted(set(grid[second].to_list()))
    table = grid.sort(first, second)[target].to_numpy().reshape(len(xs), len(ys))
    figure = Figure(figsize=(7, 5.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    mesh = axes.pcolormesh(_edges(xs), _edges(ys), 100 * table.T, cmap="viridis", shading="flat")
    figure.colorbar(mesh, ax=axes, label=f"{target}, simulated % (n = {grid['n'][0]})")
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            axes.text(x, y, f"{100 * table[i, j]:.0f}", ha="center", va="center", fontsize=7)
    ridge = profile_ridge(grid)
    axes.plot(ridge[first], ridge[second], "w-o", lw=2, label="profile ridge (max likelihood)")
    if posterior is not None and {first, second} <= set(posterior.names):
        i, j = posterior.names.index(first), posterior.names.index(second)
        axes.scatter(
            posterior.draws[:, i], posterior.draws[:, j], s=6, c="red", alpha=0.5,
            label="posterior draws",
        )  # fmt: skip
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(xs, [f"{x:.3g}" for x in xs], minor=False)
    axes.set_yticks(ys, [f"{y:.3g}" for y in ys], minor=False)
    axes.minorticks_off()
    axes.set_xlabel(first)
    axes.set_ylabel(second)
    axes.set_title(f"{LABEL}\n{target} over the grid: a ridge, not a point", fontsize=9)
    axes.legend(loc="lower right", fontsize="small")
    figure.text(0.99, 0.01, "SIMULATED", ha="right", va="bottom", color="firebrick")
    figure.savefig(path, dpi=100)


def _edges(centres: Sequence[float]) -> list[float]:
    """Cell edges on a log axis: geometric midpoints, and one half-step beyond each end."""
    logs = [math.log(c) for c in centres]
    if len(logs) == 1:
        return [centres[0] / 1.2, centres[0] * 1.2]
    mids = [(a + b) / 2 for a, b in itertools.pairwise(logs)]
    ends = [2 * logs[0] - mids[0], *mids, 2 * logs[-1] - mids[-1]]
    return [float(np.exp(e)) for e in ends]
