"""On-track forecast for one patient: importance sampling over the virtual population (simulated).

Method (documented; every number it gives is **simulated** and says nothing about any therapy):

1. **Prior particles.** ``K`` virtual patients are drawn from the population prior of
   :func:`psotrack.model.population.build_population` (log-normal between-patient variability,
   plaque at its own untreated steady state; no PASI inclusion rule, ``min_pasi=0``).
2. **Baseline matched.** The patient's baseline is the latest PASI on or before day 0 (day 0 =
   first dose). Each particle gets a target baseline ``T = b + sd(b)·Z`` (the true baseline
   under a flat prior, given the reading ``b``) and its four regional areas are scaled by one
   common factor, chosen on a log grid so that its PASI (through ``instruments``) is nearest to
   ``T`` (its smallest regions may be left uninvolved, to reach low PASI). PASI is a step
   function of area, so the match is to within about one area-score step.
   Where the match misses its target (a step; grades too low to reach a high PASI), the weight
   is multiplied by ``L(b | matched) / L(b | T)``, which is 1 for an exact match. Approximation:
   the parameters' prior is not conditioned on the baseline beyond this (the area carries almost
   all of the baseline's information).
3. **Simulate all at once** with the vectorised solver on the patient's schedule.
4. **Weight** each particle by the likelihood of every other reading: PASI readings are
   Gaussian around the particle's PASI with ``SD = a + b·PASI`` (:func:`pasi_noise_sd`); labs,
   when given, log-normal with the assay CVs of :data:`psotrack.model.observation.LAB_REFERENCE`.
   Readings before day 0 are compared with the untreated steady state.
5. **Resample** (systematic) and forecast each week: the 10th, 50th and 90th percentiles of
   simulated *readings* (particle PASI plus reading noise), so the 80 % band is meant to hold
   80 % of future observed visits.
6. **Expected course**: the same particles weighted by the baseline alone (the prior population
   of the same baseline on the same schedule, unconditioned on later readings), same
   percentiles. The latest reading after day 0 is **ahead**, **on** or **behind** by
   :func:`psotrack.model.forecast_checks.course_of` (below the expected 10th percentile, between,
   above the 90th; a reading of 0 is ahead where the expected 10th percentile is 0 but the median
   is not, so that "ahead" stays reachable once the expected course reaches PASI 0);
   ``unassessable`` without a reading after day 0. ``expected_course`` holds the same
   percentiles at day 0, every reading's day and every forecast week, to draw the band behind
   the measured PASI.
7. **Safeguards** (:mod:`psotrack.model.forecast_checks`). An effective sample size of the
   weights below :data:`~psotrack.model.forecast_checks.ESS_MIN` (10) is warned about (the band
   rests on few virtual patients). A prequential predictive check places each reading after the
   baseline in its predictive distribution given the earlier ones; a tail probability below
   :data:`~psotrack.model.forecast_checks.PREDICTIVE_P_MIN` (0.01) means that the model cannot
   explain the patient: the weekly band (``median, p10, p90``) is then **withheld** (null) and
   :attr:`Forecast.warning` says why (psotrack's choice: no widening would be calibrated, and a
   band from a model that does not fit looks as confident as a good one). ``best_fit_z``, the
   best particle's root-mean-square z-score, is reported beside it.

Reading noise: ``a = 1.0``, ``b = 0.10``. At PASI 8.8 this gives SD 1.9, the within-rater SD
implied by the mean absolute difference of 2.2 points between two readings of the same rater
(Fink C, et al. J Eur Acad Dermatol Venereol 2018;32:1314–1319: σ = MAD/(2/√π) for the
difference of two Gaussian readings); the proportional part because raters disagree more at
high PASI (Bozek A, Reich A. Adv Clin Exp Med 2017;26:851–856; An Bras Dermatol 2010;85:625).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints import validate_assessments
from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi_batch import pasi_batch
from psotrack.model.forecast_checks import (
    ESS_MIN,
    PREDICTIVE_P_MIN,
    Course,
    course_of,
    effective_sample_size,
    is_unexplained,
    prequential_p,
)
from psotrack.model.observation import (
    LAB_REFERENCE,
    observe_labs,
    observe_pasi,
    two_site_pasi_columns,
)
from psotrack.model.population import (
    INJECTED_AREA_SHARE,
    Population,
    build_population,
    simulate_sites,
)
from psotrack.model.therapies import HORIZON_DAYS, Schedule, late_first_doses, parse_schedule
from psotrack.model.trigger import DEFAULT_TRIGGER

FloatArray = npt.NDArray[np.float64]

LABEL: Final = "SIMULATED forecast from a model; not a prediction of any therapy's effect"
PASI_NOISE_FLOOR: Final = 1.0
PASI_NOISE_SLOPE: Final = 0.10
#: Lab columns read from the patient's table (``il17`` is accepted for ``il17_pg_ml``).
LAB_COLUMNS: Final = {
    "treg_pct": "treg_pct",
    "th17_pct": "th17_pct",
    "il17_pg_ml": "il17_pg_ml",
    "il17": "il17_pg_ml",
}
AREA_FACTORS: Final = np.geomspace(0.01, 100.0, 121)  # 8 % apart
READINGS_PER_PARTICLE: Final = 10
MAX_WEEKS: Final = 52
PARTICLE_RANGE: Final = (50, 50_000)
#: Each course in words (the CLI's report and the patient page's reading).
COURSE_TEXT: Final[dict[str, str]] = {
    "ahead": "ahead of the expected course",
    "on": "on the expected course",
    "behind": "behind the expected course",
    "unassessable": "not assessable yet (no PASI after day 0)",
}
#: The weekly band's columns, withheld (null) when the model cannot explain the patient (step 7).
BAND_COLUMNS: Final = ("median", "p10", "p90")


def pasi_noise_sd(pasi: npt.ArrayLike) -> FloatArray:
    """SD of one PASI reading around the true PASI: ``1.0 + 0.10·PASI`` (see module notes)."""
    return np.asarray(PASI_NOISE_FLOOR + PASI_NOISE_SLOPE * np.asarray(pasi), dtype=np.float64)


def observe_with_noise(pasi: npt.ArrayLike, rng: np.random.Generator) -> FloatArray:
    """Simulated PASI readings: Gaussian reading noise, rounded to tenths, clipped to 0–72."""
    true = np.asarray(pasi, dtype=np.float64)
    noisy = true + pasi_noise_sd(true) * rng.standard_normal(true.shape)
    return np.asarray(np.clip(np.round(noisy, 1), 0.0, 72.0), dtype=np.float64)


@dataclass(frozen=True)
class PatientRecord:
    """One patient's readings: days (day 0 = first dose), PASI and labs (NaN where missing)."""

    patient_id: str
    visit: tuple[str, ...]
    day: npt.NDArray[np.int64]
    pasi: FloatArray
    labs: dict[str, FloatArray]

    @property
    def baseline_index(self) -> int:
        """Row of the baseline: the latest PASI reading on or before day 0."""
        candidates = np.flatnonzero((self.day <= 0) & ~np.isnan(self.pasi))
        return int(candidates[np.argmax(self.day[candidates])])


