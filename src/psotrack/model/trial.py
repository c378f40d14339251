"""In-silico trials: simulated arms, responder rates through the endpoint engine, power, sign order.

Everything here is **simulated**: every frame carries ``simulated=True`` and nothing in it is a
result about any therapy. Each arm gets its own virtual patients (a parallel-group trial), drawn
reproducibly from ``numpy.random.SeedSequence(seed)``: the same arguments give the same frames.
Responder rates are counted by :func:`psotrack.endpoints.derive_response_rates` (non-responder
imputation, exact Clopper–Pearson intervals) on the long table ``patient_id, arm, visit, day,
pasi`` — never by a second responder rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats as scipy_stats

from psotrack.endpoints import derive_response_rates
from psotrack.errors import Problem, ValidationError
from psotrack.model.matching import matched_population
from psotrack.model.observation import area_percent, sign_severity
from psotrack.model.parameters import ModelParameters, without_msc_effect
from psotrack.model.population import (
    BASELINE_AREA_MEDIAN,
    INJECTED_AREA_SHARE,
    Population,
    build_population,
)
from psotrack.model.population import simulate_arm as simulate_population_arm
from psotrack.model.solver import published_state, simulate
from psotrack.model.therapies import Schedule, build_inputs, late_first_doses, parse_schedule
from psotrack.stats.proportions import proportion_interval

#: Thresholds whose responder rates a simulated trial reports.
TRIAL_THRESHOLDS: Final = (50, 75, 90)
MAX_WEEKS: Final = 156
MAX_PATIENTS: Final = 100_000
LABEL: Final = "SIMULATED — not a result about any therapy"
#: The untreated schedule names understood by :func:`parse_schedule`.
CONTROL_NAMES: Final = ("control", "placebo", "untreated")


def visit_label(day: int) -> str:
    """Visit label of a study day: ``W0``, ``W1`` … for whole weeks, ``D10`` otherwise."""
    return f"W{day // 7}" if day % 7 == 0 else f"D{day}"


def assessment_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The endpoint engine's long table ``patient_id, arm, visit, day, pasi`` of a simulated frame.

    >>> rows = pl.DataFrame({"patient_id": [1, 1], "arm": ["control"] * 2,
    ...                      "day": [0.0, 28.0], "pasi": [12.0, 12.0]})
    >>> assessment_table(rows)["visit"].to_list()
    ['W0', 'W4']
    """
    days = frame["day"].round(0).cast(pl.Int64)
    return pl.DataFrame(
        {
            "patient_id": frame["patient_id"].cast(pl.String),
            "arm": frame["arm"].cast(pl.String),
            "visit": [visit_label(d) for d in days.to_list()],
            "day": days,
            "pasi": frame["pasi"],
        }
    )


def _check_trial(arms: Sequence[str], n: int, weeks: int) -> list[Schedule]:
    problems = []
    if not arms:
        problems.append(Problem("arms", list(arms), "one or more arm schedules", kind="missing"))
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PATIENTS:
        problems.append(Problem("n", n, f"1–{MAX_PATIENTS} patients per arm"))
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= MAX_WEEKS:
        problems.append(Problem("weeks", weeks, f"1–{MAX_WEEKS} weeks"))
    texts = [" ".join(a.strip().lower().split()) for a in arms]
    if len(set(texts)) != len(texts):
        problems.append(Problem("arms", list(arms), "each arm once", kind="invalid"))
    if problems:
        raise ValidationError(problems=problems)
    schedules = [parse_schedule(a) for a in arms]
    late = [
        q for x in schedules for q in late_first_doses(x, 7 * weeks, f"{weeks} weeks of follow-up")
    ]
    if late:
        raise ValidationError(problems=late)
    return schedules


def _arm_seeds(seed: int, n_arms: int) -> list[tuple[int, int]]:
    """Independent (population seed, lab-noise seed) per arm, from one trial seed."""
    children = np.random.SeedSequence(seed).spawn(n_arms)
    return [tuple(int(v) for v in child.generate_state(2)) for child in children]  # type: ignore[misc]


