"""Whether each virtual patient has a stable healthy steady state (the bistability map).

Shmarov et al. (PLoS Comput Biol 2022;18:e1010267) describe psoriasis as a bistable switch: with
the published parameters the untreated system has a stable healthy state (79 820 cells/mm²) and a
stable plaque state (265 985). A virtual patient's parameters (:mod:`psotrack.model.population`)
move both; for some patients the healthy state no longer exists (or is no longer stable), so the
plaque is the only attractor and any therapy effect is temporary: once the therapy has gone the
plaque returns, however deep the response was.

Definition (psotrack's, one function, :func:`healthy_state_stability`): a patient **has a stable
healthy state** when Newton's method on the untreated equations, started from the published
healthy state (Tregs at the patient's level, therapy pools empty), converges (relative residual
below :data:`RESIDUAL_TOLERANCE`) to a state whose induration severity is below
:data:`HEALTHY_SEVERITY` (nearer healthy skin than the published plaque) and where every
eigenvalue of the Jacobian of the untreated core (states ``dc`` … ``vascular``, forward
differences) has a negative real part. All patients are solved at once (a batched Newton step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.model import states as s
from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.observation import sign_severity
from psotrack.model.parameters import ModelParameters
from psotrack.model.solver import published_state

FloatArray = npt.NDArray[np.float64]

#: The untreated core (every state the therapy pools do not hold).
CORE: Final = s.VASCULAR + 1
RESIDUAL_TOLERANCE: Final = 1e-9
#: A steady state with an induration severity below this is "healthy" (0 healthy, 1 plaque).
HEALTHY_SEVERITY: Final = 0.5
_NEWTON_STEPS: Final = 60
_RELATIVE_STEP: Final = 1e-7
_MAX_RELATIVE_MOVE: Final = 0.5


@dataclass(frozen=True)
class HealthyStability:
    """Per patient: the steady state Newton found, whether it is healthy and stable, and why."""

    state: FloatArray
    converged: npt.NDArray[np.bool_]
    induration: FloatArray
    max_real_eigenvalue: FloatArray  # NaN where Newton did not converge

    @property
    def stable(self) -> npt.NDArray[np.bool_]:
        """A stable healthy state exists (see the module's definition)."""
        with np.errstate(invalid="ignore"):
            negative = self.max_real_eigenvalue < 0
        return np.asarray(self.converged & (self.induration < HEALTHY_SEVERITY) & negative)

    @property
    def share(self) -> float:
        """Share of patients with a stable healthy state."""
        return float(self.stable.mean())

    def summary(self) -> pl.DataFrame:
        """One row per patient (``patient`` from 1): converged, induration, eigenvalue, stable."""
        return pl.DataFrame(
            {
                "patient": np.arange(1, self.stable.size + 1),
                "converged": self.converged,
                "induration_severity": self.induration,
                "max_real_eigenvalue": self.max_real_eigenvalue,
                "stable_healthy_state": self.stable,
                "simulated": np.ones(self.stable.size, dtype=bool),
            }
        )


def _residual(core: FloatArray, p: ModelParameters, inputs: SiteInputs) -> FloatArray:
    y = np.zeros((core.shape[0], s.N_STATES))
    y[:, :CORE] = core
    return rhs(0.0, y, p, inputs)[:, :CORE]


def core_jacobian(core: FloatArray, p: ModelParameters) -> FloatArray:
    """Forward-difference Jacobians of the untreated core, ``(n, 12, 12)``, at ``core[n, 12]``."""
    inputs = SiteInputs.untreated(core.shape[0])
    base = _residual(core, p, inputs)
    jac = np.empty((core.shape[0], CORE, CORE))
    for j in range(CORE):
        step = _RELATIVE_STEP * np.maximum(np.abs(core[:, j]), 1.0)
        moved = core.copy()
        moved[:, j] += step
        jac[:, :, j] = (_residual(moved, p, inputs) - base) / step[:, None]
    return jac


def healthy_state_stability(p: ModelParameters, n: int) -> HealthyStability:
    """Newton from the published healthy state for ``n`` patients' parameters (module notes)."""
    params = p.broadcast(n) if np.ndim(p.t_cell_recruitment) == 0 else p
    inputs = SiteInputs.untreated(n)
    core = published_state("healthy", params, n)[:, :CORE]
    scale = np.maximum(np.abs(core), 1.0)
    converged = np.zeros(n, dtype=bool)
    for _ in range(_NEWTON_STEPS):
        f = _residual(core, params, inputs)
        with np.errstate(all="ignore"):
            converged = np.all(np.abs(f) / scale <= RESIDUAL_TOLERANCE, axis=1)
        if converged.all():
            break
        jac = core_jacobian(core, params)
        ok = np.isfinite(jac).all(axis=(1, 2)) & (np.abs(np.linalg.det(jac)) > 0)
        delta = np.zeros_like(core)
        delta[ok] = np.linalg.solve(jac[ok], -f[ok][:, :, None])[:, :, 0]
        # Damped: no state moves by more than half its value in one step (an undamped step can
        # overshoot to the trivial state without keratinocytes, which is never healthy skin).
        with np.errstate(all="ignore"):
            worst = np.max(np.abs(delta) / np.maximum(core, 1e-12), axis=1)
        damping = np.minimum(1.0, _MAX_RELATIVE_MOVE / np.maximum(worst, 1e-300))
        core = core + np.where(converged, 0.0, damping)[:, None] * delta
    full = np.zeros((n, s.N_STATES))
    full[:, :CORE] = core
    eig = np.linalg.eigvals(core_jacobian(core, params)).real.max(axis=1)
    eig = np.where(converged, eig, np.nan)  # no steady state found: no eigenvalue to report
    return HealthyStability(
        state=full,
        converged=converged,
        induration=np.asarray(sign_severity(full)["induration"], dtype=np.float64),
        max_real_eigenvalue=np.asarray(eig, dtype=np.float64),
    )
