"""Virtual populations: between-patient variability, baseline inclusion, tidy simulated output.

Each patient's parameters are the typical values of :class:`ModelParameters` times a log-normal
factor ``exp(σ·Z)``, ``σ = √ln(1 + CV²)`` (median = typical value), with the CVs of
:data:`VARIABILITY` — psotrack assumptions, chosen wide where responses are known to vary
(cell-therapy sensitivity) and narrow where the plaque's bistability is sensitive (keratinocyte
proliferation, one factor shared by its four published constants). Baseline regional areas are
log-normal around :data:`BASELINE_AREA_MEDIAN` (CV 80 %, capped at 100 %).

A candidate's baseline is its own untreated plaque steady state: the published plaque state
(Shmarov 2022) integrated without therapy for :data:`SETTLE_DAYS` days with that patient's
parameters (the exponential Runge–Kutta step keeps equilibria exactly, so a 1-day step
suffices). Candidates whose plaque is not a stable steady state (they heal or have not
settled) or whose baseline PASI misses the inclusion rule (PASI ≥ ``min_pasi``) are rejected
and redrawn.

An arm with a perilesional cell therapy is simulated at two sites per patient with the same
parameters and baseline: the injected target plaques (local pool and spillover) and all other
plaques (spillover only). The injected plaques hold ``injected_area_share`` of every region's
affected area (default :data:`INJECTED_AREA_SHARE`, an assumption); PASI mixes the two sites
(:func:`psotrack.model.observation.two_site_frame`), and the frame adds the target plaque's TPSS.
Every other arm keeps one representative plaque per patient.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.errors import ValidationError
from psotrack.instruments.pasi import REGIONS
from psotrack.model import states as s
from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.observation import (
    check_injected_area_share,
    observation_frame,
    observe_pasi,
    reading_draws,
    region_lags,
    sign_severity,
    two_site_frame,
)
from psotrack.model.parameters import ModelParameters
from psotrack.model.solver import published_state
from psotrack.model.solver import simulate as integrate
from psotrack.model.therapies import Schedule, build_inputs, parse_schedule
from psotrack.model.trigger import (
    DEFAULT_TRIGGER,
    NO_TRIGGER,
    TriggerSpec,
    TriggerStream,
    stationary_start,
)

FloatArray = npt.NDArray[np.float64]

VARIABILITY: Final = {
    "t_cell_recruitment": 0.15,
    "dc_basal_influx": 0.15,
    "treg_level": 0.30,
    "vascular_rate": 0.30,
    "paracrine_ec50": 0.80,
    "blocker_ec50": 0.50,
}
#: One factor, CV 3 %, scales all four published keratinocyte proliferation constants together.
KERATINOCYTE_CV: Final = 0.03
KERATINOCYTE_RATES: Final = ("sc_proliferation", "ta_from_sc", "ta_proliferation", "d_from_ta")
BASELINE_AREA_MEDIAN: Final = {
    "head": 15.0,
    "upper_limbs": 15.0,
    "trunk": 20.0,
    "lower_limbs": 25.0,
}
BASELINE_AREA_CV: Final = 0.8
SETTLE_DAYS: Final = 400
_SETTLED: Final = 1e-6  # max |dy/dt|/y per day for a settled candidate
#: Share of each region's affected area held by the perilesionally injected target plaques
#: (assumption: a few target plaques, about a fifth of the affected skin).
INJECTED_AREA_SHARE: Final = 0.2
#: Days the trigger runs from the settled plaque to the screening visit (burn-in, assumption).
BURN_IN_DAYS: Final = 182
STEPS_PER_DAY: Final = 4


@dataclass(frozen=True)
class Population:
    """Included virtual patients: parameters (arrays), baseline state, area and induration."""

    parameters: ModelParameters
    baseline_state: FloatArray
    baseline_area: FloatArray
    baseline_induration: FloatArray
    baseline_pasi: FloatArray
    seed: int
    trigger: TriggerSpec = NO_TRIGGER
    trigger_state: FloatArray | None = None
    region_lag: FloatArray | None = None
    screening_draws: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.baseline_state.shape[0])

    @property
    def patient_id(self) -> npt.NDArray[np.int64]:
        return np.arange(1, len(self) + 1, dtype=np.int64)


def lognormal_factor(z: FloatArray, cv: float | FloatArray) -> FloatArray:
    """``exp(σ·z)`` with ``σ = √ln(1 + CV²)``: a log-normal factor of median 1 and CV ``cv``."""
    sigma = np.sqrt(np.log1p(np.square(cv)))
    return np.asarray(np.exp(sigma * z), dtype=np.float64)


def _lognormal(rng: np.random.Generator, cv: float, n: int) -> FloatArray:
    return lognormal_factor(rng.standard_normal(n), cv)


def _candidates(
    typical: ModelParameters, n: int, rng: np.random.Generator
) -> tuple[ModelParameters, FloatArray]:
    p = typical.broadcast(n)
    varied: dict[str, FloatArray] = {
        name: np.asarray(getattr(p, name)) * _lognormal(rng, cv, n)
        for name, cv in VARIABILITY.items()
    }
    factor = _lognormal(rng, KERATINOCYTE_CV, n)
    for name in KERATINOCYTE_RATES:
        varied[name] = np.asarray(getattr(p, name)) * factor
    area = np.stack(
        [BASELINE_AREA_MEDIAN[r] * _lognormal(rng, BASELINE_AREA_CV, n) for r in REGIONS], 1
    )
    return replace(p, **varied), np.minimum(area, 100.0)


def settle_and_include(
    p: ModelParameters, area: FloatArray, min_pasi: float
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Each candidate's untreated plaque state, induration, PASI and inclusion (module notes).

    ``p`` holds one value per candidate (rows of ``area``); returns the states after
    :data:`SETTLE_DAYS` days, the induration severity, the baseline PASI (0 where not settled)
    and whether the candidate is included (a settled plaque with PASI ≥ ``min_pasi``).
    """
    m = area.shape[0]
    untreated = SiteInputs.untreated(m)
    y0 = published_state("plaque", p, m)
    y = integrate(p, y0, [SETTLE_DAYS], untreated, steps_per_day=1)[0]
    rate = np.abs(rhs(0.0, y, p, untreated)) / np.maximum(y, 1.0)
    induration = sign_severity(y)["induration"]
    settled = (rate[:, : s.VASCULAR + 1].max(axis=1) < _SETTLED) & (induration > 0.5)
    pasi = np.zeros(m)
    if settled.any():
        pasi[settled] = observe_pasi(y[settled], induration[settled], area[settled])
    return y, induration, pasi, settled & (pasi >= min_pasi)