def _lab_values(frame: pl.DataFrame) -> tuple[dict[str, FloatArray], list[Problem]]:
    labs: dict[str, FloatArray] = {}
    problems: list[Problem] = []
    for column, name in LAB_COLUMNS.items():
        if column not in frame.columns:
            continue
        if name in labs:
            problems.append(Problem("column", column, f"one column for {name}", kind="invalid"))
            continue
        raw = frame[column]
        values = raw.cast(pl.Float64, strict=False)
        text = raw.cast(pl.String)
        for row, (given, value) in enumerate(zip(text.to_list(), values.to_list(), strict=True)):
            if given is None:
                continue
            if value is None or not np.isfinite(value) or value <= 0:
                problems.append(Problem(column, given, "a positive number", "range", row + 1))
        labs[name] = values.fill_null(np.nan).to_numpy().astype(np.float64)
    return labs, problems


def patient_record(frame: pl.DataFrame) -> PatientRecord:
    """Check one patient's long table (``patient_id, visit, day, pasi`` [+ labs]) and read it.

    Assessment columns are checked by :func:`psotrack.endpoints.validate_assessments`; lab
    columns must hold positive numbers or be empty. Rows are sorted by day.
    """
    lab_columns = [c for c in frame.columns if c in LAB_COLUMNS]
    labs, problems = _lab_values(frame)
    if problems:
        raise ValidationError(problems=problems[:50])
    checked = validate_assessments(frame.drop(lab_columns))
    late = (checked["day"] > HORIZON_DAYS).arg_true().head(50).to_list()
    if late:
        allowed = f"a day up to {HORIZON_DAYS} (5 years after the first dose, the horizon)"
        raise ValidationError(
            problems=[Problem("day", checked["day"][i], allowed, "invalid", i + 1) for i in late]
        )
    ids = checked["patient_id"].unique(maintain_order=True).to_list()
    if len(ids) > 1:
        shown = ", ".join(str(i) for i in ids[:5])
        raise ValidationError(
            "patient_id", shown, f"one patient per table (found {len(ids)})", kind="invalid"
        )
    order = np.argsort(checked["day"].to_numpy(), kind="stable")
    pasi = checked["pasi"].fill_null(np.nan).to_numpy().astype(np.float64)[order]
    day = checked["day"].to_numpy().astype(np.int64)[order]
    # The baseline is the latest reading on or before day 0; a relative forecast needs it > 0.
    before = np.flatnonzero((day <= 0) & ~np.isnan(pasi))
    if before.size == 0 or pasi[before[np.argmax(day[before])]] <= 0:
        shown_value = None if before.size == 0 else float(pasi[before[np.argmax(day[before])]])
        raise ValidationError(
            "pasi", shown_value,
            "a baseline PASI above 0 (the latest reading on or before day 0, day 0 = first dose)",
            kind="missing" if before.size == 0 else "invalid",
        )  # fmt: skip
    visit = tuple(str(v) for v in np.asarray(checked["visit"].to_list(), dtype=object)[order])
    return PatientRecord(
        str(ids[0]), visit, day, pasi, {name: v[order] for name, v in labs.items()}
    )


