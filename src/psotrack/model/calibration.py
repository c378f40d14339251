"""Calibration of the virtual-patient model to published anchors: targets, measures and report.

The targets, with their sources, the psotrack assumptions about time points and whether each was
used to choose a parameter (``role``: ``fitted``) or not (``held out``), are the package data
``psotrack/data/calibration_targets.json``. :func:`calibration_report` simulates one virtual
population (common random numbers: every arm is given the same patients) and lays each published
figure, with its exact Clopper–Pearson interval, beside the simulated one. Without posterior
draws the simulated interval is the exact binomial interval of the one population (sampling
noise only); with draws (:mod:`psotrack.model.posterior`) it propagates the posterior of the
fitted parameters (:func:`propagated_interval`). Every number here is about simulated
patients; nothing here is a result about any therapy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from importlib import resources
from typing import Any, Final

import numpy as np
import polars as pl
from scipy import stats

from psotrack.endpoints import derive_responders, derive_response_rates
from psotrack.errors import Problem, ValidationError
from psotrack.model.biologics import first_order_decline, relapse_median
from psotrack.model.parameters import FloatArray, ModelParameters
from psotrack.model.population import Population, build_population, simulate_arm
from psotrack.model.therapies import parse_schedule
from psotrack.model.trial import assessment_table
from psotrack.stats.proportions import proportion_interval

#: Parameters fitted per target group, and the targets each group is fitted to (the posterior
#: of :mod:`psotrack.model.posterior` is written over whatever names stand here).
FIT_GROUPS: Final = {
    "cell_therapy": (("paracrine_ec50", "paracrine_half_life"), ("ucmsc_pasi40", "ucmsc_pga01")),
    "anti_il17": (("blocker_il17_ec50", "blocker_il17_emax"), ("anti_il17_pasi75",)),
    "anti_il23": (("blocker_il23_ec50", "blocker_il23_emax"), ("anti_il23_pasi75",)),
    "anti_p40": (("blocker_p40_ec50", "blocker_p40_emax"), ("anti_p40_pasi75",)),
}
#: Assumed values before calibration: the centres of the posterior's log-normal priors.
PRIOR: Final = {
    "paracrine_ec50": 6.0,
    "paracrine_half_life": 7.0,
    "blocker_il17_ec50": 1.0,
    "blocker_il17_emax": 0.9,
    "blocker_il23_ec50": 1.0,
    "blocker_il23_emax": 0.9,
    "blocker_p40_ec50": 1.0,
    "blocker_p40_emax": 0.9,
}
REPORT_SEED: Final = 2022
#: Patients for the untreated (placebo) arm's targets, at least: a placebo PASI 100 of
#: 0.1–0.5 % (Ambikaibalan 2021) is 0–1 patients of 300, so a rate can only be read from
#: thousands; 10 000 were simulated in about 16 s of CPU (2026-12-03). docs/model.md §5.3.
PLACEBO_PATIENTS: Final = 10_000
ROLES: Final = ("fitted", "held out")
KINDS: Final = ("count", "range", "drift", "direction", "time_course", "relapse_median")
#: Therapy parameters: they do not act on the untreated steady state, so may be changed on a
#: built population (:func:`with_typical`).
THERAPY_PREFIXES: Final = (
    "paracrine_",
    "msc_",
    "blocker_",
    "trm_",
    "il17_signal_share",
    "il12_th1_share",
)
#: Sampled rates per posterior draw in :func:`propagated_interval`.
REPLICATES_PER_DRAW: Final = 200
BINOMIAL_INTERVAL: Final = "exact 95 % (binomial, one population)"
POSTERIOR_INTERVAL: Final = "95 % over posterior draws × Jeffreys Beta of each population"
REPORT_COLUMNS: Final = (
    "target",
    "role",
    "kind",
    "arm",
    "endpoint",
    "day",
    "published",
    "published_rate",
    "published_low",
    "published_high",
    "simulated",
    "simulated_rate",
    "simulated_low",
    "simulated_high",
    "interval",
    "met",
    "predictive_p",
    "source",
    "note",
)


@dataclass(frozen=True)
class Target:
    """One published calibration anchor (see ``calibration_targets.json`` for each field)."""

    id: str
    kind: str
    arm: str
    endpoint: str
    day: int
    source: str
    note: str
    responders: int | None = None
    n: int | None = None
    low: float | None = None
    high: float | None = None
    direction: str | None = None
    responder_endpoint: str | None = None
    responder_day: int | None = None
    role: str = "fitted"
    value: float | None = None
    tolerance: float | None = None
    follow_up: int | None = None


@dataclass(frozen=True)
class Measure:
    """What one simulated population shows for a target: ``count`` of ``total`` (a rate), and
    ``value`` (a drift's mean % change, a direction's median % change, a decline rate, or a
    Kaplan–Meier median time to relapse in days with ``total`` responders at the stop and
    ``relapses`` of them relapsing; ``None`` when the median is not reached)."""

    count: int | None = None
    total: int | None = None
    value: float | None = None
    relapses: int | None = None


def load_targets() -> list[Target]:
    """The calibration targets shipped in the package."""
    path = resources.files("psotrack").joinpath("data/calibration_targets.json")
    return parse_targets(json.loads(path.read_text(encoding="utf-8")))


def parse_targets(raw: Mapping[str, Any]) -> list[Target]:
    """Targets from the JSON document; fields a row adds beyond :class:`Target` are ignored, and
    a row without ``role`` is ``fitted`` (psotrack never counts a target as held out unless the
    row says so). A bad ``role`` or ``kind`` is refused, all at once."""
    known = {f.name for f in fields(Target)}
    targets = [Target(**{k: v for k, v in row.items() if k in known}) for row in raw["targets"]]
    problems = [
        Problem(f"{t.id}.role", t.role, " or ".join(ROLES), "invalid")
        for t in targets
        if t.role not in ROLES
    ]
    problems += [
        Problem(f"{t.id}.kind", t.kind, ", ".join(KINDS), "invalid")
        for t in targets
        if t.kind not in KINDS
    ]
    problems += [p for t in targets for p in _field_problems(t)]
    if problems:
        raise ValidationError(problems=problems)
    return targets


def _field_problems(t: Target) -> list[Problem]:
    """What a row of its kind lacks: a count its ``responders`` of ``n``, a range its bounds."""
    if t.kind == "count" and not (
        t.responders is not None and t.n is not None and 0 <= t.responders <= t.n and t.n >= 1
    ):
        return [Problem(f"{t.id}.responders", t.responders, f"0–n responders of n ≥ 1 (n={t.n})")]
    if t.kind == "range" and not (
        t.low is not None and t.high is not None and 0 <= t.low <= t.high <= 1
    ):
        return [Problem(f"{t.id}.low", t.low, f"0 ≤ low ≤ high ≤ 1 (high={t.high})")]
    if t.kind == "time_course" and not (
        t.value is not None and t.value > 0 and t.tolerance is not None and 0 < t.tolerance < 1
    ):
        return [
            Problem(
                f"{t.id}.value",
                t.value,
                f"a rate > 0 with a tolerance in (0, 1) (tolerance={t.tolerance})",
            )
        ]
    if t.kind == "relapse_median" and not (
        t.value is not None
        and t.value > 0
        and t.tolerance is not None
        and 0 < t.tolerance < 1
        and t.follow_up is not None
        and t.follow_up >= 7
        and (t.responder_endpoint or "").removeprefix("PASI").isdigit()
    ):
        return [
            Problem(
                f"{t.id}.value",
                t.value,
                "a median in days > 0, a tolerance in (0, 1), a follow_up ≥ 7 days and a "
                f"responder endpoint PASInn (tolerance={t.tolerance}, follow_up={t.follow_up})",
            )
        ]
    if t.kind == "direction" and not (
        t.direction in ("up", "down") and t.responder_endpoint and t.responder_day is not None
    ):
        return [Problem(f"{t.id}.direction", t.direction, "up or down, with a responder endpoint")]
    return []


def with_typical(population: Population, typical: ModelParameters) -> Population:
    """The same patients with new typical values (common random numbers).

    Each patient's value is scaled by ``new typical / old typical``, which keeps their log-normal
    factor; only parameters that do not act on the untreated steady state (therapy parameters)
    may change, or the baselines would no longer be steady states.
    """
    old = ModelParameters()
    changes: dict[str, FloatArray] = {}
    for f in fields(ModelParameters):
        new_value = float(getattr(typical, f.name))
        old_value = float(getattr(old, f.name))
        if new_value != old_value:
            if not f.name.startswith(THERAPY_PREFIXES):
                raise ValidationError(
                    f.name,
                    new_value,
                    "a therapy parameter (paracrine_*, msc_*, blocker_*): this one changes the "
                    "untreated model, so build a new population instead",
                    "invalid",
                )
            current = np.asarray(getattr(population.parameters, f.name), dtype=np.float64)
            # A typical value of 0 (a share not in use) has no factor to keep: every patient
            # takes the new value.
            changes[f.name] = (
                current * (new_value / old_value)
                if old_value != 0
                else np.full_like(current, new_value)
            )
    return replace(population, parameters=replace(population.parameters, **changes))


def _pga01(frame: pl.DataFrame) -> pl.Series:
    grade_sum = pl.col("erythema").cast(pl.Int64) + pl.col("induration").cast(pl.Int64)
    grade_sum = grade_sum + pl.col("desquamation").cast(pl.Int64)
    no_area = pl.sum_horizontal(pl.col("^.*_area_pct$")) == 0
    return frame.select(((grade_sum <= 4) | no_area).alias("pga01"))["pga01"]


def endpoint_count(frame: pl.DataFrame, endpoint: str, day: int) -> tuple[int, int]:
    """Responders and patients of ``endpoint`` (``PASInn`` or ``PGA01``) on ``day`` (NRI).

    PASI responses are counted by the endpoint engine; PGA 0/1 by psotrack's grade proxy.
    """
    if endpoint.startswith("PASI") and endpoint[4:].isdigit():
        table = assessment_table(frame.filter(pl.col("day").is_in([0.0, float(day)])))
        rates = derive_response_rates(table, threshold=int(endpoint[4:]), by=None)
        row = rates.filter(pl.col("day") == day)
        return int(row["responders"][0]), int(row["n"][0])
    if endpoint == "PGA01":
        at_day = frame.filter(pl.col("day") == float(day))
        return int(_pga01(at_day).sum()), at_day.height
    raise ValidationError("endpoint", endpoint, "PASInn (e.g. PASI75) or PGA01", "invalid")


def _responder_ids(frame: pl.DataFrame, endpoint: str, day: int) -> pl.Series:
    """Patients with a PASI ``endpoint`` response on ``day``, by the endpoint engine's rule
    (evaluability included: a baseline PASI of 0 is no responder)."""
    threshold = int(endpoint[4:])
    table = assessment_table(frame.filter(pl.col("day").is_in([0.0, float(day)])))
    flags = derive_responders(table, thresholds=(threshold,))
    hit = flags.filter((pl.col("day") == day) & (pl.col(f"pasi{threshold}") == 1))
    return hit["patient_id"].cast(pl.Int64)


def _days_by_arm(targets: Sequence[Target]) -> dict[str, list[int]]:
    days: dict[str, set[int]] = {}
    for t in targets:
        days.setdefault(t.arm, {0}).update({t.day, t.responder_day or 0})
        if t.kind == "time_course":
            days[t.arm].update(range(0, t.day + 1, 7))
        if t.kind == "relapse_median":
            days[t.arm].update(range(0, t.day + (t.follow_up or 0) + 1, 7))
    return {arm: sorted(d) for arm, d in days.items()}


def simulate_targets(
    population: Population, targets: Sequence[Target], seed: int
) -> dict[str, pl.DataFrame]:
    """One simulated frame per target arm (the same patients in every arm)."""
    return {
        arm: simulate_arm(population, arm, days, seed)
        for arm, days in _days_by_arm(targets).items()
    }


def measure_target(target: Target, frame: pl.DataFrame) -> Measure:
    """The simulated measure of ``target`` in its arm's frame."""
    if target.kind == "time_course":
        rates = first_order_decline(frame, last_day=target.day)
        return Measure(value=float(rates["rate_per_day"][0]))
    if target.kind == "relapse_median":
        assert target.responder_endpoint is not None
        level = int(target.responder_endpoint.removeprefix("PASI"))
        median, responders, relapses = relapse_median(frame, target.day, level)
        return Measure(total=responders, value=median, relapses=relapses)
    if target.kind == "drift":
        at = frame.filter(pl.col("day").is_in([0.0, float(target.day)])).sort("patient_id", "day")
        pasi = at["pasi"].to_numpy().reshape(-1, 2)
        return Measure(value=float(np.mean((pasi[:, 1] - pasi[:, 0]) / pasi[:, 0]) * 100))
    if target.kind == "direction":
        assert target.responder_endpoint is not None and target.responder_day is not None
        ids = _responder_ids(frame, target.responder_endpoint, target.responder_day)
        lab = frame.filter(pl.col("patient_id").is_in(ids.implode()))
        at = lab.filter(pl.col("day").is_in([0.0, float(target.day)])).sort("patient_id", "day")
        values = at[target.endpoint].to_numpy().reshape(-1, 2)
        sign = 1.0 if target.direction == "up" else -1.0
        moved = int(np.sum(sign * (values[:, 1] - values[:, 0]) > 0))
        median = float(np.median(values[:, 1] / values[:, 0] - 1) * 100) if len(values) else None
        return Measure(moved, int(values.shape[0]), median)
    return Measure(*endpoint_count(frame, target.endpoint, target.day))


