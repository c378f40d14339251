"""Right-hand side of the immune–skin ODE system, vectorised over patients (rows).

Core: Shmarov et al. PLoS Comput Biol 2022;18:e1010267, model psor.v8.4 (equations as exported
in ``matlab/steady_state_8_4.m`` of pzuliani/psoriasis), with the departures listed in
:mod:`psotrack.model.parameters`. Writing ``c = IL17·(1 − B17) + TNF`` (the cytokine load acting
on keratinocytes, ``B17`` the IL-17 blockade) and ``(1 − topical)`` for a background topical:

* signal' = (SC + TA)·(1 − χ·B17) − 36.5·signal  (Shmarov: GF; χ the IL-17-driven share)
* DC'     = max(1880 + dc_stim, 0) + (1 − E_dc)·6000·signal⁴/(3·10¹² + signal⁴) − 1.5136·DC
  (``dc_stim`` Shmarov's onset/flare stimulus, :mod:`psotrack.model.trigger`; 0 untreated)
* IL23'   = (1 − E_cyt)·DC − 36.5·IL23
* Th17'   = 0.5·55·IL23·σ·(1 − E_th17)·[(1 − θ)(1 − B23) + θ·(1 − trm)] − 1.5136·Th17,
  Th1' = 0.5·55·IL23·σ·(1 − ψ·B12) − 1.5136·Th1 (ψ the IL-12-driven share),
  σ = (1 + ρ)/(1 + ρ·Treg/Treg₀) (Treg suppression, 1 when untreated),
  trm' = k_trm·(B23 − trm) (resident-memory depletion)
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
``P = potency·(P_systemic + local_exposure·P_local)``; ``B = Emax·C/(EC50 + C)`` of the arm's
blocker (its drug's constants), ``B17/B23/B12`` where it neutralises IL-17, IL-23 or IL-12.
With no therapy the Th17+Th1, IL-17+TNF sums obey Shmarov's equations exactly, so the published
steady states (≈ 79 820 cells/mm² healthy, ≈ 265 985 plaque) are kept.

For the integrators the system is split as ``y' = N(y) − λ·y``: ``λ`` (:func:`decay_rates`) holds
the linear first-order losses, which carry the stiffness (36.5/day for cytokines), and ``N``
(:func:`production_terms`) everything else. ``N`` is written in two parts: the therapy states
(:data:`LINEAR_STATES`, :func:`linear_production`), a closed linear system that the solver
integrates exactly, and the immune–skin states (:func:`immune_skin_production`), which see the
therapy only through :func:`therapy_factors`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError
from psotrack.model import states as s
from psotrack.model.parameters import BLOCKERS, HEALTHY_CYTOKINE_LOAD, ModelParameters, Value

#: The largest topical damping the equations accept (a full block would stop the load entirely).
MAX_TOPICAL = 0.99

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SiteInputs:
    """Per-row constants that say how therapies reach each simulated site (arrays of length n).

    ``potency`` multiplies paracrine activity (cell source); ``local_exposure`` is 1 for a plaque
    injected perilesionally, 0 elsewhere; ``il17_block``/``il23_block``/``il12_block`` are 1
    where the arm's blocker neutralises that cytokine (anti-IL-17: IL-17; anti-IL-23 p19: IL-23;
    anti-IL-12/23 p40: IL-23 and IL-12); ``topical`` is the fractional reduction of the
    keratinocyte cytokine load by a background topical (0 = none). The flags also choose the
    blocker's PK and potency (:func:`blocker_constants`).
    """

    potency: FloatArray
    local_exposure: FloatArray
    il17_block: FloatArray
    il23_block: FloatArray
    topical: FloatArray
    il12_block: FloatArray

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
        return cls(np.ones(n), zeros, zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy())

    def take(self, index: npt.ArrayLike) -> SiteInputs:
        """The inputs of the selected rows (an index array or a boolean mask)."""
        idx = np.asarray(index)
        return SiteInputs(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass(frozen=True)
class BlockerConstants:
    """Per-row PK and potency of the arm's blocker (label-dose units, 1/day)."""

    absorption: FloatArray
    elimination: FloatArray
    ec50: FloatArray
    emax: FloatArray


