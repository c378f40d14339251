"""Posterior of the fitted therapy parameters: a likelihood over the published counts, by emcee.

For each group of :data:`~psotrack.model.calibration.FIT_GROUPS` (parameters and the targets
fitted with them) the posterior is sampled by emcee's affine-invariant ensemble sampler
(Foreman-Mackey D, et al. PASP 2013;125:306) on a fixed virtual population (common random
numbers, :func:`~psotrack.model.calibration.with_typical`), on the fitting scale: log for rates
and EC50s, logit for an Emax. The groups share no target and no parameter, so the joint
posterior is the product of the groups' posteriors and draw ``i`` of every group together is
a joint draw.

* **Likelihood** (the simulated rate ``p(θ)`` of a population of ``n`` read as the true rate):
  a count target ``k/N`` is ``Binomial(k; N, p)``, with ``p`` kept within
  ``[1/(2n), 1 − 1/(2n)]`` so that a population with no responder does not rule a value out
  outright; a range target ``[low, high]`` is psotrack's pseudo-likelihood: the range read as
  mean ± 2 SD of a normal on the rate (:data:`RANGE_SDS`).
* **Priors** (psotrack's assumptions): log-normal around the assumed value of
  :data:`~psotrack.model.calibration.PRIOR` with SD :data:`PRIOR_SD_LOG` on the log scale (a
  factor 2 per SD); logit-normal, SD :data:`PRIOR_SD_LOGIT`, for an Emax.
* **Sampler**: ``walkers`` walkers start near the stored defaults (spread 0.05 on the fitting
  scale), run ``steps`` steps, the first ``burn`` discarded; seeded. Short chains keep the
  command to minutes; their acceptance is reported, and they are a rough posterior.

Every number here is about simulated patients; nothing here is a result about any therapy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import emcee
import numpy as np
import polars as pl
from scipy import stats

from psotrack.errors import Problem, ValidationError
from psotrack.model.calibration import (
    FIT_GROUPS,
    PRIOR,
    REPORT_SEED,
    Measure,
    Target,
    calibration_report,
    load_targets,
    measure_targets,
    with_typical,
)
from psotrack.model.parameters import FloatArray, ModelParameters
from psotrack.model.population import build_population

PRIOR_SD_LOG: Final = math.log(2.0)
PRIOR_SD_LOGIT: Final = 1.0
RANGE_SDS: Final = 2.0
FIT_SEED: Final = 7
DEFAULT_WALKERS: Final = 8
DEFAULT_STEPS: Final = 25
DEFAULT_BURN: Final = 10
#: Posterior draws simulated for the report's propagated intervals.
DEFAULT_DRAWS: Final = 40
_START_SPREAD: Final = 0.05


def to_fit_scale(name: str, value: float) -> float:
    """A parameter on its fitting scale: logit for an Emax (a fraction), else log."""
    return math.log(value / (1 - value)) if name.endswith("emax") else math.log(value)


def from_fit_scale(name: str, z: float) -> float:
    """Inverse of :func:`to_fit_scale`."""
    return 1 / (1 + math.exp(-z)) if name.endswith("emax") else math.exp(z)


def log_prior(names: Sequence[str], z: Sequence[float]) -> float:
    """Log prior density on the fitting scale (normal around the assumed value's image)."""
    total = 0.0
    for name, value in zip(names, z, strict=True):
        sd = PRIOR_SD_LOGIT if name.endswith("emax") else PRIOR_SD_LOG
        total += float(stats.norm.logpdf(value, to_fit_scale(name, PRIOR[name]), sd))
    return total


def log_likelihood(targets: Sequence[Target], measures: Mapping[str, Measure]) -> float:
    """Log likelihood of the published figures given the simulated measures (module notes)."""
    total = 0.0
    for t in targets:
        m = measures[t.id]
        assert m.count is not None and m.total
        rate = m.count / m.total
        if t.kind == "count":
            assert t.responders is not None and t.n is not None
            edge = 1 / (2 * m.total)
            p = min(max(rate, edge), 1 - edge)
            total += float(stats.binom.logpmf(t.responders, t.n, p))
        else:
            low, high = float(t.low or 0), float(t.high or 0)
            sd = (high - low) / (2 * RANGE_SDS)
            total += float(stats.norm.logpdf(rate, (low + high) / 2, sd))
    return total


def _group_targets(
    groups: Mapping[str, tuple[Sequence[str], Sequence[str]]], targets: Sequence[Target]
) -> dict[str, list[Target]]:
    by_id = {t.id: t for t in targets}
    problems: list[Problem] = []
    found: dict[str, list[Target]] = {}
    for group, (names, ids) in groups.items():
        for name in names:
            if name not in PRIOR or not hasattr(ModelParameters(), name):
                problems.append(Problem(name, group, "a model parameter with a PRIOR", "invalid"))
        for i in ids:
            t = by_id.get(i)
            if t is None or t.kind not in ("count", "range") or t.role != "fitted":
                problems.append(Problem(i, group, "a fitted count or range target", "invalid"))
        found[group] = [by_id[i] for i in ids if i in by_id]
    if problems:
        raise ValidationError(problems=problems)
    return found


def check_sampler(walkers: int, steps: int, burn: int, draws: int = 1) -> None:
    """Refuse sampler settings emcee cannot run or that leave no draw (all problems at once)."""
    dims = max(len(names) for names, _ in FIT_GROUPS.values())
    problems = []
    if walkers < max(4, 2 * dims) or walkers % 2:
        problems.append(Problem("walkers", walkers, f"an even number ≥ {max(4, 2 * dims)}"))
    if not 1 <= steps <= 10_000:
        problems.append(Problem("steps", steps, "1–10000"))
    if not 0 <= burn < steps:
        problems.append(Problem("burn", burn, f"0–{max(steps - 1, 0)} (fewer than the steps)"))
    if not 1 <= draws <= 1000:
        problems.append(Problem("draws", draws, "1–1000"))
    if problems:
        raise ValidationError(problems=problems)


@dataclass(frozen=True)
class Posterior:
    """Posterior draws of the fitted parameters (natural scale, one column per name)."""

    names: tuple[str, ...]
    draws: FloatArray
    acceptance: Mapping[str, float]
    evaluations: int
    n: int
    seed: int
    walkers: int
    steps: int
    burn: int

    def summary(self) -> pl.DataFrame:
        """Per parameter: prior centre, posterior median and 95 % credible interval."""
        low, median, high = np.quantile(self.draws, [0.025, 0.5, 0.975], axis=0)
        group = {n: g for g, (names, _) in FIT_GROUPS.items() for n in names}
        return pl.DataFrame(
            {
                "parameter": list(self.names),
                "group": [group.get(n, "") for n in self.names],
                "prior_centre": [float(PRIOR[n]) for n in self.names],
                "median": median.tolist(),
                "low": low.tolist(),
                "high": high.tolist(),
                "acceptance": [self.acceptance.get(group.get(n, ""), math.nan) for n in self.names],
            }
        )

    def typical(self) -> ModelParameters:
        """The stored defaults with each fitted parameter at its posterior median."""
        median = np.median(self.draws, axis=0)
        return replace(ModelParameters(), **dict(zip(self.names, median.tolist(), strict=True)))

    def plot(self, path: Path, grid: pl.DataFrame, target: str | None = None) -> None:
        """The profile grid (:func:`~psotrack.model.identifiability.profile_grid`), its ridge
        and these draws, as SVG or PNG (``target``: the grid's first target by default)."""
        from psotrack.model.identifiability import plot_ridge

        first_target = next(c for c in grid.columns[2:] if not c.startswith("responders"))
        plot_ridge(grid, path, target or first_target, self)

    def thinned(self, count: int) -> list[dict[str, float]]:
        """``count`` draws evenly spaced through the pooled chains, as parameter values."""
        rows = np.linspace(0, self.draws.shape[0] - 1, min(count, self.draws.shape[0]))
        return [
            dict(zip(self.names, self.draws[int(i)].tolist(), strict=True)) for i in np.round(rows)
        ]


def sample_posterior(
    n: int = 300,
    seed: int = FIT_SEED,
    walkers: int = DEFAULT_WALKERS,
    steps: int = DEFAULT_STEPS,
    burn: int = DEFAULT_BURN,
    on_evaluation: Callable[[], None] | None = None,
    groups: Mapping[str, tuple[Sequence[str], Sequence[str]]] = FIT_GROUPS,
) -> Posterior:
    """Sample the posterior of every group of ``groups`` (default FIT_GROUPS; ``walkers ·
    (steps + 1)`` model evaluations per group, each one simulation of the group's arms for
    ``n`` patients)."""
    check_sampler(walkers, steps, burn)
    group_targets = _group_targets(groups, load_targets())
    population = build_population(n, seed)
    names: list[str] = []
    columns: list[FloatArray] = []
    acceptance: dict[str, float] = {}
    evaluations = 0
    for group, (group_names, _) in groups.items():
        targets = group_targets[group]

        def log_prob(
            z: FloatArray, names: Sequence[str] = group_names, targets: list[Target] = targets
        ) -> float:
            nonlocal evaluations
            prior = log_prior(names, z.tolist())
            values = {k: from_fit_scale(k, v) for k, v in zip(names, z.tolist(), strict=True)}
            if not math.isfinite(prior) or not all(math.isfinite(v) for v in values.values()):
                return -math.inf
            at = with_typical(population, replace(ModelParameters(), **values))
            measures = measure_targets(at, targets, seed + 1)
            evaluations += 1
            if on_evaluation is not None:
                on_evaluation()
            return prior + log_likelihood(targets, measures)

        rng = np.random.default_rng([seed, len(names)])
        start = [to_fit_scale(k, float(getattr(ModelParameters(), k))) for k in group_names]
        p0 = np.asarray(start) + _START_SPREAD * rng.standard_normal((walkers, len(start)))
        sampler = emcee.EnsembleSampler(walkers, len(start), log_prob)
        state = emcee.State(p0, random_state=np.random.RandomState(seed).get_state())
        sampler.run_mcmc(state, steps)
        chain = np.asarray(sampler.get_chain(discard=burn, flat=True), dtype=np.float64)
        for j, name in enumerate(group_names):
            names.append(name)
            columns.append(np.array([from_fit_scale(name, v) for v in chain[:, j]]))
        acceptance[group] = float(np.mean(sampler.acceptance_fraction))
    return Posterior(
        names=tuple(names),
        draws=np.stack(columns, axis=1),
        acceptance=acceptance,
        evaluations=evaluations,
        n=n,
        seed=seed,
        walkers=walkers,
        steps=steps,
        burn=burn,
    )


def posterior_report(
    posterior: Posterior,
    n: int = 300,
    seed: int = REPORT_SEED,
    draws: int = DEFAULT_DRAWS,
    on_draw: Callable[[], None] | None = None,
    placebo_n: int | None = None,
) -> pl.DataFrame:
    """The calibration report at the posterior medians, every interval propagated through
    ``draws`` posterior draws (:func:`~psotrack.model.calibration.propagated_interval`);
    ``placebo_n`` as in :func:`~psotrack.model.calibration.calibration_report`."""
    check_sampler(posterior.walkers, posterior.steps, posterior.burn, draws)
    return calibration_report(
        posterior.typical(),
        n=n,
        seed=seed,
        draws=posterior.thinned(draws),
        on_draw=on_draw,
        placebo_n=placebo_n,
    )