def is_untreated(arm: str) -> bool:
    """Whether an arm gives no therapy at all (placebo): no cells, no blocker, no topical.

    >>> is_untreated("control"), is_untreated("anti-il17 x2 q4w")
    (True, False)
    """
    schedule = parse_schedule(arm)
    return schedule.cell_therapy is None and schedule.blocker is None and schedule.topical == 0


def measure_targets(
    population: Population, targets: Sequence[Target], seed: int
) -> dict[str, Measure]:
    """Every target's simulated measure on one population (one simulation per arm)."""
    frames = simulate_targets(population, targets, seed)
    return {t.id: measure_target(t, frames[t.arm]) for t in targets}


def propagated_interval(
    measures: Sequence[Measure], rng: np.random.Generator, replicates: int = REPLICATES_PER_DRAW
) -> tuple[float, float]:
    """95 % interval over posterior draws, each draw's simulated population one measure.

    A rate: for each draw, ``replicates`` values of the rate that its population of ``total``
    patients estimates are drawn from the Jeffreys posterior ``Beta(count + ½, total − count +
    ½)`` (the sampling of a population of that size; unlike a binomial resample it does not
    collapse at 0/n or n/n), and the interval is the 2.5–97.5 % quantiles of all draws' values
    pooled, so it combines parameter uncertainty and sampling. A value (drift, decline rate,
    median time to relapse): the quantiles over draws (a median not reached counts as +∞).
    """
    if measures and measures[0].count is None:
        values = np.array(
            [np.inf if m.value is None else m.value for m in measures], dtype=np.float64
        )
        low, high = np.quantile(values, [0.025, 0.975])
        return float(low), float(high)
    pooled = [
        rng.beta(m.count + 0.5, m.total - m.count + 0.5, replicates)
        for m in measures
        if m.total and m.count is not None
    ]
    if not pooled:
        return float("nan"), float("nan")
    low, high = np.quantile(np.concatenate(pooled), [0.025, 0.975])
    return float(low), float(high)


