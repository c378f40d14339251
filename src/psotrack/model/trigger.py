"""The onset/flare stimulus ``dc_stim``: a seeded Ornstein–Uhlenbeck process per virtual patient.

Shmarov et al. (PLoS Comput Biol 2022;18:e1010267, model psor.v8.4, ``models/psor_v8_4.xml`` of
pzuliani/psoriasis, reaction 29) add a stimulus ``dc_stim`` (cells/mm²/day) to the basal influx
of dendritic cells: ``DC' = dc_act + dc_stim + …``, ``dc_act`` = 1880. The authors switch it on
as a pulse (e.g. 6000 for 7 days) to start a plaque (onset) or a flare. psotrack makes it a
continuous, patient-specific fluctuation (a psotrack assumption: the published model has no
noise): an Ornstein–Uhlenbeck process

    dX = −(X − μ)/τ dt + σ dW,   stationary mean μ, variance σ²τ/2, autocorrelation e^(−Δ/τ),

so that patients near the switching threshold of the bistable plaque can remit and flare
without therapy (a placebo-arm response). ``sigma = 0`` switches it off exactly (``dc_stim`` ≡
``mean``, 0 by default: the published untreated model).

Sampling is exact on a grid of step ``h``: ``X_{k+1} = μ + a·(X_k − μ) + s·√(1 − a²)·Z_k``,
``a = e^(−h/τ)``, ``s = σ·√(τ/2)``, ``Z_k`` standard normal from one seeded stream, drawn one
step at a time (memory ``O(n)``). Between grid points both solvers integrate the straight line
between the two grid values (:func:`psotrack.model.solver.simulate` by its stage times,
:func:`psotrack.model.solver.simulate_reference` through :meth:`TriggerPath.at`), so they
integrate the same forcing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TriggerSpec:
    """OU parameters of ``dc_stim``: ``sigma`` (cells/mm²/day per √day), ``tau`` (days), ``mean``
    (cells/mm²/day)."""

    sigma: float
    tau: float
    mean: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if not np.isfinite(self.sigma) or self.sigma < 0:
            problems.append(Problem("trigger.sigma", self.sigma, "≥ 0 cells/mm²/day per √day"))
        if not np.isfinite(self.tau) or self.tau <= 0:
            problems.append(Problem("trigger.tau", self.tau, "> 0 days"))
        if not np.isfinite(self.mean):
            problems.append(Problem("trigger.mean", self.mean, "a finite cells/mm²/day"))
        if problems:
            raise ValidationError(problems=problems)

    @property
    def stationary_sd(self) -> float:
        """``σ·√(τ/2)``, the standard deviation of the stationary process."""
        return float(self.sigma * np.sqrt(self.tau / 2.0))


#: psotrack's default trigger, calibrated to the pooled placebo arms with the stiff-order-4 solver
#: (docs/model.md section 15; σ 650 with ETDRK4 until 2026-12-04).
DEFAULT_TRIGGER: Final = TriggerSpec(sigma=620.0, tau=10.0, mean=400.0)
#: No trigger: ``dc_stim`` ≡ 0, the published untreated model.
NO_TRIGGER: Final = TriggerSpec(sigma=0.0, tau=10.0)


class TriggerStream:
    """The OU values of ``n`` patients on a grid of step ``h``, one step at a time.

    ``x0`` is the value at the first grid point (per patient); ``rows`` maps simulated rows to
    patients (two sites of one patient share a path). :attr:`value` is the current grid value
    per row; :meth:`advance` moves one step, drawing ``n`` normals from the seeded stream.
    """

    def __init__(
        self,
        spec: TriggerSpec,
        x0: FloatArray,
        seed: int | np.random.SeedSequence,
        h: float,
        rows: npt.NDArray[np.intp] | None = None,
    ) -> None:
        self.spec = spec
        self.h = h
        self._x = np.asarray(x0, dtype=np.float64).copy()
        self._rng = np.random.default_rng(seed)
        self._a = float(np.exp(-h / spec.tau))
        self._scale = spec.stationary_sd * float(np.sqrt(1.0 - self._a * self._a))
        self._rows = rows

    @property
    def value(self) -> FloatArray:
        return self._x if self._rows is None else self._x[self._rows]

    @property
    def state(self) -> FloatArray:
        """The current value per patient (not per row): where a later segment continues."""
        return self._x.copy()

    def advance(self) -> FloatArray:
        z = self._rng.standard_normal(self._x.shape[0])
        mu = self.spec.mean
        self._x = mu + self._a * (self._x - mu) + self._scale * z
        return self.value


def stationary_start(spec: TriggerSpec, n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` draws from the stationary distribution (mean, SD ``σ·√(τ/2)``); zeros-safe."""
    return np.asarray(spec.mean + spec.stationary_sd * rng.standard_normal(n), dtype=np.float64)


@dataclass(frozen=True)
class TriggerPath:
    """One row's ``dc_stim`` values on the grid ``k·h``; linear in between (for ``solve_ivp``)."""

    values: FloatArray
    h: float

    def at(self, t: float) -> float:
        grid = np.arange(self.values.size) * self.h
        return float(np.interp(t, grid, self.values))


def row_paths(stream: TriggerStream, steps: int, rows: npt.ArrayLike) -> list[TriggerPath]:
    """The grid paths of ``rows`` for ``steps`` steps, advancing ``stream`` (reference solver).

    Draws the same normals as :func:`psotrack.model.solver.simulate` does with an identical
    stream, so both solvers integrate the same forcing; memory ``steps × len(rows)``.
    """
    index = np.asarray(rows, dtype=np.intp)
    values = np.empty((steps + 1, index.size))
    values[0] = stream.value[index]
    for k in range(steps):
        values[k + 1] = stream.advance()[index]
    return [TriggerPath(values[:, j].copy(), stream.h) for j in range(index.size)]