#: Suffix of the label of a null arm (the same schedule with every MSC Emax 0).
NULL_SUFFIX: Final = " (null: MSC Emax 0)"


@dataclass(frozen=True)
class _Arm:
    """One simulated arm: its label, schedule, seeds and whether it is a null arm."""

    label: str
    schedule: Schedule
    seeds: tuple[int, int]
    null: bool = False


def _arms(schedules: Sequence[Schedule], seed: int, null: bool) -> list[_Arm]:
    """The arms to simulate; with ``null``, a null arm after each cell-therapy arm.

    Null arms draw their seeds after the given arms', so adding them leaves every given arm's
    patients and readings unchanged.
    """
    cells = [sched for sched in schedules if null and sched.cell_therapy is not None]
    seeds = _arm_seeds(seed, len(schedules) + len(cells))
    given = [_Arm(sched.text, sched, pair) for sched, pair in zip(schedules, seeds, strict=False)]
    nulls = {
        sched.text: _Arm(sched.text + NULL_SUFFIX, sched, pair, null=True)
        for sched, pair in zip(cells, seeds[len(schedules) :], strict=True)
    }
    out: list[_Arm] = []
    for arm in given:
        out.append(arm)
        if arm.schedule.text in nulls:
            out.append(nulls[arm.schedule.text])
    return out


def _population(
    arm: _Arm, n: int, min_pasi: float, typical: ModelParameters | None, match_baseline: bool
) -> Population:
    population = _arm_population(n, arm.seeds[0], min_pasi, typical, match_baseline)
    if not arm.null:
        return population
    return replace(population, parameters=without_msc_effect(population.parameters))


@dataclass(frozen=True)
class TrialResult:
    """A simulated trial: per-visit trajectories and responder rates per arm (all simulated)."""

    arms: tuple[str, ...]
    n: int
    weeks: int
    seed: int
    trajectories: pl.DataFrame
    rates: pl.DataFrame

    def summary(self) -> pl.DataFrame:
        """Responder rates at the final visit, one row per arm and threshold."""
        last = self.rates["day"].max()
        return self.rates.filter(pl.col("day") == last)


def visit_schedule(weeks: int) -> list[int]:
    """Visit days of a simulated trial: weekly from day 0 to ``weeks``."""
    return [7 * w for w in range(weeks + 1)]


def _arm_population(
    n: int, seed: int, min_pasi: float, typical: ModelParameters | None, match_baseline: bool
) -> Population:
    """An arm's patients; with ``match_baseline``, their baseline PASI follows the shipped real
    distribution (:func:`psotrack.model.matching.matched_population`)."""
    if match_baseline:
        return matched_population(n, seed, min_pasi=min_pasi, typical=typical).population
    return build_population(n, seed, min_pasi, typical)