def draw_prior(particles: int, seed: int) -> Population:
    """The prior particles: ``particles`` plaque-bearing virtual patients, reproducibly.

    Built with the default stochastic trigger (docs/model.md section 11): each particle follows
    its own stimulus path after screening, as the virtual patients of the trials do. With
    deterministic (``NO_TRIGGER``) particles the 80 % bands held 42.5 % of held-out readings of
    patients simulated with the trigger (11 of 40 called unexplained); with these 78.1 %, and
    79.9 % after the cell-therapy refit (1 of 40).
    """
    return build_population(particles, seed, min_pasi=0.0, trigger=DEFAULT_TRIGGER)


def _area_candidates(area: FloatArray) -> FloatArray:
    """Candidate regional areas ``(k, 4·G, 4)``: each scale factor, with the 0–3 smallest
    regions of the particle left uninvolved (a common factor alone cannot reach a PASI below
    the sum of its grades, every region then scoring at least 1)."""
    regions = area.shape[1]
    smallest_first = np.argsort(area, axis=1, kind="stable")
    variants = []
    for dropped in range(regions):
        kept = area.copy()
        np.put_along_axis(kept, smallest_first[:, :dropped], 0.0, axis=1)
        variants.append(kept[:, None, :] * AREA_FACTORS[None, :, None])
    return np.minimum(np.concatenate(variants, axis=1), 100.0)


def _match_baseline(prior: Population, target: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Areas scaled so each particle's baseline PASI is nearest its target; (areas, PASI)."""
    candidates = _area_candidates(prior.baseline_area)
    k, c, regions = candidates.shape
    pasi = observe_pasi(
        np.repeat(prior.baseline_state, c, axis=0),
        np.repeat(prior.baseline_induration, c),
        candidates.reshape(k * c, regions),
    ).reshape(k, c)
    best = np.argmin(np.abs(pasi - target[:, None]), axis=1)  # first (all regions) on ties
    rows = np.arange(k)
    return candidates[rows, best], pasi[rows, best]


def _gauss_loglik(observed: FloatArray, predicted: FloatArray) -> FloatArray:
    sd = pasi_noise_sd(predicted)
    return np.asarray(-0.5 * ((observed - predicted) / sd) ** 2 - np.log(sd), dtype=np.float64)


def _normalised(loglik: FloatArray) -> FloatArray:
    weights = np.exp(loglik - loglik.max())
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _systematic_resample(weights: FloatArray, rng: np.random.Generator) -> npt.NDArray[np.intp]:
    k = weights.size
    positions = (rng.random() + np.arange(k)) / k
    cumulative = np.cumsum(weights)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, positions)


