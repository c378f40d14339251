"""Calibration of the virtual-patient model to published anchors: targets, report and refit.

The targets, with their sources and the psotrack assumptions about time points, are the package
data ``psotrack/data/calibration_targets.json``. :func:`calibration_report` simulates one virtual
population (common random numbers: every arm is given the same patients) and lays each published
figure, with its exact Clopper–Pearson interval, beside the simulated one with its interval.
:func:`fit_calibration` refits four assumed parameters — the typical cell-therapy ``paracrine_ec50``
and ``paracrine_half_life`` to the UC-MSC counts, ``blocker_ec50`` and ``blocker_emax`` to the
biologic range — by Nelder–Mead on a fixed population. Objective per group: squared standardised
distances (a count: ``(sim − pub)² / (pub(1 − pub)/n)``; a range: distance to its midpoint in
half-widths) plus a weak log-normal prior ``PRIOR_WEIGHT · Σ ln(θ/θ₀)²`` pulling towards the
earlier assumed values, because several parameter pairs give the same rates. Every number here is
about simulated patients; nothing here is a result about any therapy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from importlib import resources
from typing import Any, Final

import numpy as np
import polars as pl
from scipy import optimize

from psotrack.endpoints import derive_responders, derive_response_rates
from psotrack.model.parameters import FloatArray, ModelParameters
from psotrack.model.population import Population, build_population, simulate_arm
from psotrack.model.trial import assessment_table
from psotrack.stats.proportions import proportion_interval

#: Parameters refitted per target group, and the targets each group is fitted to.
FIT_GROUPS: Final = {
    "cell_therapy": (("paracrine_ec50", "paracrine_half_life"), ("ucmsc_pasi40", "ucmsc_pga01")),
    "blocker": (("blocker_ec50", "blocker_emax"), ("anti_il17_pasi75", "anti_il23_pasi75")),
}
PRIOR_WEIGHT: Final = 0.5
#: Assumed values before calibration (the prior's centre; see the parameters' docstring).
PRIOR: Final = {
    "paracrine_ec50": 6.0,
    "paracrine_half_life": 7.0,
    "blocker_ec50": 0.2,
    "blocker_emax": 0.95,
}
REPORT_SEED: Final = 2022
FIT_SEED: Final = 7
REPORT_COLUMNS: Final = (
    "target",
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
    "met",
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


def load_targets() -> list[Target]:
    """The calibration targets shipped in the package."""
    path = resources.files("psotrack").joinpath("data/calibration_targets.json")
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in fields(Target)}
    return [Target(**{k: v for k, v in row.items() if k in known}) for row in raw["targets"]]


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
            if not f.name.startswith(("paracrine_", "msc_", "blocker_")):
                raise ValueError(f"{f.name} changes the untreated model; rebuild the population")
            changes[f.name] = np.asarray(getattr(population.parameters, f.name)) * (
                new_value / old_value
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
    if endpoint.startswith("PASI"):
        table = assessment_table(frame.filter(pl.col("day").is_in([0.0, float(day)])))
        rates = derive_response_rates(table, threshold=int(endpoint[4:]), by=None)
        row = rates.filter(pl.col("day") == day)
        return int(row["responders"][0]), int(row["n"][0])
    if endpoint == "PGA01":
        at_day = frame.filter(pl.col("day") == float(day))
        return int(_pga01(at_day).sum()), at_day.height
    raise ValueError(f"unknown endpoint {endpoint!r}")


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
    return {arm: sorted(d) for arm, d in days.items()}


def simulate_targets(
    population: Population, targets: Sequence[Target], seed: int
) -> dict[str, pl.DataFrame]:
    """One simulated frame per target arm (the same patients in every arm)."""
    return {
        arm: simulate_arm(population, arm, days, seed)
        for arm, days in _days_by_arm(targets).items()
    }


def _row(target: Target, frame: pl.DataFrame) -> dict[str, object]:
    row: dict[str, object] = {
        "target": target.id,
        "kind": target.kind,
        "arm": target.arm,
        "endpoint": target.endpoint,
        "day": target.day,
        "source": target.source,
        "note": target.note,
    }
    if target.kind == "drift":
        at = frame.filter(pl.col("day").is_in([0.0, float(target.day)])).sort("patient_id", "day")
        pasi = at["pasi"].to_numpy().reshape(-1, 2)
        change = float(np.mean((pasi[:, 1] - pasi[:, 0]) / pasi[:, 0]) * 100)
        limit = float(target.high or 0)
        row |= {"published": f"within ±{limit:g} %", "simulated": f"{change:+.2f} %"}
        row["met"] = abs(change) <= limit
        return row
    if target.kind == "direction":
        return row | _direction(target, frame)
    responders, n = endpoint_count(frame, target.endpoint, target.day)
    sim = proportion_interval(responders, n)
    row |= {
        "simulated": f"{responders}/{n}",
        "simulated_rate": sim.rate,
        "simulated_low": sim.low,
        "simulated_high": sim.high,
    }
    if target.kind == "count":
        assert target.responders is not None and target.n is not None
        pub = proportion_interval(target.responders, target.n)
        row |= {"published": f"{target.responders}/{target.n}", "published_rate": pub.rate}
        row |= {"published_low": pub.low, "published_high": pub.high}
        row["met"] = (sim.low <= pub.rate <= sim.high) or (pub.low <= sim.rate <= pub.high)
    else:
        low, high = float(target.low or 0), float(target.high or 0)
        row |= {"published": f"{low:.0%}–{high:.0%} (range)", "published_rate": (low + high) / 2}
        row |= {"published_low": low, "published_high": high}
        row["met"] = low <= sim.rate <= high
    return row


def _direction(target: Target, frame: pl.DataFrame) -> dict[str, object]:
    assert target.responder_endpoint is not None and target.responder_day is not None
    ids = _responder_ids(frame, target.responder_endpoint, target.responder_day)
    lab = frame.filter(pl.col("patient_id").is_in(ids.implode()))
    at = lab.filter(pl.col("day").is_in([0.0, float(target.day)])).sort("patient_id", "day")
    values = at[target.endpoint].to_numpy().reshape(-1, 2)
    sign = 1.0 if target.direction == "up" else -1.0
    moved = int(np.sum(sign * (values[:, 1] - values[:, 0]) > 0))
    out: dict[str, object] = {"published": f"{target.direction} in responders (significant)"}
    if values.shape[0] == 0:
        return out | {"simulated": "no responders", "met": False}
    sim = proportion_interval(moved, values.shape[0])
    median = float(np.median(values[:, 1] / values[:, 0] - 1) * 100)
    out |= {
        "simulated": f"{moved}/{values.shape[0]} {target.direction}, median {median:+.1f} %",
        "simulated_rate": sim.rate,
        "simulated_low": sim.low,
        "simulated_high": sim.high,
        "met": sim.low > 0.5,
    }
    return out


def calibration_report(
    typical: ModelParameters | None = None,
    n: int = 300,
    seed: int = REPORT_SEED,
    targets: Sequence[Target] | None = None,
) -> pl.DataFrame:
    """Each published target beside its simulated value, with intervals and ``met``.

    ``met``: a count is met when the published rate lies in the simulated exact 95 % interval or
    the simulated rate in the published one; a range when the simulated rate lies in it (the
    range already spans the published trials; an overlap of intervals would let 0/120 "meet"
    a 2–10 % placebo range); a
    drift when the mean PASI change is within its limit; a direction when the exact interval of
    the share of responders moving that way lies above one half.
    """
    targets = list(targets) if targets is not None else load_targets()
    population = build_population(n, seed)
    if typical is not None:
        population = with_typical(population, typical)
    frames = simulate_targets(population, targets, seed + 1)
    rows = [_row(t, frames[t.arm]) for t in targets]
    schema: dict[str, Any] = {c: pl.String for c in REPORT_COLUMNS}
    schema |= {c: pl.Float64 for c in REPORT_COLUMNS if c.startswith(("published_", "simulated_"))}
    schema |= {"day": pl.Int64, "met": pl.Boolean}
    return pl.DataFrame(rows, schema=schema).select(REPORT_COLUMNS)


def _distance(target: Target, frame: pl.DataFrame) -> float:
    responders, n = endpoint_count(frame, target.endpoint, target.day)
    rate = responders / n
    if target.kind == "count":
        assert target.responders is not None and target.n is not None
        pub = target.responders / target.n
        return (rate - pub) ** 2 / (pub * (1 - pub) / target.n)
    low, high = float(target.low or 0), float(target.high or 0)
    return ((rate - (low + high) / 2) / ((high - low) / 2)) ** 2


def _decode(names: Sequence[str], x: np.ndarray) -> dict[str, float]:
    values = {}
    for name, v in zip(names, x.tolist(), strict=True):
        # Fractions (an Emax) are fitted on the logit scale, everything else on the log scale.
        values[name] = 1 / (1 + math.exp(-v)) if name.endswith("emax") else math.exp(v)
    return values


def _encode(name: str, value: float) -> float:
    return math.log(value / (1 - value)) if name.endswith("emax") else math.log(value)


@dataclass(frozen=True)
class CalibrationFit:
    """Fitted typical values, the objective per group, and the report at the fitted values."""

    values: Mapping[str, float]
    objective: Mapping[str, float]
    evaluations: int
    report: pl.DataFrame

    def parameters(self) -> ModelParameters:
        return replace(ModelParameters(), **self.values)


def fit_calibration(
    n: int = 300, seed: int = FIT_SEED, max_evaluations: int = 60
) -> CalibrationFit:
    """Refit the assumed therapy parameters to the targets (slow: about a minute at n = 300)."""
    targets = {t.id: t for t in load_targets()}
    population = build_population(n, seed)
    values: dict[str, float] = {}
    objective: dict[str, float] = {}
    evaluations = 0
    for names, target_ids in FIT_GROUPS.values():
        group = [targets[i] for i in target_ids]

        def loss(x: np.ndarray, names: Sequence[str] = names, group: list[Target] = group) -> float:
            trial = _decode(names, x)
            pop = with_typical(population, replace(ModelParameters(), **trial))
            frames = simulate_targets(pop, group, seed + 1)
            prior = sum((_encode(k, v) - _encode(k, PRIOR[k])) ** 2 for k, v in trial.items())
            return sum(_distance(t, frames[t.arm]) for t in group) + PRIOR_WEIGHT * prior

        start = np.array([_encode(k, float(getattr(ModelParameters(), k))) for k in names])
        simplex = np.vstack([start, start + np.diag(np.full(len(names), 0.7))])
        result = optimize.minimize(
            loss,
            start,
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "maxfev": max_evaluations, "xatol": 0.02},
        )
        values |= {k: float(f"{v:.3g}") for k, v in _decode(names, result.x).items()}
        objective["/".join(names)] = float(result.fun)
        evaluations += int(result.nfev)
    fitted = replace(ModelParameters(), **values)
    report = calibration_report(fitted, n=n, seed=REPORT_SEED)
    return CalibrationFit(values, objective, evaluations, report)
