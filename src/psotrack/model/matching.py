"""Virtual populations matched to a real baseline PASI distribution by acceptance–rejection.

Method (Allen RJ, Rieger TR, Musante CJ. CPT Pharmacometrics Syst Pharmacol 2016;5:140–146):
a *plausible* population (here :func:`psotrack.model.population.build_population`, whose
inclusion rule only asks for a settled plaque and ``baseline PASI ≥ min_pasi``) is drawn first;
each plausible patient is then kept with probability

``p(x) = sf · ρ_observed(x) / ρ_plausible(x)``

where ``x`` is its baseline PASI, ``ρ_observed`` the density of the real baselines and
``ρ_plausible`` that of the plausible population, so the kept patients' baselines follow the
observed distribution with no weights. psotrack's choices: both densities are Gaussian kernel
density estimates (``scipy.stats.gaussian_kde``, Scott's bandwidth; Allen 2016 used a kernel
estimate for the plausible population and a multivariate normal for the data); ``p = 0``
outside the observed range (the real study's inclusion rule is not extended); ``sf`` is
``1 / max p`` over the plausible patients in range, the largest that keeps every ``p ≤ 1``
(Allen 2016 tune ``sf`` for goodness of fit against the number of patients kept; at the largest
``sf`` the selection is exact in distribution and keeps the most patients that an exact
selection can). The plausible density is estimated once, from the first round of candidates (at most
:data:`DENSITY_POINTS` of them).

The real distribution shipped with psotrack (:func:`reference_baseline_pasi`) is the baseline
PASI of the 900 synthetic patients of the PSI "Wonderful Wednesdays" sustained-response data set
(2021-04-14, CC0 1.0; ``data/www_sustained_response_baseline_pasi.json``). Every virtual patient
is **simulated**; matching the baseline says nothing about how any therapy acts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from importlib import resources
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from psotrack.errors import Problem, ValidationError
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import Population, build_population

FloatArray = npt.NDArray[np.float64]

REFERENCE_FILE: Final = "data/www_sustained_response_baseline_pasi.json"
QUANTILES: Final = (10, 25, 50, 75, 90)
#: Plausible patients drawn at least in the first round, whose density ``ρ_plausible`` is
#: estimated from (at most) its first :data:`DENSITY_POINTS` (the kernel estimate costs their
#: number times the points evaluated).
PILOT_MIN: Final = 2000
DENSITY_POINTS: Final = 4000
MAX_ROUNDS: Final = 20


def reference_baseline_pasi() -> FloatArray:
    """The 900 baseline PASI values of the PSI 2021-04-14 synthetic data set (CC0), file order."""
    text = resources.files("psotrack").joinpath(REFERENCE_FILE).read_text(encoding="utf-8")
    return np.asarray(json.loads(text)["baseline_pasi"], dtype=np.float64)


def subset(population: Population, index: npt.ArrayLike) -> Population:
    """The patients of ``population`` at ``index`` (an integer index or a boolean mask)."""
    n = len(population)
    where = np.arange(n)[np.asarray(index)]
    changed: dict[str, Any] = {}
    for field in fields(population):
        value = getattr(population, field.name)
        if isinstance(value, ModelParameters):
            changed[field.name] = value.take(where)
        elif isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n:
            changed[field.name] = value[where]
    return replace(population, **changed)


def combine(parts: Sequence[Population]) -> Population:
    """One population of the patients of ``parts``, in order (the first part's seed)."""
    first = parts[0]
    changed: dict[str, Any] = {}
    for field in fields(first):
        value = getattr(first, field.name)
        if isinstance(value, ModelParameters):
            changed[field.name] = ModelParameters.concat([getattr(p, field.name) for p in parts])
        elif isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == len(first):
            changed[field.name] = np.concatenate([getattr(p, field.name) for p in parts])
    return replace(first, **changed)


@dataclass(frozen=True)
class AcceptanceRule:
    """``p(x) = sf · ρ_observed(x)/ρ_plausible(x)`` inside the observed range, 0 outside."""

    observed: FloatArray
    plausible_kde: stats.gaussian_kde
    observed_kde: stats.gaussian_kde
    scale: float

    def probability(self, pasi: FloatArray) -> FloatArray:
        """Probability of keeping a plausible patient of baseline PASI ``pasi``."""
        x = np.asarray(pasi, dtype=np.float64)
        inside = (x >= self.observed.min()) & (x <= self.observed.max())
        ratio = self.observed_kde(x) / np.maximum(self.plausible_kde(x), 1e-300)
        return np.asarray(np.where(inside, np.minimum(self.scale * ratio, 1.0), 0.0))


def acceptance_rule(observed: FloatArray, plausible_pasi: FloatArray) -> AcceptanceRule:
    """Allen 2016's rule for these observed and plausible baselines (module notes)."""
    observed_kde = stats.gaussian_kde(observed)
    plausible_kde = stats.gaussian_kde(plausible_pasi[:DENSITY_POINTS])
    inside = plausible_pasi[(plausible_pasi >= observed.min()) & (plausible_pasi <= observed.max())]
    ratio = observed_kde(inside) / np.maximum(plausible_kde(inside), 1e-300)
    return AcceptanceRule(observed, plausible_kde, observed_kde, float(1.0 / ratio.max()))


def _check_observed(observed: npt.ArrayLike) -> FloatArray:
    values = np.asarray(observed, dtype=np.float64).ravel()
    problems = []
    if values.size < 10:
        problems.append(Problem("observed", values.size, "10 or more baseline PASI values"))
    elif not np.all(np.isfinite(values) & (values >= 0) & (values <= 72)):
        problems.append(Problem("observed", "values", "baseline PASI values from 0 to 72"))
    elif np.ptp(values) == 0:
        problems.append(Problem("observed", float(values[0]), "values that are not all equal"))
    if problems:
        raise ValidationError(problems=problems)
    return values


def _quantiles(values: FloatArray) -> list[float]:
    return [float(q) for q in np.percentile(values, QUANTILES)]


@dataclass(frozen=True)
class BaselineMatch:
    """A virtual population selected to match an observed baseline PASI distribution (simulated).

    ``plausible_pasi`` are the baselines of every plausible patient drawn (before matching);
    ``population`` the ``n`` kept (after). ``ks_before``/``ks_after`` are two-sample
    Kolmogorov–Smirnov distances to the observed values, with their p-values.
    """

    population: Population
    observed: FloatArray
    plausible_pasi: FloatArray
    accepted: int
    scale: float
    seed: int

    @property
    def acceptance_rate(self) -> float:
        """Share of plausible patients kept (before the first ``n`` were taken)."""
        return self.accepted / self.plausible_pasi.size

    def ks(self, values: FloatArray) -> tuple[float, float]:
        """Two-sample Kolmogorov–Smirnov distance and p-value of ``values`` to the observed."""
        result = stats.ks_2samp(values, self.observed)
        return float(result.statistic), float(result.pvalue)

    @property
    def ks_before(self) -> tuple[float, float]:
        return self.ks(self.plausible_pasi)

    @property
    def ks_after(self) -> tuple[float, float]:
        return self.ks(self.population.baseline_pasi)

    def summary(self) -> pl.DataFrame:
        """Quantiles (10–90 %) and KS distance of the observed, plausible and matched baselines."""
        rows = [
            ("observed", self.observed, (0.0, 1.0)),
            ("plausible (before matching)", self.plausible_pasi, self.ks_before),
            ("matched (after)", self.population.baseline_pasi, self.ks_after),
        ]
        return pl.DataFrame(
            [
                {
                    "baseline_pasi": name,
                    "n": int(values.size),
                    **{f"p{q}": v for q, v in zip(QUANTILES, _quantiles(values), strict=True)},
                    "ks_distance": ks[0],
                    "ks_p": ks[1],
                    "simulated": name != "observed",
                }
                for name, values, ks in rows
            ]
        )


def matched_population(
    n: int,
    seed: int,
    observed: npt.ArrayLike | None = None,
    min_pasi: float = 0.0,
    typical: ModelParameters | None = None,
) -> BaselineMatch:
    """``n`` virtual patients whose baseline PASI follows ``observed`` (default: the shipped
    PSI 2021 baselines), by acceptance–rejection from plausible populations (module notes).

    Plausible patients are drawn in rounds from ``SeedSequence(seed)``; the first round holds at
    least :data:`PILOT_MIN` and sets the plausible density. Same arguments, same population.
    """
    values = _check_observed(reference_baseline_pasi() if observed is None else observed)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValidationError("n", n, "1 or more patients")
    seeds = np.random.SeedSequence(seed).spawn(MAX_ROUNDS + 1)
    pick = np.random.default_rng(seeds[0])
    drawn: list[Population] = []
    kept: list[Population] = []
    rule: AcceptanceRule | None = None
    found = accepted = 0
    rate = 1.0
    for round_seed in seeds[1:]:
        size = max(PILOT_MIN, 3 * n) if rule is None else int(1.5 * (n - found) / rate) + 16
        candidates = build_population(size, int(round_seed.generate_state(1)[0]), min_pasi, typical)
        drawn.append(candidates)
        if rule is None:
            rule = acceptance_rule(values, candidates.baseline_pasi)
        keep = pick.random(size) < rule.probability(candidates.baseline_pasi)
        accepted += int(keep.sum())
        kept.append(subset(candidates, keep))
        found += int(keep.sum())
        rate = max(accepted / sum(len(d) for d in drawn), 1e-3)
        if found >= n:
            break
    else:
        raise ValidationError(
            "observed",
            "baseline PASI",
            f"a distribution met by {n} patients in {MAX_ROUNDS} rounds",
        )
    population = subset(combine(kept), np.arange(n))
    plausible = np.concatenate([d.baseline_pasi for d in drawn])
    return BaselineMatch(
        replace(population, seed=seed), values, plausible, accepted, rule.scale, seed
    )