def _bands(pasi: FloatArray, rng: np.random.Generator) -> FloatArray:
    """10th/50th/90th percentiles of readings per day, ``pasi[days, particles]`` → ``(days, 3)``."""
    readings = observe_with_noise(np.repeat(pasi, READINGS_PER_PARTICLE, axis=1), rng)
    return np.asarray(
        np.percentile(readings, [10, 50, 90], axis=1, method="inverted_cdf").T, dtype=np.float64
    )


@dataclass(frozen=True)
class Forecast:
    """A simulated forecast: weekly bands, the expected course and the course classification."""

    patient_id: str
    schedule: str
    observed: pl.DataFrame
    table: pl.DataFrame
    course: Course
    latest_day: int | None
    latest_change_pct: float | None
    expected_change_pct: tuple[float, float] | None
    effective_sample_size: float
    particles: int
    seed: int
    label: str = LABEL
    expected_course: pl.DataFrame | None = None
    best_fit_z: float | None = None
    predictive_p: float | None = None

    @property
    def reading(self) -> str:
        """The course in one plain sentence, with the numbers it was decided on (simulated)."""
        words = COURSE_TEXT[self.course]
        text = f"{words[0].upper()}{words[1:]} (simulated)"
        if self.expected_change_pct is None or self.latest_change_pct is None:
            return text
        low, high = self.expected_change_pct
        return (
            f"{text}: PASI change on day {self.latest_day} {self.latest_change_pct:+.1f} % from "
            f"baseline; expected {low:+.1f} % to {high:+.1f} % (10th–90th percentile)"
        )

    @property
    def unexplained(self) -> bool:
        """Whether the posterior predictive check fails: the model cannot explain the patient."""
        return is_unexplained(self.predictive_p)

    @property
    def too_few_particles(self) -> bool:
        """Whether the effective sample size is below :data:`ESS_MIN` (step 7)."""
        return self.effective_sample_size < ESS_MIN

    @property
    def band_withheld(self) -> bool:
        """Whether the weekly band is withheld (null): the model cannot explain the patient."""
        return self.unexplained

    @property
    def warning(self) -> str | None:
        """Why the bands do not describe this patient (step 7), or ``None`` when the model fits."""
        reasons = []
        if self.unexplained:
            fit = "" if self.best_fit_z is None else (
                f"; the best-fitting simulated patient misses them by {self.best_fit_z:.1f} "
                "reading SDs on average"
            )  # fmt: skip
            reasons.append(
                "the model cannot explain this patient: readings this far from what the "
                f"simulated patients predicted from the earlier ones have probability "
                f"{self.predictive_p:.2g} (predictive check, threshold {PREDICTIVE_P_MIN:g})"
                f"{fit}; the forecast band is withheld and the expected course does not "
                "describe this patient"
            )
        if self.too_few_particles:
            reasons.append(
                f"only {self.effective_sample_size:.1f} of {self.particles} simulated patients "
                f"effectively fit the readings (fewer than {ESS_MIN:g}): "
                + (
                    "no band is given"
                    if self.unexplained
                    else "the band rests on too few to be trusted and may be too narrow"
                )
            )
        return "; ".join(reasons) if reasons else None

    def summary(self) -> pl.DataFrame:
        """The weekly forecast table (every row simulated)."""
        return self.table


def _check_arguments(weeks: int, particles: int) -> None:
    problems = []
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        problems.append(Problem("weeks", weeks, f"1–{MAX_WEEKS} weeks"))
    low, high = PARTICLE_RANGE
    if isinstance(particles, bool) or not isinstance(particles, int):
        problems.append(Problem("particles", particles, f"a whole number {low}–{high}", "type"))
    elif not low <= particles <= high:
        problems.append(Problem("particles", particles, f"{low}–{high} particles"))
    if problems:
        raise ValidationError(problems=problems)