def blocker_weights(inputs: SiteInputs | None, n: int) -> tuple[FloatArray, ...]:
    """Per-row weights ``(w_il17, w_il23, w_p40)`` of the three blockers' constants.

    ``w_p40 = il12_block``, ``w_il23 = il23_block·(1 − il12_block)``, ``w_il17`` the rest: for
    the 0/1 flags of a schedule, exactly one weight is 1 (the arm's drug; anti-IL-17 for a row
    without a blocker, whose antibody states stay 0). Written as products, not a choice, so that
    the SBML export states the same formula.
    """
    if inputs is None:
        zeros = np.zeros(n)
        return np.ones(n), zeros, zeros.copy()
    w40 = np.asarray(inputs.il12_block, dtype=np.float64)
    w23 = inputs.il23_block * (1.0 - w40)
    return 1.0 - w40 - w23, w23, w40


def blocker_constants(p: ModelParameters, inputs: SiteInputs | None, n: int) -> BlockerConstants:
    """The blocker's absorption, elimination, EC50 and Emax per row (:func:`blocker_weights`).

    The EC50 is the drug's typical one times the patient's relative EC50 ``blocker_ec50``; the
    Emax is the drug's, or 0 for a primary non-responder to it (:func:`responds_to_blocker`).
    """
    weights = blocker_weights(inputs, n)

    def mix(values: list[Value]) -> FloatArray:
        return np.asarray(sum(w * v for w, v in zip(weights, values, strict=True)), np.float64)

    nonresponse = mix([getattr(p, f"blocker_{d}_nonresponse") for d in BLOCKERS])
    return BlockerConstants(
        absorption=mix([getattr(p, f"blocker_{d}_absorption") for d in BLOCKERS]),
        elimination=mix([p.blocker_elimination(d) for d in BLOCKERS]),
        ec50=mix([getattr(p, f"blocker_{d}_ec50") for d in BLOCKERS]) * p.blocker_ec50,
        emax=mix([getattr(p, f"blocker_{d}_emax") for d in BLOCKERS])
        * responds_to_blocker(p.blocker_response_draw, nonresponse),
    )


def responds_to_blocker(draw: Value, nonresponse: Value) -> FloatArray:
    """1 where a patient responds to the drug, 0 for a primary non-responder (``draw < share``).

    ``draw`` is the patient's uniform draw ``blocker_response_draw``, ``nonresponse`` the drug's
    share of primary non-responders: with ``u ~ U(0, 1)`` a share ``f`` of patients has
    ``u < f`` (docs/model.md §5.3). A share of 0 makes everyone a responder.

    >>> responds_to_blocker(np.array([0.05, 0.5, 1.0]), 0.12).tolist()
    [0.0, 1.0, 1.0]
    """
    return np.where(np.asarray(draw) < np.asarray(nonresponse), 0.0, 1.0)


def decay_rates(p: ModelParameters, n: int, inputs: SiteInputs | None = None) -> FloatArray:
    """The first-order loss rates λ (1/day), shape ``(n_states, n)``; constant in time.

    ``inputs`` chooses each row's blocker PK (none: anti-IL-17's, irrelevant without a dose).
    """
    lam = np.empty((s.N_STATES, n))
    lam[s.DC] = p.dc_clearance
    lam[[s.IL23, s.IL17, s.TNF, s.SIGNAL]] = p.cytokine_clearance
    lam[[s.TH17, s.TH1]] = p.t_cell_clearance
    lam[s.TREG] = p.treg_turnover
    lam[[s.STEM, s.TRANSIT]] = p.keratinocyte_death
    lam[s.DIFFERENTIATED] = np.asarray(p.keratinocyte_death) + np.asarray(p.d_shedding)
    lam[s.VASCULAR] = p.vascular_rate
    lam[[s.PARACRINE_SYSTEMIC, s.PARACRINE_LOCAL]] = p.paracrine_decay
    pk = blocker_constants(p, inputs, n)
    lam[s.BLOCKER_DEPOT] = pk.absorption
    lam[s.BLOCKER_CENTRAL] = pk.elimination
    lam[s.MSC_LUNG] = p.msc_lung_loss
    lam[s.MSC_ORGANS] = p.msc_organ_loss
    lam[s.MSC_DEPOT] = p.msc_depot_loss
    lam[s.TRM_DEPLETION] = p.trm_rate
    return lam


def _emax(emax: float | FloatArray, level: FloatArray, ec50: float | FloatArray) -> FloatArray:
    return np.asarray(emax * level / (ec50 + level), dtype=np.float64)


#: The therapy-kinetics states (paracrine pools, blocker, live MSCs). Their equations are linear
#: with constant coefficients and contain no immune–skin state: production
#: :func:`linear_production`, losses :func:`decay_rates`. The solver integrates them exactly and
#: the immune–skin states see them only through :func:`therapy_factors`.
LINEAR_STATES: Final = (
    s.PARACRINE_SYSTEMIC,
    s.PARACRINE_LOCAL,
    s.BLOCKER_DEPOT,
    s.BLOCKER_CENTRAL,
    s.MSC_LUNG,
    s.MSC_ORGANS,
    s.MSC_DEPOT,
)


