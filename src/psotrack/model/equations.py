"""Right-hand side of the immune–skin ODE system, vectorised over patients (rows).

Core: Shmarov et al. PLoS Comput Biol 2022;18:e1010267, model psor.v8.4 (equations as exported
in ``matlab/steady_state_8_4.m`` of pzuliani/psoriasis), with the departures listed in
:mod:`psotrack.model.parameters`. Writing ``c = IL17·(1 − B17) + TNF`` (the cytokine load acting
on keratinocytes, ``B17`` the IL-17 blockade) and ``(1 − topical)`` for a background topical:

* signal' = SC + TA − 36.5·signal  (Shmarov: GF)
* DC'     = max(1880 + dc_stim, 0) + (1 − E_dc)·6000·signal⁴/(3·10¹² + signal⁴) − 1.5136·DC
* IL23'   = (1 − E_cyt)·DC − 36.5·IL23
* Th17'   = 0.5·55·IL23·(1 − B23)·(1 − E_th17)·σ − 1.5136·Th17,  Th1' alike without E_th17,
  σ = (1 + ρ)/(1 + ρ·Treg/Treg₀)  (Treg suppression, 1 when untreated)
* Treg'   = k_reg·Treg₀·(1 + E_treg) − k_reg·Treg
* IL17'   = (1 − E_cyt)·Th17 − 36.5·IL17,  TNF' = (1 − E_cyt)·Th1 − 36.5·TNF
* SC'     = 0.0017635·c·SC − 1.8135·10⁻⁵·SC² − 0.0036·SC
* TA'     = 0.0015415·c·SC + 0.0017562·c·TA − 3.7321·10⁻⁶·TA² − 0.0036·TA
* D'      = 0.0018063·c·TA − 5.05·10⁻⁷·D² − (0.0036 + 0.0047529)·D
* V'      = k_V·(c/c_healthy − V)
* paracrine pools decay at ln 2/t½; blocker: depot' = −ka·depot, central' = ka·depot − ke·central
* live MSCs (issue 18): lung' = −k_lung·lung, organs' = f_escape·k_lung·lung − k_org·organs,
  depot' = −k_depot·depot; P_sys' = q·(lung + organs + spill·depot) − k_P·P_sys,
  P_loc' = q·depot − k_P·P_loc (doses enter the lung (IV) or the depot (perilesional))

Every ``E_*`` is an Emax term ``Emax·P/(EC50 + P)`` of the paracrine activity reaching the site,
``P = potency·(P_systemic + local_exposure·P_local)``; ``B = Emax·C/(EC50 + C)`` of the blocker.
With no therapy the Th17+Th1, IL-17+TNF sums obey Shmarov's equations exactly, so the published
steady states (≈ 79 820 cells/mm² healthy, ≈ 265 985 plaque) are kept.

For the integrators the system is split as ``y' = N(y) − λ·y``: ``λ`` (:func:`decay_rates`) holds
the linear first-order losses, which carry the stiffness (36.5/day for cytokines), and ``N``
(:func:`production_terms`) everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError
from psotrack.model import states as s
from psotrack.model.parameters import HEALTHY_CYTOKINE_LOAD, ModelParameters

#: The largest topical damping the equations accept (a full block would stop the load entirely).
MAX_TOPICAL = 0.99

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SiteInputs:
    """Per-row constants that say how therapies reach each simulated site (arrays of length n).

    ``potency`` multiplies paracrine activity (cell source); ``local_exposure`` is 1 for a plaque
    injected perilesionally, 0 elsewhere; ``il17_block``/``il23_block`` are 1 where the blocker
    targets that cytokine; ``topical`` is the fractional reduction of the keratinocyte cytokine
    load by a background topical (0 = none).
    """

    potency: FloatArray
    local_exposure: FloatArray
    il17_block: FloatArray
    il23_block: FloatArray
    topical: FloatArray

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            values = np.asarray(getattr(self, f.name), dtype=np.float64)
            high = MAX_TOPICAL if f.name == "topical" else (np.inf if f.name == "potency" else 1.0)
            bad = ~np.isfinite(values) | (values < 0) | (values > high)
            if bad.any():
                shown = values.ravel()[int(np.argmax(bad.ravel()))].item()
                problems.append(Problem(f.name, shown, f"0–{high}"))
        if problems:
            raise ValidationError(problems=problems)

    @classmethod
    def untreated(cls, n: int) -> SiteInputs:
        zeros = np.zeros(n)
        return cls(np.ones(n), zeros, zeros.copy(), zeros.copy(), zeros.copy())

    def take(self, index: npt.ArrayLike) -> SiteInputs:
        """The inputs of the selected rows (an index array or a boolean mask)."""
        idx = np.asarray(index)
        return SiteInputs(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def decay_rates(p: ModelParameters, n: int) -> FloatArray:
    """The first-order loss rates λ (1/day), shape ``(n_states, n)``; constant in time."""
    lam = np.empty((s.N_STATES, n))
    lam[s.DC] = p.dc_clearance
    lam[[s.IL23, s.IL17, s.TNF, s.SIGNAL]] = p.cytokine_clearance
    lam[[s.TH17, s.TH1]] = p.t_cell_clearance
    lam[s.TREG] = p.treg_turnover
    lam[[s.STEM, s.TRANSIT]] = p.keratinocyte_death
    lam[s.DIFFERENTIATED] = np.asarray(p.keratinocyte_death) + np.asarray(p.d_shedding)
    lam[s.VASCULAR] = p.vascular_rate
    lam[[s.PARACRINE_SYSTEMIC, s.PARACRINE_LOCAL]] = p.paracrine_decay
    lam[s.BLOCKER_DEPOT] = p.blocker_absorption
    lam[s.BLOCKER_CENTRAL] = p.blocker_elimination
    lam[s.MSC_LUNG] = p.msc_lung_loss
    lam[s.MSC_ORGANS] = p.msc_organ_loss
    lam[s.MSC_DEPOT] = p.msc_depot_loss
    return lam


def _emax(emax: float | FloatArray, level: FloatArray, ec50: float | FloatArray) -> FloatArray:
    return np.asarray(emax * level / (ec50 + level), dtype=np.float64)


def keratinocyte_load(yt: FloatArray, p: ModelParameters, inputs: SiteInputs) -> FloatArray:
    """The cytokine load ``c`` acting on keratinocytes (IL-17/IL-22 after blockade + TNF/IFN-γ)."""
    blocker = np.maximum(yt[s.BLOCKER_CENTRAL], 0.0)
    b17 = inputs.il17_block * _emax(p.blocker_emax, blocker, p.blocker_ec50)
    load: FloatArray = (yt[s.IL17] * (1.0 - b17) + yt[s.TNF]) * (1.0 - inputs.topical)
    return load


def production_terms(
    yt: FloatArray, p: ModelParameters, inputs: SiteInputs, dc_stim: FloatArray | float = 0.0
) -> FloatArray:
    """``N(y)``: every term except the linear losses, for states laid out as ``(n_states, n)``.

    ``dc_stim`` is Shmarov's onset/flare stimulus added to the DC influx (per row or scalar;
    :mod:`psotrack.model.trigger`).
    """
    out = np.zeros_like(yt)
    paracrine = inputs.potency * np.maximum(
        yt[s.PARACRINE_SYSTEMIC] + inputs.local_exposure * yt[s.PARACRINE_LOCAL], 0.0
    )
    occupancy = paracrine / (p.paracrine_ec50 + paracrine)
    blocker = np.maximum(yt[s.BLOCKER_CENTRAL], 0.0)
    b23 = inputs.il23_block * _emax(p.blocker_emax, blocker, p.blocker_ec50)
    cytokine_kept = 1.0 - p.msc_cytokine_emax * occupancy

    signal4 = np.maximum(yt[s.SIGNAL], 0.0) ** 4
    hill = signal4 / (p.dc_activation_half + signal4)
    # A stimulus cannot remove more than the basal influx brings (influx ≥ 0).
    influx = np.maximum(p.dc_basal_influx + dc_stim, 0.0)
    out[s.DC] = influx + (1.0 - p.msc_dc_emax * occupancy) * p.dc_activation_max * hill
    out[s.IL23] = cytokine_kept * p.il23_production * yt[s.DC]

    suppression = (1.0 + p.treg_suppression) / (
        1.0 + p.treg_suppression * np.maximum(yt[s.TREG], 0.0) / p.treg_level
    )
    recruitment = p.t_cell_recruitment * yt[s.IL23] * (1.0 - b23) * suppression
    out[s.TH17] = p.th17_fraction * recruitment * (1.0 - p.msc_th17_emax * occupancy)
    out[s.TH1] = (1.0 - np.asarray(p.th17_fraction)) * recruitment
    out[s.TREG] = p.treg_turnover * p.treg_level * (1.0 + p.msc_treg_emax * occupancy)
    out[s.IL17] = cytokine_kept * p.il17_production * yt[s.TH17]
    out[s.TNF] = cytokine_kept * p.tnf_production * yt[s.TH1]

    stem, transit, diff = yt[s.STEM], yt[s.TRANSIT], yt[s.DIFFERENTIATED]
    load = keratinocyte_load(yt, p, inputs)
    out[s.SIGNAL] = p.signal_production * (stem + transit)
    out[s.STEM] = p.sc_proliferation * load * stem - p.sc_crowding * stem * stem
    out[s.TRANSIT] = (
        p.ta_from_sc * load * stem
        + p.ta_proliferation * load * transit
        - p.ta_crowding * transit * transit
    )
    out[s.DIFFERENTIATED] = p.d_from_ta * load * transit - p.d_crowding * diff * diff
    out[s.VASCULAR] = p.vascular_rate * load / HEALTHY_CYTOKINE_LOAD
    out[s.BLOCKER_CENTRAL] = p.blocker_absorption * yt[s.BLOCKER_DEPOT]
    cell_kinetics(yt, p, out)
    return out


def cell_kinetics(yt: FloatArray, p: ModelParameters, out: FloatArray) -> None:
    """Write the production terms of the live-MSC states and the paracrine pools into ``out``.

    Live cells secrete into the pools (the pools' losses and the cells' own losses are in
    :func:`decay_rates`): lung and organ cells into the systemic pool, depot cells into the
    local pool and, at ``msc_depot_spillover``, into the systemic pool.
    """
    lung, organs, depot = yt[s.MSC_LUNG], yt[s.MSC_ORGANS], yt[s.MSC_DEPOT]
    # In place (no temporaries): this runs four times per step for every patient.
    escaped = out[s.MSC_ORGANS]
    np.multiply(lung, p.msc_lung_loss, out=escaped)
    escaped *= p.msc_lung_escape
    systemic = out[s.PARACRINE_SYSTEMIC]
    np.multiply(depot, p.msc_depot_spillover, out=systemic)
    systemic += lung
    systemic += organs
    systemic *= p.msc_secretion
    np.multiply(depot, p.msc_secretion, out=out[s.PARACRINE_LOCAL])


def rhs(
    t: float,
    y: FloatArray,
    p: ModelParameters,
    inputs: SiteInputs,
    dc_stim: FloatArray | float = 0.0,
) -> FloatArray:
    """``dy/dt`` for ``y`` of shape ``(n_rows, n_states)`` (``t`` is unused: time enters only
    through ``dc_stim``, the stimulus at ``t``).

    ``p`` holds scalars or arrays of length ``n_rows``; returns an array shaped like ``y``.
    """
    yt = np.ascontiguousarray(np.atleast_2d(y).T)
    n = yt.shape[1]
    dydt = production_terms(yt, p, inputs, dc_stim) - decay_rates(p, n) * yt
    return np.ascontiguousarray(dydt.T)
