"""Global sensitivity of simulated population rates: Sobol indices (SALib) over uncertain inputs.

Method (Saltelli A, et al. Comput Phys Commun 2010;181:259–270, as implemented by SALib 1.6:
Herman J, Usher W. J Open Source Softw 2017;2:97): :data:`FACTORS` are sampled uniformly within
their bounds by SALib's Sobol' sequence with Saltelli's scheme (``N·(D + 2)`` samples for
first-order and total indices), and SALib's ``sobol.analyze`` gives each factor's first-order
index ``S1`` and total index ``ST`` with bootstrap 95 % confidence intervals.

Each sample is a **virtual population**, since the outputs are population rates. Common random
numbers: one pool of candidate patients is drawn once per seed (standard-normal draws per varied
parameter, the keratinocyte factor, the baseline areas, and the onset/flare trigger's draws:
stationary start, regional lags, screening reading draws, a stream seed) and every sample scales
the same draws by its own typical values and CVs (``typical · exp(σ·z)``,
:func:`lognormal_factor`). A sample's candidates are included as
:func:`~psotrack.model.population.build_population` includes them with
:data:`~psotrack.model.trigger.DEFAULT_TRIGGER`: settled, run through the trigger's burn-in
(:func:`~psotrack.model.population.burn_in`) and included on their noisy screening PASI; its
first ``n`` included candidates are its patients. The arms run as
:func:`~psotrack.model.population.simulate_arm` runs them: the trigger continues from each
candidate's screening value, and PASI is read with the candidate's regional lags and each
visit's reading draws. Every stream is keyed by candidate, so a candidate has the same trigger
path and readings in every sample. All samples × patients are integrated together, in chunks of
at most :data:`ROWS_PER_CALL` candidate rows.

Outputs (:data:`OUTPUTS`), each counted by the endpoint engine's responder rule:

* ``pasi75_w12``: PASI 75 rate at day 84 on :data:`MSC_ARM` (UC-MSC IV 1.5 × 10⁶ cells/kg × 4
  q2w, the Cheng 2022 schedule, Signal Transduct Target Ther 2022;7:263);
* ``pasi40_m6``: PASI 40 rate at day 224 on the same arm (6 months after the last infusion, the
  time point psotrack takes for Cheng 2022; see ``calibration_targets.json``);
* ``relapse_days``: time to relapse after an effective course stops — on :data:`RELAPSE_ARM`,
  among the patients who reached PASI 75 by the last dose (day 84), days from the last dose to
  relapse by the endpoint engine's rule (:func:`psotrack.endpoints.derive_time_to_relapse`: half
  of the improvement given back), censored at :data:`RELAPSE_HORIZON` days and summarised as the
  restricted mean (0 when nobody responds).

Every factor's bounds are psotrack assumptions (see :data:`FACTORS` and ``docs/model.md``). The
typical values of the untreated core are Shmarov's published ones and are not varied. Everything
here is about simulated patients; nothing is a result about any therapy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample

from psotrack.endpoints import derive_responders, derive_time_to_relapse
from psotrack.errors import PsotrackError, ValidationError
from psotrack.instruments.pasi import REGIONS
from psotrack.model.observation import observe_pasi
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import (
    BASELINE_AREA_CV,
    BASELINE_AREA_MEDIAN,
    KERATINOCYTE_CV,
    KERATINOCYTE_RATES,
    STEPS_PER_DAY,
    VARIABILITY,
    ScreeningDraws,
    burn_in,
    continued_trigger,
    lognormal_factor,
    settle_and_include,
    visit_reading_draws,
)
from psotrack.model.solver import simulate
from psotrack.model.therapies import build_inputs, parse_schedule
from psotrack.model.trigger import DEFAULT_TRIGGER

FloatArray = npt.NDArray[np.float64]

MSC_ARM: Final = "uc-msc-iv:1.5e6/kg x4 q2w"
RELAPSE_ARM: Final = "anti-il17 x4 q4w"
RELAPSE_LAST_DOSE: Final = 84
RELAPSE_HORIZON: Final = 364
ROWS_PER_CALL: Final = 10_000
OUTPUTS: Final = {
    "pasi75_w12": "PASI 75 rate at week 12, UC-MSC IV 1.5e6/kg x4 q2w (share 0–1)",
    "pasi40_m6": "PASI 40 rate at day 224 (6 months after the last dose), same arm (share 0–1)",
    "relapse_days": "restricted mean days to relapse (half the improvement given back) after "
    f"an anti-IL-17 x4 q4w course stops, PASI 75 responders, censored at {RELAPSE_HORIZON} days",
}


@dataclass(frozen=True)
class Factor:
    """One uncertain input: a population CV (``cv``) or a typical value (``typical``)."""

    name: str
    kind: str
    parameter: str
    low: float
    high: float
    note: str


def _cv(parameter: str, low: float, high: float) -> Factor:
    current = KERATINOCYTE_CV if parameter == "keratinocyte" else VARIABILITY[parameter]
    return Factor(f"cv_{parameter}", "cv", parameter, low, high, f"population CV (now {current:g})")


def _typical(parameter: str, low: float, high: float) -> Factor:
    now = float(getattr(ModelParameters(), parameter))
    return Factor(parameter, "typical", parameter, low, high, f"typical value (now {now:.3g})")


#: The uncertain inputs and their bounds (psotrack assumptions): population CVs from about a
#: third to twice their current values (t-cell recruitment 5–30 %, the review's range), the two
#: calibrated cell-therapy parameters and the two anti-IL-17 parameters (the relapse arm's drug)
#: from half to twice their calibrated values (Emax ±25 %: 0.49–0.81 around 0.65, recalibrated
#: with primary non-response in issue 18; before it 0.31–0.51 around 0.41), the MSC Emax values
#: ±50 % (fractions capped at 0.9).
FACTORS: Final = (
    _cv("t_cell_recruitment", 0.05, 0.30),
    _cv("dc_basal_influx", 0.05, 0.30),
    _cv("treg_level", 0.10, 0.60),
    _cv("keratinocyte", 0.01, 0.06),
    _cv("paracrine_ec50", 0.30, 1.20),
    _typical("paracrine_ec50", 2.18, 8.72),
    _typical("paracrine_half_life", 12.5, 50.0),
    _typical("msc_treg_emax", 1.0, 3.0),
    _typical("msc_th17_emax", 0.3, 0.9),
    _typical("msc_dc_emax", 0.25, 0.75),
    _typical("msc_cytokine_emax", 0.25, 0.75),
    _typical("blocker_il17_ec50", 0.125, 0.5),
    _typical("blocker_il17_emax", 0.49, 0.81),
)


def problem(factors: tuple[Factor, ...] = FACTORS) -> dict[str, object]:
    """The SALib problem definition of ``factors`` (uniform within their bounds)."""
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }


@dataclass(frozen=True)
class SobolResult:
    """Sobol indices per output and factor, the samples and outputs they came from (simulated)."""

    factors: tuple[Factor, ...]
    samples: FloatArray
    outputs: dict[str, FloatArray]
    indices: dict[str, dict[str, FloatArray]]
    n: int
    seed: int

    @property
    def evaluations(self) -> int:
        """Model evaluations: samples × virtual patients (each patient one integrated row)."""
        return int(self.samples.shape[0]) * self.n

    def sample_frame(self) -> pl.DataFrame:
        """One row per sample (virtual population): its input values and its outputs."""
        columns = {f.name: self.samples[:, k] for k, f in enumerate(self.factors)}
        return pl.DataFrame(
            {"sample": np.arange(1, self.samples.shape[0] + 1), **columns, **self.outputs}
        ).with_columns(pl.lit(True).alias("simulated"))

    def summary(self) -> pl.DataFrame:
        """One row per output and factor: ``S1``, ``ST`` and their 95 % intervals (± conf)."""
        rows = []
        for output, found in self.indices.items():
            for k, factor in enumerate(self.factors):
                s1, s1c = float(found["S1"][k]), float(found["S1_conf"][k])
                st, stc = float(found["ST"][k]), float(found["ST_conf"][k])
                rows.append(
                    {
                        "output": output,
                        "factor": factor.name,
                        "low": factor.low,
                        "high": factor.high,
                        "S1": s1,
                        "S1_low": s1 - s1c,
                        "S1_high": s1 + s1c,
                        "ST": st,
                        "ST_low": st - stc,
                        "ST_high": st + stc,
                        "samples": int(self.samples.shape[0]),
                        "patients": self.n,
                        "seed": self.seed,
                        "simulated": True,
                    }
                )
        return pl.DataFrame(rows)


def sobol_indices(
    evaluate: Callable[[FloatArray], dict[str, FloatArray]],
    base_samples: int,
    seed: int,
    factors: tuple[Factor, ...] = FACTORS,
) -> tuple[FloatArray, dict[str, FloatArray], dict[str, dict[str, FloatArray]]]:
    """Saltelli samples of ``factors``, ``evaluate`` on all at once, SALib's S1/ST per output."""
    if base_samples < 2 or base_samples & (base_samples - 1):
        raise ValidationError("samples", base_samples, "a power of 2, at least 2", kind="invalid")
    spec = problem(factors)
    x = np.asarray(
        sobol_sample.sample(spec, base_samples, calc_second_order=False, seed=seed), np.float64
    )
    outputs = evaluate(x)
    indices = {}
    for name, y in outputs.items():
        found = sobol_analyze.analyze(
            spec, np.asarray(y, np.float64), calc_second_order=False, seed=seed
        )
        indices[name] = {key: np.asarray(found[key], np.float64) for key in _KEYS}
    return x, outputs, indices