@dataclass(frozen=True)
class TherapyFactors:
    """The per-row factors of the immune–skin production terms at one time (length n or scalar).

    Each is a parameter combination, changed by the therapy states (paracrine occupancy ``occ``,
    blockade ``B``) where the symbol shows it; :func:`therapy_factors` computes them.
    """

    dc_influx: FloatArray  # max(dc_basal_influx + dc_stim, 0)
    dc_activation: FloatArray  # (1 − E_dc)·dc_activation_max
    il23_gain: FloatArray  # (1 − E_cyt)·il23_production
    recruitment: Value  # t_cell_recruitment·(1 + ρ)
    treg_weight: Value  # ρ/Treg₀ (σ = (1 + ρ)/(1 + ρ·Treg/Treg₀))
    th17_gain: FloatArray  # th17_fraction·(1 − E_th17)
    th17_current: FloatArray  # (1 − θ)·(1 − B23): the share IL-23 drives now
    th17_memory: Value  # θ: the resident-memory share, times (1 − trm) in the equation
    th1_gain: FloatArray  # (1 − th17_fraction)·(1 − ψ·B12)
    signal_gain: FloatArray  # signal_production·(1 − χ·B17)
    trm_production: FloatArray  # k_trm·B23
    treg_production: FloatArray  # treg_turnover·Treg₀·(1 + E_treg)
    il17_gain: FloatArray  # (1 − E_cyt)·il17_production
    tnf_gain: FloatArray  # (1 − E_cyt)·tnf_production
    il17_load: FloatArray  # (1 − B17)·(1 − topical): IL-17's weight in the load c
    tnf_load: Value  # 1 − topical: TNF's weight in the load c
    vascular_gain: Value  # vascular_rate / HEALTHY_CYTOKINE_LOAD


#: Values of some :class:`TherapyFactors` fields, by field name.
FactorGroup = dict[str, Any]
#: The groups of :class:`TherapyFactors`: those fixed by the parameters, those changed by the
#: paracrine occupancy, those changed by the blockade (the stimulus changes ``dc_influx``).
STEADY_FACTORS: Final = (
    "recruitment", "treg_weight", "th17_memory", "tnf_load", "vascular_gain",
)  # fmt: skip
PARACRINE_FACTORS: Final = (
    "dc_activation", "il23_gain", "th17_gain", "treg_production", "il17_gain", "tnf_gain",
)  # fmt: skip
BLOCKADE_FACTORS: Final = (
    "th17_current", "th1_gain", "signal_gain", "trm_production", "il17_load",
)  # fmt: skip
#: The therapy states that the paracrine occupancy and the blockade read: while all of a group's
#: states are 0 its factors are those of no therapy (the solver then computes them once).
PARACRINE_SOURCES: Final = (
    s.PARACRINE_SYSTEMIC, s.PARACRINE_LOCAL, s.MSC_LUNG, s.MSC_ORGANS, s.MSC_DEPOT,
)  # fmt: skip
BLOCKADE_SOURCES: Final = (s.BLOCKER_DEPOT, s.BLOCKER_CENTRAL)


@dataclass(frozen=True)
class HeldFactors:
    """Groups of :class:`TherapyFactors` that a caller computed once and holds (``None``: not held).

    The solver holds ``steady`` always, and ``paracrine`` or ``blockade`` for a block of rows
    whose group of therapy states (:data:`PARACRINE_SOURCES`, :data:`BLOCKADE_SOURCES`) starts
    at 0 and receives no dose, so stays exactly 0.
    """

    steady: FactorGroup | None = None
    paracrine: FactorGroup | None = None
    blockade: FactorGroup | None = None


def paracrine_occupancy(yt: FloatArray, p: ModelParameters, inputs: SiteInputs) -> FloatArray:
    """Occupancy ``P/(EC50 + P)`` of the paracrine activity reaching the site,
    ``P = potency·max(P_sys + local_exposure·P_loc, 0)``."""
    paracrine = inputs.local_exposure * yt[s.PARACRINE_LOCAL]
    paracrine += yt[s.PARACRINE_SYSTEMIC]
    np.maximum(paracrine, 0.0, out=paracrine)
    paracrine *= inputs.potency
    occupancy: FloatArray = paracrine / (p.paracrine_ec50 + paracrine)
    return occupancy