def simulate_trial(
    arms: Sequence[str],
    n: int,
    weeks: int,
    seed: int,
    min_pasi: float = 10.0,
    typical: ModelParameters | None = None,
    on_arm: Callable[[str], None] | None = None,
    injected_area_share: float = INJECTED_AREA_SHARE,
    match_baseline: bool = False,
    null: bool = False,
) -> TrialResult:
    """Simulate ``n`` included patients (baseline PASI ≥ ``min_pasi``) per arm for ``weeks`` weeks.

    ``trajectories``: one row per patient and weekly visit — ``patient_id`` (unique across arms),
    ``arm, visit, day, pasi``, the sign grades and regional areas, ``treg_pct, th17_pct,
    il17_pg_ml``, for perilesional arms ``target_erythema, target_induration, target_scaling,
    tpss`` of the injected plaques (``injected_area_share`` of the affected area; null in other
    arms), and ``simulated`` (always true). ``rates``: the columns of
    :func:`~psotrack.endpoints.derive_response_rates` plus ``endpoint`` (``PASI50`` …) and
    ``simulated``. ``on_arm`` is called with each arm's text once it is simulated.
    ``match_baseline`` selects each arm's patients so that their baseline PASI follows the
    shipped real distribution (Allen 2016 acceptance–rejection, :mod:`psotrack.model.matching`).

    ``null``: beside each cell-therapy arm, a *null arm* — the same schedule given to its own
    virtual patients with every MSC Emax 0 (the cells are infused and cleared but do nothing),
    labelled ``<arm> (null: MSC Emax 0)``. Its course is that of untreated patients: what a
    trial of a product without effect would show.
    """
    schedules = _check_trial(arms, n, weeks)
    days = visit_schedule(weeks)
    frames = []
    simulated = _arms(schedules, seed, null)
    for k, arm in enumerate(simulated):
        population = _population(arm, n, min_pasi, typical, match_baseline)
        frame = simulate_population_arm(
            population, arm.schedule, days, arm.seeds[1], injected_area_share=injected_area_share
        )
        frames.append(frame.with_columns(pl.col("patient_id") + k * n, arm=pl.lit(arm.label)))
        if on_arm is not None:
            on_arm(arm.label)
    raw = pl.concat(frames, how="diagonal")  # only perilesional arms have TPSS columns
    table = assessment_table(raw)
    trajectories = pl.concat(
        [table, raw.drop("patient_id", "arm", "day", "pasi")], how="horizontal"
    ).with_columns(pl.col("patient_id").cast(pl.Int64))
    rates = trial_rates(table)
    return TrialResult(tuple(a.label for a in simulated), n, weeks, seed, trajectories, rates)


def trial_rates(table: pl.DataFrame, thresholds: Sequence[int] = TRIAL_THRESHOLDS) -> pl.DataFrame:
    """Responder rates per arm, visit and threshold from the endpoint engine (NRI, exact CI)."""
    parts = [
        derive_response_rates(table, threshold=t).with_columns(pl.lit(f"PASI{t}").alias("endpoint"))
        for t in thresholds
    ]
    return pl.concat(parts).with_columns(pl.lit(True).alias("simulated"))


def _reference_index(schedules: Sequence[Schedule]) -> int:
    for i, sched in enumerate(schedules):
        if sched.cell_therapy is None and sched.blocker is None and sched.topical == 0:
            return i
    return len(schedules) - 1


