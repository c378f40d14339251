"""Confidence intervals for a responder proportion and for the difference between two arms.

Intervals (all two-sided at ``level``):

- ``exact``: Clopper–Pearson, from beta quantiles (Clopper CJ, Pearson ES. Biometrika
  1934;26:404–413). Guaranteed coverage; psotrack's default, as in most psoriasis trials.
- ``wilson``: Wilson score interval (Wilson EB. J Am Stat Assoc 1927;22:209–212).
- ``jeffreys``: equal-tailed Jeffreys interval, beta(x + ½, n − x + ½) quantiles (Brown LD, Cai TT,
  DasGupta A. Stat Sci 2001;16:101–133). psotrack applies their boundary modification: the lower
  limit is 0 when x = 0 and the upper limit is 1 when x = n (the plain form, which statsmodels
  returns, would exclude the observed 0/n or n/n from its own interval). For 0 < x < n the two
  agree exactly.

Difference p₁ − p₂: ``newcombe`` is Newcombe's hybrid score interval built from the two Wilson
intervals (Newcombe RG. Stat Med 1998;17:873–890, method 10); ``wald`` is the simple normal
approximation, shown only for comparison with older reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats as _scipy_stats

from psotrack.errors import Problem, ValidationError

ProportionMethod = Literal["exact", "wilson", "jeffreys"]
DifferenceMethod = Literal["newcombe", "wald"]
PROPORTION_METHODS: tuple[str, ...] = ("exact", "wilson", "jeffreys")
DIFFERENCE_METHODS: tuple[str, ...] = ("newcombe", "wald")


@dataclass(frozen=True)
class ProportionInterval:
    """A responder proportion with its confidence interval (all as proportions 0–1)."""

    responders: int
    n: int
    rate: float
    low: float
    high: float
    method: str
    level: float

    def summary(self) -> str:
        """One line a person reads: ``8/17 = 0.471 (95 % CI 0.230–0.722, exact)``."""
        return (
            f"{self.responders}/{self.n} = {self.rate:.3f} "
            f"({self.level * 100:g} % CI {self.low:.3f}–{self.high:.3f}, {self.method})"
        )


@dataclass(frozen=True)
class DifferenceInterval:
    """The difference of two proportions (arm 1 − arm 2) with its confidence interval."""

    first: ProportionInterval
    second: ProportionInterval
    difference: float
    low: float
    high: float
    method: str
    level: float

    def summary(self) -> str:
        """One line: the two rates and their difference with its interval."""
        return (
            f"{self.first.responders}/{self.first.n} vs {self.second.responders}/"
            f"{self.second.n}: difference {self.difference:+.3f} "
            f"({self.level * 100:g} % CI {self.low:+.3f} to {self.high:+.3f}, {self.method})"
        )


def _count_problems(responders: object, n: object, prefix: str = "") -> list[Problem]:
    found: list[Problem] = []
    n_ok = isinstance(n, int) and not isinstance(n, bool)
    if not n_ok:
        found.append(Problem(f"{prefix}n", n, "a whole number of patients", kind="type"))
    elif n < 1:  # type: ignore[operator]
        found.append(
            Problem(f"{prefix}n", n, "1 or more (no interval without patients)", kind="invalid")
        )
    if isinstance(responders, bool) or not isinstance(responders, int):
        found.append(
            Problem(f"{prefix}responders", responders, "a whole number of patients", kind="type")
        )
    elif n_ok and not 0 <= responders <= n:  # type: ignore[operator]
        found.append(Problem(f"{prefix}responders", responders, f"0–{n} (the patients counted)"))
    return found


def _level_problems(level: object) -> list[Problem]:
    if isinstance(level, bool) or not isinstance(level, int | float):
        return [Problem("level", level, "a number between 0 and 1 (e.g. 0.95)", kind="type")]
    if not 0 < level < 1:
        return [Problem("level", level, "0–1, exclusive (e.g. 0.95)")]
    return []


def proportion_interval(
    responders: int, n: int, method: ProportionMethod = "exact", level: float = 0.95
) -> ProportionInterval:
    """Responder rate ``responders / n`` with its two-sided confidence interval.

    ``n == 0`` is refused (a rate without patients is not 0, it does not exist).

    >>> proportion_interval(8, 17).summary()
    '8/17 = 0.471 (95 % CI 0.230–0.722, exact)'
    """
    problems = _count_problems(responders, n) + _level_problems(level)
    if method not in PROPORTION_METHODS:
        problems.append(Problem("method", method, "exact, wilson or jeffreys", kind="invalid"))
    if problems:
        raise ValidationError(problems=problems)
    x, total = responders, n
    alpha = 1.0 - level
    if method == "exact":
        low = 0.0 if x == 0 else float(_scipy_stats.beta.ppf(alpha / 2, x, total - x + 1))
        high = 1.0 if x == total else float(_scipy_stats.beta.isf(alpha / 2, x + 1, total - x))
    elif method == "jeffreys":
        low = 0.0 if x == 0 else float(_scipy_stats.beta.ppf(alpha / 2, x + 0.5, total - x + 0.5))
        high = (
            1.0 if x == total else float(_scipy_stats.beta.isf(alpha / 2, x + 0.5, total - x + 0.5))
        )
    else:
        low, high = _wilson(x, total, alpha)
    return ProportionInterval(x, total, x / total, low, high, method, level)


def _wilson(x: int, n: int, alpha: float) -> tuple[float, float]:
    z = float(_scipy_stats.norm.isf(alpha / 2))
    z2 = z * z
    p = x / n
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At x = 0 (x = n) the lower (upper) limit is exactly 0 (1); rounding would leave 5e-17.
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def difference_interval(
    responders1: int,
    n1: int,
    responders2: int,
    n2: int,
    method: DifferenceMethod = "newcombe",
    level: float = 0.95,
) -> DifferenceInterval:
    """Difference of two responder rates (first − second) with its confidence interval.

    Newcombe's hybrid score interval (default) combines the two Wilson intervals
    (l₁, u₁), (l₂, u₂): low = d − √((p₁ − l₁)² + (u₂ − p₂)²), high = d + √((u₁ − p₁)² + (p₂ − l₂)²).

    >>> d = difference_interval(20, 30, 10, 30)
    >>> round(d.difference, 4), round(d.low, 4), round(d.high, 4)
    (0.3333, 0.0804, 0.5328)
    """
    problems = (
        _count_problems(responders1, n1, "first_")
        + _count_problems(responders2, n2, "second_")
        + _level_problems(level)
    )
    if method not in DIFFERENCE_METHODS:
        problems.append(Problem("method", method, "newcombe or wald", kind="invalid"))
    if problems:
        raise ValidationError(problems=problems)
    first = proportion_interval(responders1, n1, "wilson", level)
    second = proportion_interval(responders2, n2, "wilson", level)
    p1, p2 = first.rate, second.rate
    diff = p1 - p2
    if method == "newcombe":
        low = diff - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
        high = diff + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    else:
        z = float(_scipy_stats.norm.isf((1 - level) / 2))
        half = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        low, high = max(-1.0, diff - half), min(1.0, diff + half)
    return DifferenceInterval(first, second, diff, low, high, method, level)