@dataclass(frozen=True)
class ScreeningDraws:
    """Per-candidate random numbers of the burn-in and the screening visit (:func:`burn_in`):
    the trigger's stationary start, the seed of its stream, regional lags and reading draws."""

    trigger_start: FloatArray
    trigger_seed: int
    region_lag: FloatArray
    reading: FloatArray

    @classmethod
    def draw(cls, spec: TriggerSpec, m: int, rng: np.random.Generator) -> ScreeningDraws:
        """Draw them for ``m`` candidates from ``rng`` (order: start, seed, lags, reading)."""
        start = stationary_start(spec, m, rng)
        seed = int(rng.integers(2**63))
        return cls(start, seed, region_lags(rng, m), reading_draws(rng, m))


@dataclass(frozen=True)
class Screened:
    """The screening visit after the burn-in, per row: state, induration, noisy PASI (0 where
    not kept), inclusion so far, lags and reading draws; ``trigger_state`` per candidate."""

    state: FloatArray
    induration: FloatArray
    pasi: FloatArray
    keep: npt.NDArray[np.bool_]
    region_lag: FloatArray
    reading: FloatArray
    trigger_state: FloatArray


def burn_in(
    p: ModelParameters,
    y: FloatArray,
    area: FloatArray,
    keep: npt.NDArray[np.bool_],
    spec: TriggerSpec,
    draws: ScreeningDraws,
    rows: npt.NDArray[np.intp] | None = None,
) -> Screened:
    """Run the trigger for :data:`BURN_IN_DAYS` from the settled plaques, then score the
    screening visit with regional lags and reading noise (module notes).

    ``rows`` maps the rows of ``p``, ``y``, ``area`` and ``keep`` to the candidates of
    ``draws`` (default: one row per candidate); rows of one candidate share its trigger path,
    lags and reading draws.
    """
    m = y.shape[0]
    stream = TriggerStream(spec, draws.trigger_start, draws.trigger_seed, 1.0 / STEPS_PER_DAY, rows)
    lags = draws.region_lag if rows is None else draws.region_lag[rows]
    reading = draws.reading if rows is None else draws.reading[rows]
    screened = integrate(
        p, y, [BURN_IN_DAYS], SiteInputs.untreated(m), None, STEPS_PER_DAY, stream
    )[0]
    induration = sign_severity(screened)["induration"]
    keep = keep & (induration > 0.5)
    pasi = np.zeros(m)
    if keep.any():
        pasi[keep] = observe_pasi(
            screened[keep], induration[keep], area[keep], lags[keep], reading[keep]
        )
    return Screened(screened, induration, pasi, keep, lags, reading, stream.state)