def predictive_p(responders: int, n: int, rates: Sequence[float]) -> float:
    """Two-sided posterior predictive p-value of a published count ``responders/n``.

    The predictive distribution of a trial of ``n`` is the mixture over ``rates`` (one per
    posterior draw, or the one simulated rate) of ``Binomial(n, rate)``; the p-value is twice
    the smaller tail at the published count, at most 1. Small values say the published count
    is unlikely under the model, whatever the lenient ``met`` rule says.
    """
    r = np.asarray(rates, dtype=np.float64)
    lower = float(np.mean(stats.binom.cdf(responders, n, r)))
    upper = float(np.mean(stats.binom.sf(responders - 1, n, r)))
    return min(1.0, 2 * min(lower, upper))


def _row(
    target: Target,
    measure: Measure,
    interval: tuple[float, float] | None,
    rates: Sequence[float] = (),
) -> dict[str, object]:
    """One report row; ``interval`` is the propagated one, else the exact binomial one;
    ``rates`` the per-draw simulated rates (for the predictive p-value of a count)."""
    row: dict[str, object] = {
        "target": target.id,
        "role": target.role,
        "kind": target.kind,
        "arm": target.arm,
        "endpoint": target.endpoint,
        "day": target.day,
        "source": target.source,
        "note": target.note,
        "interval": POSTERIOR_INTERVAL if interval is not None else BINOMIAL_INTERVAL,
    }
    if target.kind == "time_course":
        assert measure.value is not None and target.value is not None
        band = (
            target.value * (1 - (target.tolerance or 0)),
            target.value * (1 + (target.tolerance or 0)),
        )
        row |= {
            "published": f"{target.value:g}/day ±{target.tolerance:.0%}",
            "published_rate": target.value,
            "published_low": band[0],
            "published_high": band[1],
            "simulated": f"{measure.value:.4f}/day",
            "simulated_rate": measure.value,
        }
        if interval is not None:
            row |= {"simulated_low": interval[0], "simulated_high": interval[1]}
            row["interval"] = "95 % over posterior draws (rate per day)"
            row["met"] = interval[0] <= band[1] and band[0] <= interval[1]
        else:
            row |= {"interval": "", "met": band[0] <= measure.value <= band[1]}
        return row
    if target.kind == "relapse_median":
        return row | _relapse_row(target, measure, interval)
    if target.kind == "drift":
        assert measure.value is not None
        limit = float(target.high or 0)
        row |= {"published": f"within ±{limit:g} %", "simulated": f"{measure.value:+.2f} %"}
        if interval is not None:
            row |= {"simulated_low": interval[0], "simulated_high": interval[1]}
            row["interval"] = "95 % over posterior draws (mean % change)"
            row["met"] = -limit <= interval[0] and interval[1] <= limit
        else:
            row |= {"interval": "", "met": abs(measure.value) <= limit}
        return row
    assert measure.count is not None and measure.total is not None
    if target.kind == "direction":
        row["published"] = f"{target.direction} in responders (significant)"
        if measure.total == 0:
            return row | {"simulated": "no responders", "met": False}
        row["simulated"] = (
            f"{measure.count}/{measure.total} {target.direction}, median {measure.value:+.1f} %"
        )
    else:
        row["simulated"] = f"{measure.count}/{measure.total}"
    sim = proportion_interval(measure.count, measure.total)
    low, high = interval if interval is not None else (sim.low, sim.high)
    row |= {"simulated_rate": sim.rate, "simulated_low": low, "simulated_high": high}
    if target.kind == "direction":
        row["met"] = low > 0.5
    elif target.kind == "count":
        assert target.responders is not None and target.n is not None
        pub = proportion_interval(target.responders, target.n)
        row |= {"published": f"{target.responders}/{target.n}", "published_rate": pub.rate}
        row |= {"published_low": pub.low, "published_high": pub.high}
        row["met"] = (low <= pub.rate <= high) or (pub.low <= sim.rate <= pub.high)
        row["predictive_p"] = predictive_p(target.responders, target.n, rates or [sim.rate])
    else:
        r_low, r_high = float(target.low or 0), float(target.high or 0)
        row |= {"published": f"{r_low:.1%}–{r_high:.1%} (range)"}
        row |= {"published_rate": (r_low + r_high) / 2}
        row |= {"published_low": r_low, "published_high": r_high}
        row["met"] = r_low <= sim.rate <= r_high
    return row