def power_estimate(
    arms: Sequence[str],
    n: int,
    weeks: int,
    replicates: int,
    seed: int,
    threshold: int = 75,
    alpha: float = 0.05,
    min_pasi: float = 10.0,
    typical: ModelParameters | None = None,
    injected_area_share: float = INJECTED_AREA_SHARE,
    match_baseline: bool = False,
    null: bool = False,
) -> pl.DataFrame:
    """Share of ``replicates`` simulated trials where an arm differs from the reference arm.

    The reference is the first untreated arm (``control``), else the last arm. In each simulated
    trial each other arm's PASI ``threshold`` responders at the final visit (counted by the
    endpoint engine, NRI) are compared with the reference's by a two-sided Fisher exact test
    (``scipy.stats.fisher_exact``); significant when ``p < alpha``. Replicates are independent
    trials: all ``n × replicates`` patients of an arm are simulated in one vectorised run.
    Columns: ``arm, reference, n, weeks, threshold, alpha, replicates, significant, power,
    ci_low, ci_high`` (exact interval of the power estimate), ``arm_rate`` and
    ``reference_rate`` (mean responder shares over the replicates: a reference that never
    responds makes a few responders significant), ``false_positive_rate`` (with ``null``, for
    cell-therapy arms: the share of significant trials when the arm is its own null — the same
    schedule with every MSC Emax 0 — against the same reference; ≈ ``alpha`` or below for a
    sound test, 0 when neither arm can respond), ``test``, ``simulated``.
    ``match_baseline`` as in :func:`simulate_trial`.
    """
    schedules = _check_trial(arms, n, weeks)
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ValidationError("replicates", replicates, "1 or more simulated trials")
    if not 0 < alpha < 1:
        raise ValidationError("alpha", alpha, "0–1, exclusive (e.g. 0.05)")
    if len(schedules) < 2:
        raise ValidationError("arms", list(arms), "two or more arms to compare", kind="invalid")
    final = 7 * weeks
    counts: dict[str, npt.NDArray[np.int64]] = {}
    simulated = _arms(schedules, seed, null)
    for arm in simulated:
        population = _population(arm, n * replicates, min_pasi, typical, match_baseline)
        frame = simulate_population_arm(
            population,
            arm.schedule,
            [0, final],
            arm.seeds[1],
            injected_area_share=injected_area_share,
        )
        replicate = (frame["patient_id"] - 1) // n
        table = assessment_table(frame.with_columns(arm=replicate.cast(pl.String)))
        rates = derive_response_rates(table, threshold=threshold).sort(pl.col("arm").cast(pl.Int64))
        counts[arm.label] = rates["responders"].to_numpy()
    reference = schedules[_reference_index(schedules)].text

    def significant(label: str) -> int:
        p_values = [
            scipy_stats.fisher_exact([[a, n - a], [b, n - b]]).pvalue
            for a, b in zip(counts[label].tolist(), counts[reference].tolist(), strict=True)
        ]
        return int(np.sum(np.array(p_values) < alpha))

    rows = []
    for arm in simulated:
        if arm.null or arm.label == reference:
            continue
        hits = significant(arm.label)
        interval = proportion_interval(hits, replicates)
        null_label = arm.label + NULL_SUFFIX
        rows.append(
            {
                "arm": arm.label,
                "reference": reference,
                "n": n,
                "weeks": weeks,
                "threshold": threshold,
                "alpha": alpha,
                "replicates": replicates,
                "significant": hits,
                "power": hits / replicates,
                "ci_low": interval.low,
                "ci_high": interval.high,
                "arm_rate": float(np.mean(counts[arm.label])) / n,
                "reference_rate": float(np.mean(counts[reference])) / n,
                "false_positive_rate": (
                    significant(null_label) / replicates if null_label in counts else None
                ),
                "test": "Fisher exact, two-sided",
                "simulated": True,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"false_positive_rate": pl.Float64})


def sign_half_times(
    schedule: str, weeks: int = 26, typical: ModelParameters | None = None
) -> dict[str, float | None]:
    """Day by which each lesion sign, and the area, first reaches 50 % of its improvement.

    One *typical* patient (the population's typical parameters, no variability) starts at the
    published plaque steady state settled for 400 days, is treated per ``schedule`` and followed
    daily. Severities are continuous (before grading): erythema, induration, desquamation
    (:func:`psotrack.model.observation.sign_severity`) and the area share of the median baseline
    areas. Improvement is measured against the largest improvement reached in the window; a sign
    that never improves gives ``None``.
    """
    p = typical if typical is not None else ModelParameters()
    untreated = build_inputs([parse_schedule("control")])[0]
    y0 = simulate(p, published_state("plaque", p), [400], untreated, steps_per_day=1)[0]
    inputs, dosing = build_inputs([parse_schedule(schedule)])
    days = np.arange(0, 7 * weeks + 1, dtype=np.float64)
    y = simulate(p, y0, days, inputs, dosing)[:, 0, :]
    severity = sign_severity(y)
    induration = severity["induration"]
    median_area = np.array([list(BASELINE_AREA_MEDIAN.values())])
    area = area_percent(induration, np.full_like(induration, induration[0]), median_area)
    series = {**severity, "area": area.sum(axis=-1)}
    out: dict[str, float | None] = {}
    for name, values in series.items():
        drop = values[0] - values.min()
        if drop <= 1e-9 * max(abs(values[0]), 1.0):
            out[name] = None
            continue
        out[name] = float(days[int(np.argmax(values <= values[0] - drop / 2))])
    return out


__all__ = [
    "LABEL",
    "TrialResult",
    "assessment_table",
    "power_estimate",
    "sign_half_times",
    "simulate_trial",
    "trial_rates",
    "visit_label",
    "visit_schedule",
]
