"""Parameters of the virtual-patient model: published values, units, sources and validation.

The immune–keratinocyte core is the ODE model psor.v8.4 of Shmarov F, Smith GR, Weatherhead SC,
Reynolds NJ, Zuliani P. *Individualised computational modelling of immune mediated disease onset,
flare and clearance in psoriasis.* PLoS Comput Biol 2022;18(9):e1010267 — values read from the
authors' published steady-state system (repository pzuliani/psoriasis, Apache-2.0,
``matlab/steady_state_8_4.m``, generated from ``models/psor_v8_4.xml``). Units: cells/mm² of
epidermis for cells, the model's arbitrary concentration units for cytokines, time in days.

Departures from Shmarov 2022 (each marked ``[psotrack]`` below and listed here):

1. The single effector T-cell species ``T`` is split into Th17 and Th1 cells, each receiving
   ``th17_fraction`` (0.5) of the IL-23-driven recruitment; IL-17/IL-22 is produced by Th17 and
   IFN-γ/TNF-α by Th1 at ``0.5 / 0.5 = 1.0`` per cell per day, so that without therapy the sums
   (and every published steady state) are unchanged.
2. Regulatory T cells are added: constant induction, first-order loss, and a suppression of
   effector recruitment normalised to 1 at the untreated Treg level (so again no change to the
   published steady states). Their values are assumptions to be calibrated, not published values.
3. A dimensionless vascular/inflammation state (1 in healthy skin) relaxes towards the
   keratinocyte-active cytokine load relative to healthy skin, for redness (assumed time constant).
4. UVB-induced apoptosis, the apoptotic-cell pool ``A`` and the UV-damage state ``R`` are left
   out (no UVB arm in psotrack); the adalimumab/ustekinumab PK species are replaced by a
   one-compartment blocker whose constants are the arm's drug's (:mod:`psotrack.model.therapies`).
5. Cell-therapy (paracrine activity) and blocker effects act through Emax terms; all their values
   are assumptions, documented here, to be calibrated against ``trials.md``. The four MSC Emax
   values may be 0 (:func:`without_msc_effect`: the null scenario of ``simulate trial --null``).
6. Cell kinetics (issue 18): infused MSCs are live-cell states — IV cells trapped in the lung
   (half-life 0.5 day: Eggenhofer E, et al. Front Immunol 2012;3:297 found viable MSCs in mouse
   lungs up to 24 h and none later), a small share leaving the lung alive, perilesional cells in
   a local depot (half-life 3 days, assumed) — and the live cells secrete into the paracrine
   pools, whose half-life stands for the host-mediated effect that outlasts the cells. Sources
   and reasoning in ``docs/model.md`` §5.1.
7. Biologics that differ in mechanism (issue 18): IL-23 drives Th17 recruitment and IL-12 (taken
   proportional to IL-23) a share ``il12_th1_share`` of Th1 recruitment (0: IL-12 co-blockade
   adds nothing, after p19 beating p40 head to head and IL-12's protective role in mice); a
   share ``trm_share`` of Th17 recruitment is held by IL-23-maintained resident memory, depleted
   by IL-23 blockade and recovering over weeks to months (state ``trm_depletion``); a share
   ``il17_signal_share`` of the keratinocyte signal follows the IL-17 acting on keratinocytes
   relative to its untreated value. All four are assumptions, and each new factor is exactly 1
   untreated (``docs/model.md`` §3.3).
8. Shmarov's onset/flare stimulus ``dc_stim`` (added to the DC influx, psor.v8.4) is a seeded
   Ornstein–Uhlenbeck process per patient (:mod:`psotrack.model.trigger`; σ 620, τ 10 days,
   mean 400 cells/mm²/day, fitted by hand to the pooled placebo rates of Ambikaibalan 2021), and
   the influx ``dc_basal_influx + dc_stim`` is clipped at 0. Its parameters are not fields here
   (:class:`~psotrack.model.trigger.TriggerSpec`); ``sigma = 0`` is the published model.
   Reading noise and regional lags (assumptions) are in :mod:`psotrack.model.observation`.
   ``docs/model.md`` §15.
9. Primary non-response to a blocker (issue 18): a share ``blocker_{drug}_nonresponse`` of
   patients on whom that drug has no effect (Emax 0), drawn per patient
   (``blocker_response_draw``). Pan S, et al. Clin Transl Sci 2020;13:400 put a mixture on the
   EC50 of their ustekinumab model; psotrack takes its limit (no effect). Shares are
   assumptions (``docs/model.md`` §5.3).

Calibrated defaults (a Nelder–Mead point fit on 300 virtual patients, seed 7, with a weak prior
towards the earlier assumptions, since replaced by the posterior of :mod:`psotrack.model.posterior`
(``psotrack simulate calibrate --fit``); targets and sources in
``psotrack/data/calibration_targets.json``):

* ``paracrine_ec50`` 6.0 → 4.36 and ``paracrine_half_life`` 7.0 → 25.0 days (refitted
  2026-12-03 with the ``dc_stim`` trigger on; before it 8.45 and 6.24 days, which left PASI 40 at
  52/300, and before the cell kinetics 2.05 and 1.44 days): the highest-posterior draw of an
  emcee run over the cell-therapy group (n = 300, seed 2022, 8 walkers × 50 steps, burn-in 20),
  calibrated to Cheng L, et al. Signal Transduct Target Ther 2022;7:263 (UC-MSC IV, 8/17 PASI 40
  and 3/17 PGA 0/1, taken at 6 months after a 1.5 × 10⁶ cells/kg × 4 q2w course). Simulated
  99/300 (33 %) and 70/300 (23 %) (seed 2022): both inside the published exact intervals
  (23–72 %, 3.8–43 %). The counts fix a ridge (a longer-lived pool with a higher EC50), not a
  point; the prior picks the point, which lies 1.8 prior SDs above the half-life prior's centre;
  the marginal posterior medians (4.78, 15.5 days) fall off the ridge (65/300), so they were not
  taken (``docs/model.md`` §9.3–9.4).
* ``blocker_{il17,il23,p40}_{ec50,emax}`` (issue 18; assumed 1.0 label dose and 0.9): set by
  hand grids with the trigger on (before it: 2.5/0.6, 0.2/0.99, 1.25/0.8) so that PASI 75 at
  week 12 on the label schedules lies in its range (70–90 %, trials.md; anti-IL-12/23 66–76 %, its
  phase-3 trials), the fitted first-order PASI decline
  rates (:func:`psotrack.model.biologics.first_order_decline`) lie in the published 0.11 and
  0.016/day ± 30 % (models.md) and the anti-IL-17 Kaplan–Meier median time to relapse after
  stopping at week 12 is near 143 days (models.md; it chose ``blocker_il17_ec50``). Re-set
  2026-12-03 with primary non-response (``blocker_il17_nonresponse`` 0.12), ``trm_share`` 0.9,
  ``trm_half_life`` 35 days and ``il12_th1_share`` 0: anti-IL-17 85.7 %, 0.093/day, 154 days;
  anti-IL-23 78.3 %, 0.022/day; anti-IL-12/23 72.7 %, 0.0199/day (n = 300, seed 2022; at n = 600,
  seed 7: 87.0 %, 0.097/day, 161 days; 78.7 %; 70.2 %, 0.0196/day). Before it: 87.3 %,
  0.067/day; 84.0 %; 73.7 %, 0.049/day, both rates missed (``docs/model.md`` §5.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError

FloatArray = npt.NDArray[np.float64]
#: A parameter is a scalar (one patient, or the population's typical value) or one value per row.
Value = float | FloatArray

#: Shmarov 2022 (steady_state_8_4.m): every cell species leaves by natural death at 0.0036/day.
_DEATH: Final = 0.0036
#: Healthy-skin sum IL-17 + TNF of the published healthy steady state (computed from the
#: published equations; 0.5·T/36.5 each with T = 1556.1 cells/mm²), the vascular reference.
HEALTHY_CYTOKINE_LOAD: Final = 42.6328


@dataclass(frozen=True)
class ModelParameters:
    """Every rate and constant of the model; scalars or per-row arrays of one common length.

    >>> ModelParameters().t_cell_recruitment
    55.0
    >>> ModelParameters(dc_clearance=0.0)
    Traceback (most recent call last):
    ...
    psotrack.errors.ValidationError: dc_clearance=0.0 is outside > 0 (a rate, 1/day)
    """

    # --- dendritic cells and IL-23 (Shmarov 2022, steady_state_8_4.m, DC and IL23 equations)
    dc_basal_influx: Value = 1880.0  # cells/mm²/day; constant DC influx
    dc_activation_max: Value = 6000.0  # cells/mm²/day; Hill activation by keratinocyte signal
    dc_activation_half: Value = 3e12  # (signal units)^4; Hill constant K^n, n = 4
    dc_clearance: Value = 1.51 + _DEATH  # 1/day; efflux 1.51 + death 0.0036
    il23_production: Value = 1.0  # per DC per day
    cytokine_clearance: Value = 36.5  # 1/day; IL-23, IL-17, TNF and the keratinocyte signal
    # --- effector T cells (Shmarov 2022, T equation; split [psotrack] departure 1)
    t_cell_recruitment: Value = 55.0  # cells/mm²/day per IL-23 unit
    t_cell_clearance: Value = 1.51 + _DEATH  # 1/day; efflux 1.51 + death 0.0036
    th17_fraction: Value = 0.5  # [psotrack] share of recruitment polarised to Th17
    il17_production: Value = 1.0  # per Th17 per day [psotrack] = 0.5 (Shmarov, per T) / 0.5
    tnf_production: Value = 1.0  # per Th1 per day [psotrack] = 0.5 (Shmarov, per T) / 0.5
    # --- regulatory T cells [psotrack] departure 2 (assumed values)
    treg_level: Value = 500.0  # cells/mm²; untreated level, about 10 % of plaque effectors
    treg_turnover: Value = 0.2  # 1/day; half-life ≈ 3.5 days (assumed; slower than effectors)
    treg_suppression: Value = 1.0  # ρ: recruitment × (1 + ρ)/(1 + ρ·Treg/treg_level)
    # --- keratinocytes (Shmarov 2022, SC, TA, D and GF equations)
    sc_proliferation: Value = 0.0017635  # 1/day per cytokine unit; stem-cell self-renewal
    sc_crowding: Value = 1.8135e-5  # mm²/(cell·day); quadratic density limit
    ta_from_sc: Value = 0.0015415  # 1/day per cytokine unit; TA production by stem cells
    ta_proliferation: Value = 0.0017562  # 1/day per cytokine unit
    ta_crowding: Value = 3.7321e-6  # mm²/(cell·day)
    d_from_ta: Value = 0.0018063  # 1/day per cytokine unit; differentiation of TA output
    d_crowding: Value = 5.05e-7  # mm²/(cell·day)
    d_shedding: Value = 0.0047529  # 1/day; loss of differentiated cells by desquamation
    keratinocyte_death: Value = _DEATH  # 1/day
    signal_production: Value = 1.0  # keratinocyte signal (GF) per SC/TA cell per day
    # --- vascular/inflammation state [psotrack] departure 3
    vascular_rate: Value = 0.2  # 1/day; vessel dilation/regression, half-life ≈ 3.5 days
    # --- cell therapy: kinetics of the infused cells [psotrack] departure 6 (issue 18)
    msc_lung_half_life: Value = 0.5  # days; live MSCs in the lung (Eggenhofer 2012, see docs)
    msc_lung_escape: Value = 0.02  # share of cells leaving the lung alive (assumed; 0 allowed)
    msc_organ_half_life: Value = 1.0  # days; live MSCs outside the lung (assumed)
    msc_depot_half_life: Value = 3.0  # days; perilesional depot (assumed, from local-injection
    # studies in which cells stay detectable about a week; see docs/model.md §5.1)
    msc_depot_spillover: Value = 0.1  # share of depot secretion reaching the circulation (assumed)
    msc_secretion: Value = 1.0  # activity units per day per 10⁶ live cells/kg (scale convention)
    # --- cell therapy, paracrine activity pool [psotrack] departure 5 (assumptions)
    paracrine_half_life: Value = 25.0  # days; calibrated (prior 7.0), host-mediated activity
    paracrine_ec50: Value = 4.36  # activity units; calibrated (prior 6.0)
    msc_treg_emax: Value = 2.0  # maximal relative rise of Treg induction (0 allowed: no effect)
    msc_th17_emax: Value = 0.6  # maximal fractional damping of Th17 differentiation (0 allowed)
    msc_dc_emax: Value = 0.5  # maximal fractional damping of DC activation (0 allowed)
    msc_cytokine_emax: Value = 0.5  # maximal fractional damping of cytokine production (0 allowed)
    # --- mechanism split of the immune core [psotrack] departure 7 (issue 18)
    trm_share: Value = 0.9  # θ: share of Th17 recruitment held by IL-23-maintained resident
    # memory (TRM) cells (assumption; 0 allowed = no memory pool)
    trm_half_life: Value = 35.0  # days; TRM depletion under IL-23 blockade and recovery after
    # it (assumption, months: resident memory turns over slowly, see docs/model.md §5.2)
    il17_signal_share: Value = 0.8  # χ: share of the keratinocyte signal driven by IL-17
    # (assumption; 0 allowed = Shmarov's IL-17-independent signal)
    il12_th1_share: Value = 0.0  # ψ: share of Th1 recruitment that IL-12 drives, the part a
    # p40 blocker removes (assumption; 0 allowed = IL-12 blockade adds nothing; docs §5.3)
    # --- monoclonal blockers, one per arm (one compartment, first-order absorption). Half-lives
    # from the US labels; absorption from the labels' median Tmax (ka solves
    # Tmax = ln(ka/ke)/(ka − ke)); EC50 (label-dose units) and Emax calibrated (docs §5.3).
    blocker_il17_absorption: Value = 0.530  # 1/day; secukinumab Tmax ≈ 6 days (Cosentyx label)
    blocker_il17_half_life: Value = 27.0  # days; secukinumab (Cosentyx label: 22–31 days)
    blocker_il17_ec50: Value = 0.25  # label doses (300 mg); calibrated to the relapse median
    blocker_il17_emax: Value = 0.65  # maximal fractional neutralisation in responders; calibrated
    blocker_il23_absorption: Value = 0.495  # 1/day; guselkumab Tmax ≈ 5.5 days (Tremfya label)
    blocker_il23_half_life: Value = 17.0  # days; guselkumab (Tremfya label: 15–18 days)
    blocker_il23_ec50: Value = 0.01  # label doses (100 mg); calibrated
    blocker_il23_emax: Value = 0.99  # calibrated
    blocker_p40_absorption: Value = 0.15  # 1/day; ustekinumab Tmax ≈ 12 days: within the
    # Stelara label's 7–13.5 days (90/45 mg); the value taken is an assumption
    blocker_p40_half_life: Value = 21.0  # days; ustekinumab (Stelara label: about 3 weeks)
    blocker_p40_ec50: Value = 0.06  # label doses (45 mg); calibrated
    blocker_p40_emax: Value = 0.99  # calibrated
    blocker_ec50: Value = 1.0  # the patient's relative EC50 (1 = the drug's typical EC50): the
    # between-patient variability of drug sensitivity (population.VARIABILITY, CV 50 %)
    # --- primary non-response to a blocker [psotrack] departure 9 (issue 18): a share of
    # patients on whom the arm's drug has no effect (its Emax is 0 for them), after the mixture
    # model of Pan S, et al. Clin Transl Sci 2020;13:400 (doi:10.1111/cts.12725), whose
    # ustekinumab PK/PD model found a non-responder group. Shares: assumptions (docs §5.3).
    blocker_il17_nonresponse: Value = 0.12  # share of primary non-responders; calibrated
    blocker_il23_nonresponse: Value = 0.0  # not used (0): its targets did not call for it
    blocker_p40_nonresponse: Value = 0.0  # not used (0): a share of 0.1 did not slow the rate
    blocker_response_draw: Value = 1.0  # the patient's uniform draw u (0–1): a primary
    # non-responder to the arm's drug when u < that drug's share (1: responds to every drug;
    # population draws u per patient, independent of every other draw)

    def __post_init__(self) -> None:
        problems = [p for f in fields(self) if (p := _check(f.name, getattr(self, f.name)))]
        sizes = {np.size(getattr(self, f.name)) for f in fields(self)} - {1}
        if len(sizes) > 1:
            problems.append(Problem("parameters", sorted(sizes), "one common length", "invalid"))
        if problems:
            raise ValidationError(problems=problems)

    @property
    def msc_lung_loss(self) -> Value:
        """First-order loss of live MSCs from the lung (death and escape), 1/day."""
        return math.log(2) / self.msc_lung_half_life

    @property
    def msc_organ_loss(self) -> Value:
        """First-order loss of live MSCs outside the lung, 1/day."""
        return math.log(2) / self.msc_organ_half_life

    @property
    def msc_depot_loss(self) -> Value:
        """First-order loss of live MSCs from the perilesional depot, 1/day."""
        return math.log(2) / self.msc_depot_half_life

    @property
    def trm_rate(self) -> Value:
        """First-order rate of TRM depletion and recovery, 1/day (ln 2 / half-life)."""
        return math.log(2) / self.trm_half_life

    def blocker_elimination(self, drug: str) -> Value:
        """First-order elimination rate of blocker ``drug`` (il17, il23, p40), 1/day."""
        half_life: Value = getattr(self, f"blocker_{drug}_half_life")
        return math.log(2) / half_life

    @property
    def paracrine_decay(self) -> Value:
        """First-order decay rate of paracrine activity, 1/day (ln 2 / half-life)."""
        return math.log(2) / self.paracrine_half_life

    def broadcast(self, n: int) -> ModelParameters:
        """The same parameters as float64 arrays of length ``n`` (one row per patient or site)."""
        return replace(
            self,
            **{
                f.name: np.broadcast_to(np.asarray(getattr(self, f.name), np.float64), (n,)).copy()
                for f in fields(self)
            },
        )

    def take(self, index: npt.ArrayLike) -> ModelParameters:
        """The parameters of the selected rows (an index array); scalars stay scalars."""
        idx = np.asarray(index)
        return replace(
            self,
            **{
                f.name: value if np.size(value) == 1 else np.asarray(value)[idx]
                for f in fields(self)
                for value in (getattr(self, f.name),)
            },
        )

    @classmethod
    def concat(cls, parts: Sequence[ModelParameters]) -> ModelParameters:
        """The rows of ``parts`` one after another (every field as an array)."""
        joined: ModelParameters = replace(
            parts[0],
            **{
                f.name: np.concatenate([np.atleast_1d(getattr(q, f.name)) for q in parts])
                for f in fields(cls)
            },
        )
        return joined

    def row(self, i: int) -> ModelParameters:
        """The scalar parameters of row ``i`` of a broadcast parameter set."""
        return replace(
            self,
            **{f.name: float(np.asarray(getattr(self, f.name)).ravel()[i]) for f in fields(self)},
        )


#: The blockers psotrack knows (one per arm), by the suffix of their parameters.
BLOCKERS: Final = ("il17", "il23", "p40")
#: Parameters that are shares or maximal fractional inhibitions, allowed in (0, 1].
_FRACTIONS: Final = frozenset(
    {
        "th17_fraction",
        "msc_th17_emax",
        "msc_dc_emax",
        "msc_cytokine_emax",
        "blocker_il17_emax",
        "blocker_il23_emax",
        "blocker_p40_emax",
        "trm_share",
        "il17_signal_share",
        "il12_th1_share",
        "msc_lung_escape",
        "msc_depot_spillover",
        *(f"blocker_{drug}_nonresponse" for drug in BLOCKERS),
        "blocker_response_draw",
    }
)
#: The four MSC effects (0 = the product does nothing: the null scenario) and the two shares of
#: the cell kinetics may be 0; every other parameter must be > 0.
MSC_EMAX: Final = ("msc_treg_emax", "msc_th17_emax", "msc_dc_emax", "msc_cytokine_emax")
_ZERO_ALLOWED: Final = frozenset(
    {
        *MSC_EMAX,
        "msc_lung_escape",
        "msc_depot_spillover",
        "trm_share",
        "il17_signal_share",
        "il12_th1_share",
        *(f"blocker_{drug}_nonresponse" for drug in BLOCKERS),
        "blocker_response_draw",
    }
)
#: Upper bound of ``msc_treg_emax`` (a relative rise): a tenfold rise of Treg induction.
MAX_TREG_RISE: Final = 10.0


def _check(name: str, value: Value) -> Problem | None:
    values = np.asarray(value, dtype=np.float64)
    high = 1.0 if name in _FRACTIONS else math.inf
    high = MAX_TREG_RISE if name == "msc_treg_emax" else high
    zero_ok = name in _ZERO_ALLOWED
    with np.errstate(invalid="ignore"):
        low_bad = (values < 0) if zero_ok else (values <= 0)
        bad = ~np.isfinite(values) | low_bad | (values > high)
    if not bad.any():
        return None
    shown = values.ravel()[int(np.argmax(bad.ravel()))].item()
    allowed = "0–1 excluding 0 (a fraction)" if name in _FRACTIONS else "> 0 (a rate, 1/day)"
    if zero_ok and name in _FRACTIONS:
        allowed = "0–1 (a fraction; 0 = no effect)"
    if name == "blocker_response_draw":
        allowed = "0–1 (a uniform draw)"
    if name == "msc_treg_emax":
        allowed = f"0–{MAX_TREG_RISE:g} (a maximal relative rise; 0 = no effect)"
    elif name.endswith(("_level", "_influx", "_max", "_half", "_ec50", "_life")):
        allowed = f"> 0 ({'a half-life, days' if name.endswith('_life') else 'a positive amount'})"
    return Problem(name, shown, allowed)


def without_msc_effect(p: ModelParameters) -> ModelParameters:
    """The same parameters with every MSC Emax 0: the cells are given but do nothing (a null).

    >>> without_msc_effect(ModelParameters()).msc_dc_emax
    0.0
    """
    zero: dict[str, Value] = {}
    for name in MSC_EMAX:
        value = getattr(p, name)
        zero[name] = 0.0 if np.ndim(value) == 0 else np.zeros_like(value, dtype=np.float64)
    return replace(p, **zero)