def build_population(
    n: int,
    seed: int,
    min_pasi: float = 10.0,
    typical: ModelParameters | None = None,
    max_rounds: int = 20,
    trigger: TriggerSpec = DEFAULT_TRIGGER,
) -> Population:
    """Draw ``n`` included virtual patients (baseline PASI ≥ ``min_pasi``), reproducibly.

    With a ``trigger`` of ``sigma > 0`` each settled candidate then runs the stimulus for
    :data:`BURN_IN_DAYS` days and is included on its noisy screening PASI (module notes); with
    ``sigma = 0`` (:data:`NO_TRIGGER`) the baseline is the settled plaque, scored noise-free.
    """
    if n < 1:
        raise ValidationError("n", n, "1 or more patients")
    if not 0 <= min_pasi <= 72:
        raise ValidationError("min_pasi", min_pasi, "0–72 (a PASI)")
    rng = np.random.default_rng(seed)
    typical = typical if typical is not None else ModelParameters()
    noisy = trigger.sigma > 0
    kept: list[tuple[ModelParameters, FloatArray, FloatArray, FloatArray, FloatArray]] = []
    extras: list[dict[str, FloatArray]] = []
    found = 0
    for _ in range(max_rounds):
        m = max(16, int(1.5 * (n - found)))
        p, area = _candidates(typical, m, rng)
        if noisy:
            y, _, _, settled = settle_and_include(p, area, 0.0)
            screened = burn_in(p, y, area, settled, trigger, ScreeningDraws.draw(trigger, m, rng))
            y, induration, pasi = screened.state, screened.induration, screened.pasi
            keep = screened.keep & (pasi >= min_pasi)
            extra = {
                "trigger_state": screened.trigger_state,
                "region_lag": screened.region_lag,
                "screening_draws": screened.reading,
            }
            extras.append({k: v[keep] for k, v in extra.items()})
        else:
            y, induration, pasi, keep = settle_and_include(p, area, min_pasi)
        kept.append((p.take(keep), y[keep], area[keep], induration[keep], pasi[keep]))
        found += int(keep.sum())
        if found >= n:
            break
    else:
        raise ValidationError(
            "min_pasi", min_pasi, f"an inclusion rule met by {n} patients in {max_rounds} rounds"
        )
    params = ModelParameters.concat([k[0] for k in kept]).take(np.arange(found) < n)
    params = replace(params, blocker_response_draw=response_draws(seed, n))
    joined = {k: np.concatenate([e[k] for e in extras])[:n] for k in extras[0]} if noisy else {}
    return Population(
        parameters=params,
        baseline_state=np.concatenate([k[1] for k in kept])[:n],
        baseline_area=np.concatenate([k[2] for k in kept])[:n],
        baseline_induration=np.concatenate([k[3] for k in kept])[:n],
        baseline_pasi=np.concatenate([k[4] for k in kept])[:n],
        seed=seed,
        trigger=trigger,
        **joined,
    )