def _relapse_row(
    target: Target, measure: Measure, interval: tuple[float, float] | None
) -> dict[str, object]:
    """The fields of a ``relapse_median`` row: the published median ± tolerance beside the
    simulated Kaplan–Meier median (not reached: not met)."""
    assert target.value is not None and target.tolerance is not None
    band = (target.value * (1 - target.tolerance), target.value * (1 + target.tolerance))
    median = measure.value
    shown = "not reached" if median is None else f"{median:.0f} days"
    row: dict[str, object] = {
        "published": f"{target.value:g} days ±{target.tolerance:.0%}",
        "published_rate": target.value,
        "published_low": band[0],
        "published_high": band[1],
        "simulated": f"{shown} (KM; {measure.relapses}/{measure.total} responders relapsed)",
        "simulated_rate": median,
    }
    if interval is not None:
        row |= {"simulated_low": interval[0], "simulated_high": interval[1]}
        row["interval"] = "95 % over posterior draws (median days)"
        return row | {"met": interval[0] <= band[1] and band[0] <= interval[1]}
    met = median is not None and band[0] <= median <= band[1]
    return row | {"interval": "", "met": met}


def calibration_report(
    typical: ModelParameters | None = None,
    n: int = 300,
    seed: int = REPORT_SEED,
    targets: Sequence[Target] | None = None,
    draws: Sequence[Mapping[str, float]] = (),
    on_draw: Callable[[], None] | None = None,
    placebo_n: int | None = None,
) -> pl.DataFrame:
    """Each published target beside its simulated value, with intervals, role and ``met``.

    The simulated value is the population of ``n`` (seed ``seed``, lab noise ``seed + 1``) at
    ``typical`` (default: the stored defaults). Its interval is the exact binomial one, or, when
    posterior ``draws`` (typical values of the fitted parameters) are given, the propagated one
    of :func:`propagated_interval`, each draw simulated on the same population. The targets of
    an untreated arm (:func:`is_untreated`) are read from their own population of ``placebo_n``
    patients (same seed; default ``max(n, PLACEBO_PATIENTS)``), built once: no draw of therapy
    parameters moves them.

    ``met``: a count is met when the published rate lies in the simulated interval or the
    simulated rate in the published exact interval; a range when the simulated rate lies in it
    (the range already spans the published trials; an overlap of intervals would let 0/120
    "meet" a 2–10 % placebo range); a drift when the mean PASI change (with draws: its whole
    interval) is within its limit; a direction when the interval of the share of responders
    moving that way lies above one half; a decline rate or a median time to relapse when it
    (with draws: its interval) lies in (overlaps) ``value·(1 ± tolerance)``. ``predictive_p``
    (counts) is the stricter check of :func:`predictive_p`. ``on_draw`` (optional) is called
    after each draw.
    """
    targets = list(targets) if targets is not None else load_targets()
    placebo_size = max(n, PLACEBO_PATIENTS) if placebo_n is None else placebo_n
    if placebo_size < 1:
        raise ValidationError("placebo_n", placebo_size, "1 or more patients")
    untreated = [t for t in targets if is_untreated(t.arm)]
    treated = [t for t in targets if not is_untreated(t.arm)]
    population = build_population(n, seed)
    start = population if typical is None else with_typical(population, typical)
    measures = measure_targets(start, treated, seed + 1)
    if untreated:
        placebo = start
        if placebo_size != n:
            placebo = build_population(placebo_size, seed)
            placebo = placebo if typical is None else with_typical(placebo, typical)
        measures |= measure_targets(placebo, untreated, seed + 1)
    intervals: dict[str, tuple[float, float]] = {}
    rates: dict[str, list[float]]
    if draws:
        per_draw: list[dict[str, Measure]] = []
        base = typical if typical is not None else ModelParameters()
        for values in draws:
            at = with_typical(population, replace(base, **dict(values)))
            fixed = {t.id: measures[t.id] for t in untreated}
            per_draw.append(measure_targets(at, treated, seed + 1) | fixed)
            if on_draw is not None:
                on_draw()
        rng = np.random.default_rng(seed)
        intervals = {t.id: propagated_interval([m[t.id] for m in per_draw], rng) for t in targets}
        rates = {t.id: [_rate(m[t.id]) for m in per_draw] for t in targets if t.kind == "count"}
    else:
        rates = {}
    rows = [_row(t, measures[t.id], intervals.get(t.id), rates.get(t.id, ())) for t in targets]
    schema: dict[str, Any] = {c: pl.String for c in REPORT_COLUMNS}
    schema |= {c: pl.Float64 for c in REPORT_COLUMNS if c.startswith(("published_", "simulated_"))}
    schema |= {"day": pl.Int64, "met": pl.Boolean, "predictive_p": pl.Float64}
    return pl.DataFrame(rows, schema=schema).select(REPORT_COLUMNS)


def _rate(measure: Measure) -> float:
    assert measure.count is not None and measure.total
    return measure.count / measure.total


def met_by_role(report: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """Targets met and targets, separately for ``fitted`` and ``held out`` ones."""
    return {
        role: (int(part["met"].sum()), part.height)
        for role in ROLES
        for part in [report.filter(pl.col("role") == role)]
    }