_KEYS: Final = ("S1", "S1_conf", "ST", "ST_conf")


@dataclass(frozen=True)
class CandidatePool:
    """Random numbers of a pool of candidates, shared by every sample (common random numbers).

    Standard normals per varied parameter and of the keratinocyte factor, the baseline areas,
    and the trigger's draws (:class:`~psotrack.model.population.ScreeningDraws`: stationary
    start, stream seed, regional lags, screening reading draws) of :data:`DEFAULT_TRIGGER`,
    drawn in the order of :func:`~psotrack.model.population.build_population`'s first round;
    then each candidate's uniform ``blocker_response_draw`` (primary non-response, drawn last so
    that the other draws are those of before it). ``seed`` seeds the trigger after screening and
    the later readings, as a population's seed.
    """

    z: dict[str, FloatArray]
    keratinocyte: FloatArray
    area: FloatArray
    screening: ScreeningDraws
    response: FloatArray
    seed: int

    @classmethod
    def draw(cls, size: int, seed: int) -> CandidatePool:
        rng = np.random.default_rng(seed)
        z = {name: rng.standard_normal(size) for name in VARIABILITY}
        keratinocyte = rng.standard_normal(size)
        area = np.stack(
            [
                BASELINE_AREA_MEDIAN[r]
                * lognormal_factor(rng.standard_normal(size), BASELINE_AREA_CV)
                for r in REGIONS
            ],
            axis=1,
        )
        screening = ScreeningDraws.draw(DEFAULT_TRIGGER, size, rng)
        area = np.minimum(area, 100.0)
        return cls(z, keratinocyte, area, screening, rng.random(size), seed)

    @property
    def size(self) -> int:
        return int(self.keratinocyte.size)

    def parameters(self, values: FloatArray, factors: tuple[Factor, ...]) -> ModelParameters:
        """Every candidate's parameters for each sample row of ``values``; rows sample-major."""
        size, count = self.size, values.shape[0]
        setting = {(f.kind, f.parameter): values[:, k] for k, f in enumerate(factors)}
        typical = ModelParameters()
        columns: dict[str, FloatArray] = {}
        for name in VARIABILITY:
            centre = setting.get(("typical", name), np.full(count, float(getattr(typical, name))))
            cv = setting.get(("cv", name), np.full(count, VARIABILITY[name]))
            columns[name] = (centre[:, None] * lognormal_factor(self.z[name], cv[:, None])).ravel()
        cv_k = setting.get(("cv", "keratinocyte"), np.full(count, KERATINOCYTE_CV))
        factor = lognormal_factor(self.keratinocyte, cv_k[:, None]).ravel()
        for name in KERATINOCYTE_RATES:
            columns[name] = float(getattr(typical, name)) * factor
        for (kind, name), value in setting.items():
            if kind == "typical" and name not in VARIABILITY:
                columns[name] = np.repeat(value, size)
        columns["blocker_response_draw"] = np.tile(self.response, count)
        return replace(typical.broadcast(size * count), **columns)

    def include(
        self, values: FloatArray, factors: tuple[Factor, ...], n: int, min_pasi: float
    ) -> Included:
        """Each sample's first ``n`` included candidates, by the rule of ``build_population``.

        Candidates are settled (:func:`~psotrack.model.population.settle_and_include`), the
        settled ones run the trigger's burn-in and are scored at screening with their lags and
        reading draws (:func:`~psotrack.model.population.burn_in`; rows of one candidate in
        different samples share its trigger path), and included on a screening PASI of at least
        ``min_pasi``.
        """
        count, size = values.shape[0], self.size
        p = self.parameters(values, factors)
        area = np.tile(self.area, (count, 1))
        y, _, _, settled = settle_and_include(p, area, 0.0)
        at = np.flatnonzero(settled)
        screened = burn_in(
            p.take(at), y[at], area[at], settled[at], DEFAULT_TRIGGER, self.screening, at % size
        )
        keep = np.zeros(count * size, dtype=bool)
        keep[at] = screened.keep & (screened.pasi >= min_pasi)
        keep_grid = keep.reshape(count, size)
        chosen = np.flatnonzero((keep_grid & (np.cumsum(keep_grid, axis=1) <= n)).ravel())
        if np.unique(chosen // size).size < count:
            raise PsotrackError(
                "a sensitivity sample included no virtual patient (no candidate kept a plaque "
                "with a screening PASI of at least min_pasi)"
            )
        # chosen ⊂ at (only settled candidates are kept): their positions among the screened
        where = np.searchsorted(at, chosen)
        return Included(
            sample=chosen // size,
            candidate=chosen % size,
            parameters=p.take(chosen),
            state=screened.state[where],
            induration=screened.induration[where],
            area=area[chosen],
            pasi=screened.pasi[where],
            trigger_state=screened.trigger_state,
        )


@dataclass(frozen=True)
class Included:
    """The included patients of a chunk of samples, one row each (sample-major): their sample,
    candidate, parameters and screening baseline; ``trigger_state`` per candidate of the pool."""

    sample: npt.NDArray[np.int64]
    candidate: npt.NDArray[np.int64]
    parameters: ModelParameters
    state: FloatArray
    induration: FloatArray
    area: FloatArray
    pasi: FloatArray
    trigger_state: FloatArray


def _rates(pasi: FloatArray, days: list[int], samples: npt.NDArray[np.int64]) -> pl.DataFrame:
    """The endpoint engine's responder flags for ``pasi[len(days), rows]`` (rows = patients)."""
    rows = pasi.shape[1]
    table = pl.DataFrame(
        {
            "patient_id": np.tile(np.arange(rows), len(days)).astype(str),
            "sample": np.tile(samples, len(days)),
            "visit": np.repeat([f"D{d}" for d in days], rows),
            "day": np.repeat(days, rows),
            "pasi": pasi.ravel(),
        }
    )
    return derive_responders(table, thresholds=(40, 50, 75)).filter(pl.col("day") > 0)


def _arm_pasi(pool: CandidatePool, patients: Included, arm: str, days: list[int]) -> FloatArray:
    """PASI ``[len(days), rows]`` of ``patients`` on ``arm``, as ``simulate_arm`` reads it: the
    trigger continues from each candidate's screening value, regional lags, reading noise of
    each visit (the screening draws at day 0), every stream keyed by candidate."""
    rows, candidate = patients.candidate.size, patients.candidate
    inputs, dosing = build_inputs([parse_schedule(arm)] * rows)
    stream = continued_trigger(DEFAULT_TRIGGER, patients.trigger_state, pool.seed, candidate)
    states = simulate(
        patients.parameters, patients.state, days, inputs, dosing, STEPS_PER_DAY, stream
    )
    lags = pool.screening.region_lag[candidate]
    pasi = []
    for day, y in zip(days, states, strict=True):
        reading = (
            pool.screening.reading if day == 0 else visit_reading_draws(pool.seed, day, pool.size)
        )
        pasi.append(observe_pasi(y, patients.induration, patients.area, lags, reading[candidate]))
    return np.stack(pasi)


def _chunk_outputs(
    pool: CandidatePool, values: FloatArray, factors: tuple[Factor, ...], n: int, min_pasi: float
) -> dict[str, FloatArray]:
    count = values.shape[0]
    patients = pool.include(values, factors, n, min_pasi)
    out: dict[str, FloatArray] = {}

    msc_days = [0, 84, 224]
    flags = _rates(_arm_pasi(pool, patients, MSC_ARM, msc_days), msc_days, patients.sample)
    per = flags.group_by("sample", "day").agg(pl.col("pasi75").mean(), pl.col("pasi40").mean())
    for name, column, day in (("pasi75_w12", "pasi75", 84), ("pasi40_m6", "pasi40", 224)):
        part = per.filter(pl.col("day") == day).sort("sample")
        out[name] = part[column].cast(pl.Float64).to_numpy()

    weeks = [0, *range(RELAPSE_LAST_DOSE, RELAPSE_LAST_DOSE + RELAPSE_HORIZON + 1, 7)]
    pasi = _arm_pasi(pool, patients, RELAPSE_ARM, weeks)
    out["relapse_days"] = _restricted_relapse(pasi, weeks, patients.sample, count)
    assert all(v.size == count for v in out.values())
    return out


def _restricted_relapse(
    pasi: FloatArray, days: list[int], samples: npt.NDArray[np.int64], count: int
) -> FloatArray:
    """Per sample, the restricted mean days from the last dose to relapse among PASI 75
    responders, by the endpoint engine's relapse rule (:func:`derive_time_to_relapse`); a patient
    without relapse counts :data:`RELAPSE_HORIZON` days (its last visit), 0 when nobody responds."""
    rows = pasi.shape[1]
    table = pl.DataFrame(
        {
            "patient_id": np.tile(np.arange(rows), len(days)).astype(str),
            "visit": np.repeat([f"D{d}" for d in days], rows),
            "day": np.repeat(days, rows),
            "pasi": pasi.ravel(),
        }
    )
    events = derive_time_to_relapse(table, stop_day=RELAPSE_LAST_DOSE, responders=75)
    sample = samples[events["patient_id"].cast(pl.Int64).to_numpy()]
    days_to = np.minimum(events["time"].to_numpy().astype(np.float64), RELAPSE_HORIZON)
    total = np.bincount(sample, weights=days_to, minlength=count)
    responders = np.bincount(sample, minlength=count)
    return np.divide(total, responders, out=np.zeros(count), where=responders > 0)


def population_outputs(
    values: FloatArray,
    n: int,
    seed: int,
    factors: tuple[Factor, ...] = FACTORS,
    min_pasi: float = 10.0,
    on_chunk: Callable[[int, int], None] | None = None,
) -> dict[str, FloatArray]:
    """The :data:`OUTPUTS` of one virtual population per row of ``values`` (factor values)."""
    pool = CandidatePool.draw(3 * n, seed)
    per_call = max(1, ROWS_PER_CALL // (3 * n))
    parts: list[dict[str, FloatArray]] = []
    for start in range(0, values.shape[0], per_call):
        chunk = values[start : start + per_call]
        parts.append(_chunk_outputs(pool, chunk, factors, n, min_pasi))
        if on_chunk is not None:
            on_chunk(start + chunk.shape[0], values.shape[0])
    return {name: np.concatenate([part[name] for part in parts]) for name in OUTPUTS}


def run_sobol(
    n: int,
    base_samples: int,
    seed: int,
    factors: tuple[Factor, ...] = FACTORS,
    on_chunk: Callable[[int, int], None] | None = None,
) -> SobolResult:
    """Sobol indices of :data:`OUTPUTS` over ``factors`` (``base_samples`` a power of 2)."""
    if n < 2:
        raise ValidationError("n", n, "2 or more virtual patients per sample")
    x, outputs, indices = sobol_indices(
        lambda values: population_outputs(values, n, seed, factors, on_chunk=on_chunk),
        base_samples,
        seed,
        factors,
    )
    return SobolResult(factors, x, outputs, indices, n, seed)


__all__ = [
    "FACTORS",
    "OUTPUTS",
    "CandidatePool",
    "Factor",
    "SobolResult",
    "population_outputs",
    "problem",
    "run_sobol",
    "sobol_indices",
]