def forecast_patient(
    patient: pl.DataFrame | PatientRecord,
    schedule: str | Schedule,
    *,
    weeks: int = 12,
    particles: int = 500,
    seed: int = 0,
    prior: Population | None = None,
) -> Forecast:
    """Forecast one patient's next ``weeks`` weekly PASI readings (SIMULATED; see module notes).

    ``prior`` (from :func:`draw_prior`) may be given to reuse particles across patients; by
    default ``particles`` are drawn from ``seed``. Same arguments, same forecast.
    """
    record = patient if isinstance(patient, PatientRecord) else patient_record(patient)
    sched = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    _check_arguments(weeks, particles if prior is None else len(prior))
    last_week = int(record.day.max(initial=0)) // 7 + weeks
    if late := late_first_doses(sched, 7 * last_week, f"the forecast ends at week {last_week}"):
        raise ValidationError(problems=late)
    prior_seed, target_seed, band_seed = np.random.SeedSequence(seed).spawn(3)
    if prior is None:
        prior = draw_prior(particles, int(prior_seed.generate_state(1)[0]))
    k = len(prior)
    baseline = float(record.pasi[record.baseline_index])
    noise = np.random.default_rng(target_seed).standard_normal(k)
    target = np.clip(baseline + pasi_noise_sd(baseline) * noise, 0.1, 72.0)
    area, matched = _match_baseline(prior, target)

    first_week = int(record.day.max(initial=0)) // 7 + 1
    week_numbers = np.arange(first_week, first_week + weeks)
    sim_days = np.unique(np.concatenate([[0], np.maximum(record.day, 0), 7 * week_numbers]))
    states, pasi = _simulate_particles(prior, sched, sim_days.astype(np.float64), area)

    # The match may miss its target (PASI steps; grades too low for a high target): correct.
    base_loglik = _gauss_loglik(np.full(k, baseline), matched)
    base_loglik -= _gauss_loglik(np.full(k, baseline), target)
    weights = _normalised(base_loglik + _readings_loglik(record, sim_days, pasi, states))
    rng = np.random.default_rng(band_seed)
    rows = np.searchsorted(sim_days, 7 * week_numbers)
    posterior = _bands(pasi[rows][:, _systematic_resample(weights, rng)], rng)
    expected = _bands(pasi[:, _systematic_resample(_normalised(base_loglik), rng)], rng)
    ess = effective_sample_size(weights)
    check_p = _predictive_check(record, sim_days, pasi, base_loglik)
    if is_unexplained(check_p):
        posterior[:] = np.nan  # step 7: no band rather than a confident wrong one
    table = pl.DataFrame(
        {
            "week": week_numbers.astype(np.int64),
            "day": (7 * week_numbers).astype(np.int64),
            "median": posterior[:, 1],
            "p10": posterior[:, 0],
            "p90": posterior[:, 2],
            "expected_p10": expected[rows, 0],
            "expected_median": expected[rows, 1],
            "expected_p90": expected[rows, 2],
            "simulated": np.ones(weeks, dtype=bool),
        }
    ).with_columns(pl.col(*BAND_COLUMNS).fill_nan(None))
    course, latest_day, latest_change, expected_change = _classify(
        record, baseline, sim_days, expected
    )
    expected_course = pl.DataFrame(
        {
            "day": sim_days.astype(np.int64),
            "expected_p10": expected[:, 0],
            "expected_median": expected[:, 1],
            "expected_p90": expected[:, 2],
            "simulated": np.ones(sim_days.size, dtype=bool),
        }
    )
    observed = pl.DataFrame(
        {
            "visit": list(record.visit),
            "day": record.day,
            "pasi": record.pasi,
            "change_pct": 100.0 * (record.pasi - baseline) / baseline,
        }
    ).with_columns(pl.col("pasi", "change_pct").fill_nan(None))
    return Forecast(
        patient_id=record.patient_id,
        schedule=sched.text,
        observed=observed,
        table=table,
        course=course,
        latest_day=latest_day,
        latest_change_pct=latest_change,
        expected_change_pct=expected_change,
        effective_sample_size=ess,
        particles=k,
        seed=seed,
        expected_course=expected_course,
        best_fit_z=_best_fit_z(record, sim_days, pasi),
        predictive_p=check_p,
    )