def response_draws(seed: int, n: int) -> FloatArray:
    """Each patient's uniform draw ``blocker_response_draw`` (primary non-response, docs §5.3).

    Drawn from its own stream, ``SeedSequence(seed, spawn_key=(19,))``, after inclusion: the
    other draws, and so every patient's baseline, do not depend on it.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(19,)))
    return rng.random(n)


def trial_trigger(population: Population, rows: npt.NDArray[np.intp]) -> TriggerStream | None:
    """The stimulus after screening: the OU continues from each patient's screening value,
    drawn from ``SeedSequence(population.seed)`` (same population, same paths); ``None`` when
    the population has no trigger."""
    if population.trigger.sigma == 0 or population.trigger_state is None:
        return None
    return continued_trigger(population.trigger, population.trigger_state, population.seed, rows)


def continued_trigger(
    spec: TriggerSpec, state: FloatArray, seed: int, rows: npt.NDArray[np.intp]
) -> TriggerStream:
    """The stimulus after screening: the OU continues from each patient's screening value
    ``state``, drawn from ``SeedSequence(seed, spawn_key=(18,))``; ``rows`` maps simulated rows
    to patients."""
    sequence = np.random.SeedSequence(seed, spawn_key=(18,))
    return TriggerStream(spec, state, sequence, 1.0 / STEPS_PER_DAY, rows)


def visit_reading_draws(seed: int, day: float, n: int) -> FloatArray:
    """Reading draws of ``n`` patients at a visit after screening, from the visit's own stream
    (a visit's readings do not depend on which other visits are simulated)."""
    return reading_draws(np.random.default_rng([seed, 18, round(day * STEPS_PER_DAY)]), n)


def is_perilesional(schedule: Schedule) -> bool:
    """Whether an arm injects cell therapy perilesionally (two sites per patient)."""
    return schedule.cell_therapy is not None and schedule.cell_therapy.route == "perilesional"


def simulate_sites(
    population: Population,
    schedule: str | Schedule,
    days: npt.ArrayLike,
    steps_per_day: int = 4,
) -> tuple[FloatArray, FloatArray | None]:
    """States ``[len(days), n, S]`` of the plaques not injected and of the injected ones.

    For an arm without perilesional therapy the first is every patient's one plaque and the
    second ``None``; otherwise both sites are integrated together, with the same parameters.
    """
    sched = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    n = len(population)
    wanted = np.asarray(days, dtype=np.float64)
    p, y0 = population.parameters, population.baseline_state
    if population.trigger.sigma > 0 and steps_per_day != STEPS_PER_DAY:
        raise ValidationError(
            "steps_per_day", steps_per_day, f"{STEPS_PER_DAY} (the trigger's sampling grid)"
        )
    if not is_perilesional(sched):
        inputs, dosing = build_inputs([sched] * n)
        stream = trial_trigger(population, np.arange(n))
        return integrate(p, y0, wanted, inputs, dosing, steps_per_day, stream), None
    injected = np.repeat([False, True], n)
    inputs, dosing = build_inputs([sched] * (2 * n), injected=injected)
    stream = trial_trigger(population, np.tile(np.arange(n), 2))
    both = integrate(
        ModelParameters.concat([p, p]),
        np.concatenate([y0, y0]),
        wanted,
        inputs,
        dosing,
        steps_per_day,
        stream,
    )
    return both[:, :n], both[:, n:]


def simulate_arm(
    population: Population,
    schedule: str | Schedule,
    days: npt.ArrayLike,
    seed: int,
    steps_per_day: int = 4,
    injected_area_share: float = INJECTED_AREA_SHARE,
) -> pl.DataFrame:
    """Simulate every patient on one arm; tidy frame with ``arm`` and ``simulated=True``.

    A perilesional arm has two sites per patient (module notes): PASI mixes them, and the
    columns ``target_erythema, target_induration, target_scaling, tpss`` give the injected
    target plaque. Lab noise is drawn from ``numpy.random.default_rng(seed)``: same seed, same
    frame.
    """
    check_injected_area_share(injected_area_share)
    sched = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    wanted = np.asarray(days, dtype=np.float64)
    plaques, injected = simulate_sites(population, sched, wanted, steps_per_day)
    rng = np.random.default_rng(seed)
    ids, induration, area = (
        population.patient_id,
        population.baseline_induration,
        population.baseline_area,
    )
    lags = population.region_lag
    draws = None
    if lags is not None and population.screening_draws is not None:
        # Reading noise of each visit from its own stream; the day-0 reading is the screening one.
        draws = np.concatenate(
            [
                population.screening_draws if day == 0 else visit_reading_draws(seed, day, len(ids))
                for day in wanted.tolist()
            ]
        )
    if injected is None:
        frame = observation_frame(plaques, wanted, ids, induration, area, rng, lags, draws)
    else:
        frame = two_site_frame(
            injected, plaques, wanted, ids, induration, area, injected_area_share, rng, lags, draws
        )
    return frame.with_columns(pl.lit(sched.text).alias("arm"))