def steady_factors(p: ModelParameters, inputs: SiteInputs) -> FactorGroup:
    """The factors no therapy state changes (:data:`STEADY_FACTORS`)."""
    return {
        "recruitment": (1.0 + np.asarray(p.treg_suppression)) * p.t_cell_recruitment,
        "treg_weight": p.treg_suppression / p.treg_level,
        "th17_memory": p.trm_share,
        "tnf_load": 1.0 - inputs.topical,
        "vascular_gain": p.vascular_rate / HEALTHY_CYTOKINE_LOAD,
    }


def paracrine_factors(occupancy: FloatArray | float, p: ModelParameters) -> FactorGroup:
    """The factors the paracrine occupancy changes (:data:`PARACRINE_FACTORS`)."""
    cytokine_kept = 1.0 - p.msc_cytokine_emax * occupancy
    return {
        "dc_activation": (1.0 - p.msc_dc_emax * occupancy) * p.dc_activation_max,
        "il23_gain": cytokine_kept * p.il23_production,
        "th17_gain": p.th17_fraction * (1.0 - p.msc_th17_emax * occupancy),
        "treg_production": p.treg_turnover * p.treg_level * (1.0 + p.msc_treg_emax * occupancy),
        "il17_gain": cytokine_kept * p.il17_production,
        "tnf_gain": cytokine_kept * p.tnf_production,
    }


def blockade_factors(
    blocked: FloatArray | float, p: ModelParameters, inputs: SiteInputs
) -> FactorGroup:
    """The factors the blockade ``B`` changes (:data:`BLOCKADE_FACTORS`)."""
    b17, b23 = inputs.il17_block * blocked, inputs.il23_block * blocked
    return {
        "th17_current": (1.0 - np.asarray(p.trm_share)) * (1.0 - b23),
        "th1_gain": (1.0 - np.asarray(p.th17_fraction))
        * (1.0 - p.il12_th1_share * inputs.il12_block * blocked),
        "signal_gain": p.signal_production * (1.0 - p.il17_signal_share * b17),
        "trm_production": p.trm_rate * b23,
        "il17_load": (1.0 - b17) * (1.0 - inputs.topical),
    }


def therapy_factors(
    yt: FloatArray,
    p: ModelParameters,
    inputs: SiteInputs,
    dc_stim: FloatArray | float = 0.0,
    pk: BlockerConstants | None = None,
    held: HeldFactors | None = None,
) -> TherapyFactors:
    """The :class:`TherapyFactors` for states ``yt`` laid out as ``(n_states, n)``.

    Reads only the therapy states (:data:`LINEAR_STATES`) and the stimulus ``dc_stim`` at that
    time (per row or scalar; a stimulus cannot remove more than the basal influx brings);
    ``pk`` as in :func:`blockade`; ``held``: groups already computed (:class:`HeldFactors`).
    """
    held = held if held is not None else HeldFactors()
    steady = held.steady if held.steady is not None else steady_factors(p, inputs)
    paracrine = held.paracrine
    if paracrine is None:
        paracrine = paracrine_factors(paracrine_occupancy(yt, p, inputs), p)
    blocked = held.blockade
    if blocked is None:
        blocked = blockade_factors(blockade(yt, p, inputs, pk), p, inputs)
    return TherapyFactors(
        dc_influx=np.maximum(p.dc_basal_influx + np.asarray(dc_stim, dtype=np.float64), 0.0),
        **steady,
        **paracrine,
        **blocked,
    )


def blockade(
    yt: FloatArray, p: ModelParameters, inputs: SiteInputs, pk: BlockerConstants | None = None
) -> FloatArray:
    """Fractional neutralisation ``B = Emax·C/(EC50 + C)`` by the arm's blocker, per row.

    ``pk``: the rows' :func:`blocker_constants`, when the caller has them (the solver, once per
    block of rows).
    """
    pk = pk if pk is not None else blocker_constants(p, inputs, yt.shape[1])
    return _emax(pk.emax, np.maximum(yt[s.BLOCKER_CENTRAL], 0.0), pk.ec50)


def _load(yt: FloatArray, f: TherapyFactors) -> FloatArray:
    """The cytokine load ``c`` acting on keratinocytes (IL-17/IL-22 after blockade + TNF/IFN-γ)."""
    load: FloatArray = yt[s.IL17] * f.il17_load
    load += yt[s.TNF] * f.tnf_load
    return load


def production_terms(
    yt: FloatArray, p: ModelParameters, inputs: SiteInputs, dc_stim: FloatArray | float = 0.0
) -> FloatArray:
    """``N(y)``: every term except the linear losses, for states laid out as ``(n_states, n)``.

    ``dc_stim`` is Shmarov's onset/flare stimulus added to the DC influx (per row or scalar;
    :mod:`psotrack.model.trigger`).
    """
    out = np.zeros_like(yt)
    immune_skin_production(yt, therapy_factors(yt, p, inputs, dc_stim), p, out)
    linear_production(yt, p, inputs, out)
    return out