def _simulate_particles(
    prior: Population, sched: Schedule, days: FloatArray, area: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """States (for the labs) and PASI of every particle at ``days``.

    A perilesional schedule acts on the injected plaques only
    (:func:`psotrack.model.population.simulate_sites`): PASI mixes both sites by area and the
    labs, linear in the states, use the area-weighted mean of the two sites' states.
    """
    uninjected, injected = simulate_sites(prior, sched, days)
    if injected is None:
        pasi = np.stack([observe_pasi(y, prior.baseline_induration, area) for y in uninjected])
        return uninjected, pasi
    share = INJECTED_AREA_SHARE
    pasi = np.stack(
        [
            pasi_batch(
                two_site_pasi_columns(inj, rest, prior.baseline_induration, area, share)
            ).tenths.astype(np.float64)
            / 10.0
            for inj, rest in zip(injected, uninjected, strict=True)
        ]
    )
    return (1 - share) * uninjected + share * injected, pasi


def _readings_loglik(
    record: PatientRecord, sim_days: npt.NDArray[np.int64], pasi: FloatArray, states: FloatArray
) -> FloatArray:
    """Log-likelihood per particle of every PASI reading but the baseline, and of the labs."""
    at = np.searchsorted(sim_days, np.maximum(record.day, 0))  # before day 0: steady state
    loglik = np.zeros(pasi.shape[1])
    for row in range(record.day.size):
        if row != record.baseline_index and not np.isnan(record.pasi[row]):
            loglik += _gauss_loglik(np.full(loglik.size, record.pasi[row]), pasi[at[row]])
        for name, values in record.labs.items():
            if not np.isnan(values[row]):
                predicted = np.maximum(observe_labs(states[at[row]], None)[name], 1e-12)
                cv = LAB_REFERENCE[name][3]
                z = (np.log(values[row]) - np.log(predicted)) / np.sqrt(np.log1p(cv * cv))
                loglik -= 0.5 * z * z
    return loglik


def _reading_rows(record: PatientRecord) -> npt.NDArray[np.intp]:
    """Rows of every PASI reading but the baseline, in time order."""
    rows = np.flatnonzero(~np.isnan(record.pasi))
    return np.asarray(rows[rows != record.baseline_index], dtype=np.intp)


def _reading_z(
    record: PatientRecord, sim_days: npt.NDArray[np.int64], pasi: FloatArray
) -> FloatArray:
    """z-scores ``(readings, particles)`` of every PASI reading but the baseline (step 7)."""
    rows = _reading_rows(record)
    predicted = pasi[np.searchsorted(sim_days, np.maximum(record.day[rows], 0))]
    return np.asarray((record.pasi[rows][:, None] - predicted) / pasi_noise_sd(predicted))


def _predictive_check(
    record: PatientRecord, sim_days: npt.NDArray[np.int64], pasi: FloatArray, log_prior: FloatArray
) -> float | None:
    """The prequential predictive tail probability of the PASI readings (step 7)."""
    rows = _reading_rows(record)
    predicted = pasi[np.searchsorted(sim_days, np.maximum(record.day[rows], 0))]
    readings = record.pasi[rows]
    loglik = _gauss_loglik(readings[:, None], predicted)
    z = _reading_z(record, sim_days, pasi)
    return prequential_p(readings, z, loglik, log_prior)


def _best_fit_z(
    record: PatientRecord, sim_days: npt.NDArray[np.int64], pasi: FloatArray
) -> float | None:
    """RMS z-score of the readings (all but the baseline) for the best-fitting particle.

    ``None`` when the baseline is the only reading (nothing to fit).
    """
    z = _reading_z(record, sim_days, pasi)
    if z.shape[0] == 0:
        return None
    return float(np.sqrt(np.mean(z * z, axis=0)).min())


def _classify(
    record: PatientRecord, baseline: float, sim_days: npt.NDArray[np.int64], expected: FloatArray
) -> tuple[Course, int | None, float | None, tuple[float, float] | None]:
    """Latest reading after day 0 against the expected course of its day (:func:`course_of`)."""
    after = np.flatnonzero((record.day > 0) & ~np.isnan(record.pasi))
    if after.size == 0:
        return "unassessable", None, None, None
    row = int(after[np.argmax(record.day[after])])
    day = int(record.day[row])
    low, median, high = expected[int(np.searchsorted(sim_days, day))]
    change = 100.0 * (float(record.pasi[row]) - baseline) / baseline
    band = (float(100.0 * (low - baseline) / baseline), float(100.0 * (high - baseline) / baseline))
    # Compared as PASI readings (tenths), not as rounded-off percentages: same order, baseline > 0.
    reading = float(record.pasi[row])
    return course_of(reading, low, median, high), day, change, band
