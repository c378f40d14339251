"""Itch NRS, the peak pruritus numeric rating scale: worst itch in the last 24 hours, 0–10.

Source: the Worst Itch / peak pruritus NRS as validated in moderate-to-severe plaque psoriasis
(Naegeli AN et al., 2015); a reduction of 4 points is commonly taken as meaningful. Definition as
summarised in psotrack's reference ``shared/reference/instruments.md``.

psotrack: a "meaningful" change is a reduction of at least 4 points; the result also says whether
the baseline was at least 4, since a smaller baseline cannot fall by 4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from psotrack.errors import ValidationError
from psotrack.instruments._checks import integer_problem

ITCH_MAX: Final = 10
#: A reduction of at least 4 points is taken as meaningful.
ITCH_MEANINGFUL_CHANGE: Final = 4


@dataclass(frozen=True)
class ItchResult:
    """One peak pruritus NRS rating (0 no itch … 10 worst imaginable itch)."""

    score: int

    def __str__(self) -> str:
        return f"{self.score}/10"


def itch_nrs(score: int) -> ItchResult:
    """Record a peak pruritus NRS rating: an integer 0–10 (not 3.5, not True, not "3").

    >>> itch_nrs(7).score
    7
    """
    problem = integer_problem("itch_nrs", score, 0, ITCH_MAX, "worst itch in the last 24 h")
    if problem is not None:
        raise ValidationError(problems=[problem])
    return ItchResult(score)


@dataclass(frozen=True)
class ItchChange:
    """Itch NRS change from baseline; ``reduction`` = baseline − follow-up (positive: better)."""

    baseline: int
    follow_up: int

    @property
    def reduction(self) -> int:
        return self.baseline - self.follow_up

    @property
    def meaningful_reduction(self) -> bool:
        """A reduction of at least 4 points."""
        return self.reduction >= ITCH_MEANINGFUL_CHANGE

    @property
    def baseline_allows_response(self) -> bool:
        """True when the baseline is at least 4, so that a 4-point reduction is possible."""
        return self.baseline >= ITCH_MEANINGFUL_CHANGE

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "baseline": self.baseline,
                "follow_up": self.follow_up,
                "reduction": self.reduction,
                "meaningful_reduction": self.meaningful_reduction,
                "baseline_allows_response": self.baseline_allows_response,
            }
        ]


def itch_change(baseline: int, follow_up: int) -> ItchChange:
    """Compare two itch NRS ratings against the 4-point meaningful change.

    >>> itch_change(8, 4).meaningful_reduction, itch_change(8, 5).meaningful_reduction
    (True, False)
    """
    problems = [
        integer_problem(field, value, 0, ITCH_MAX, "an itch NRS rating")
        for field, value in (("baseline_itch_nrs", baseline), ("follow_up_itch_nrs", follow_up))
    ]
    found = [p for p in problems if p is not None]
    if found:
        raise ValidationError(problems=found)
    return ItchChange(baseline, follow_up)