def immune_skin_production(
    yt: FloatArray, f: TherapyFactors, p: ModelParameters, out: FloatArray
) -> None:
    """Write ``N(y)`` of the immune–skin states (all but :data:`LINEAR_STATES`) into ``out``.

    The equations of the module docstring; the therapy states enter only through the factors
    ``f`` (:func:`therapy_factors`), and only the immune–skin rows of ``yt`` are read.
    """
    # Few operations, in place where it does not hide the equation: the solver calls this four
    # times per step for every patient.
    signal4 = np.maximum(yt[s.SIGNAL], 0.0)
    signal4 *= signal4
    signal4 *= signal4
    dc = out[s.DC]
    np.divide(signal4, p.dc_activation_half + signal4, out=dc)  # Hill term of the signal
    dc *= f.dc_activation
    dc += f.dc_influx
    np.multiply(f.il23_gain, yt[s.DC], out=out[s.IL23])

    # Recruitment × σ = recruitment·(1 + ρ)·IL23/(1 + ρ·max(Treg, 0)/Treg₀)
    recruitment = np.maximum(yt[s.TREG], 0.0)
    recruitment *= f.treg_weight
    recruitment += 1.0
    np.divide(yt[s.IL23], recruitment, out=recruitment)
    recruitment *= f.recruitment
    # Th17: a share θ held by resident memory (1 − depletion), the rest by IL-23 now (1 − B23).
    drive = 1.0 - yt[s.TRM_DEPLETION]
    drive *= f.th17_memory
    drive += f.th17_current
    drive *= f.th17_gain
    np.multiply(drive, recruitment, out=out[s.TH17])
    np.multiply(f.th1_gain, recruitment, out=out[s.TH1])
    out[s.TRM_DEPLETION] = f.trm_production
    out[s.TREG] = f.treg_production
    np.multiply(f.il17_gain, yt[s.TH17], out=out[s.IL17])
    np.multiply(f.tnf_gain, yt[s.TH1], out=out[s.TNF])

    stem, transit, diff = yt[s.STEM], yt[s.TRANSIT], yt[s.DIFFERENTIATED]
    load = _load(yt, f)
    np.add(stem, transit, out=out[s.SIGNAL])
    out[s.SIGNAL] *= f.signal_gain
    # SC' = (sc_proliferation·c − sc_crowding·SC)·SC
    np.multiply(p.sc_proliferation * load - p.sc_crowding * stem, stem, out=out[s.STEM])
    # TA' = (ta_from_sc·SC + ta_proliferation·TA)·c − ta_crowding·TA²
    gain = p.ta_from_sc * stem + p.ta_proliferation * transit
    gain *= load
    np.subtract(gain, p.ta_crowding * transit * transit, out=out[s.TRANSIT])
    # D' = d_from_ta·c·TA − d_crowding·D²
    gain = p.d_from_ta * load * transit
    np.subtract(gain, p.d_crowding * diff * diff, out=out[s.DIFFERENTIATED])
    np.multiply(f.vascular_gain, load, out=out[s.VASCULAR])


def linear_production(
    yt: FloatArray, p: ModelParameters, inputs: SiteInputs | None, out: FloatArray
) -> None:
    """Write the production terms of :data:`LINEAR_STATES` into ``out`` (linear in those states).

    The blocker's absorption from the depot into the central compartment (the arm's drug,
    :func:`blocker_constants`), and the cell kinetics (:func:`cell_kinetics`).
    """
    absorption = blocker_constants(p, inputs, yt.shape[1]).absorption
    np.multiply(yt[s.BLOCKER_DEPOT], absorption, out=out[s.BLOCKER_CENTRAL])
    cell_kinetics(yt, p, out)


def cell_kinetics(yt: FloatArray, p: ModelParameters, out: FloatArray) -> None:
    """Write the production terms of the live-MSC states and the paracrine pools into ``out``.

    Live cells secrete into the pools (the pools' losses and the cells' own losses are in
    :func:`decay_rates`): lung and organ cells into the systemic pool, depot cells into the
    local pool and, at ``msc_depot_spillover``, into the systemic pool.
    """
    lung, organs, depot = yt[s.MSC_LUNG], yt[s.MSC_ORGANS], yt[s.MSC_DEPOT]
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
    dydt = production_terms(yt, p, inputs, dc_stim) - decay_rates(p, n, inputs) * yt
    return np.ascontiguousarray(dydt.T)
