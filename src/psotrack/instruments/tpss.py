"""TPSS, the target plaque severity score: one named plaque's erythema, induration, scaling, 0–12.

Source: target-plaque scoring as used in trials of locally treated plaques (definition summarised
in psotrack's reference ``shared/reference/instruments.md``): erythema, induration and scaling of
one chosen plaque, each 0–4, summed to 0–12; the plaque's size (longest diameter in mm or area in
cm²) is recorded beside it, and the plaque's site is named so that the same plaque is scored at
every visit.

psotrack: the site is a non-empty free-text name (e.g. "left elbow, extensor"), compared exactly
between visits; sizes are optional, checked against generous physical limits (diameter 0–2000 mm,
area 0–25 000 cm²) and kept exactly as typed (``Decimal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number, exact, integer_problem, number_problem

TPSS_SIGNS: Final = ("erythema", "induration", "scaling")
TPSS_MAX: Final = 12
DIAMETER_MAX_MM: Final = 2000
AREA_MAX_CM2: Final = 25000


@dataclass(frozen=True)
class TpssInput:
    """One target plaque: its site, three signs 0–4, and optionally its size."""

    site: str
    erythema: int
    induration: int
    scaling: int
    diameter_mm: Number | None = None
    area_cm2: Number | None = None

    def problems(self) -> list[Problem]:
        found: list[Problem | None] = []
        if not isinstance(self.site, str) or not self.site.strip():
            found.append(
                Problem("site", self.site, "a non-empty name of the plaque's site", kind="type")
            )
        found.extend(
            integer_problem(sign, getattr(self, sign), 0, 4, f"a grade of {sign}")
            for sign in TPSS_SIGNS
        )
        if self.diameter_mm is not None:
            found.append(
                number_problem(
                    "diameter_mm", self.diameter_mm, 0, DIAMETER_MAX_MM, "longest diameter in mm"
                )
            )
        if self.area_cm2 is not None:
            found.append(
                number_problem("area_cm2", self.area_cm2, 0, AREA_MAX_CM2, "plaque area in cm²")
            )
        return [p for p in found if p is not None]


@dataclass(frozen=True)
class TpssResult:
    """A scored target plaque: total 0–12, its parts, its site and size."""

    site: str
    erythema: int
    induration: int
    scaling: int
    diameter_mm: Decimal | None = None
    area_cm2: Decimal | None = None

    @property
    def total(self) -> int:
        return self.erythema + self.induration + self.scaling

    def __str__(self) -> str:
        return f"{self.total} ({self.site})"

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "site": self.site,
                "erythema": self.erythema,
                "induration": self.induration,
                "scaling": self.scaling,
                "tpss": self.total,
                "diameter_mm": "" if self.diameter_mm is None else str(self.diameter_mm),
                "area_cm2": "" if self.area_cm2 is None else str(self.area_cm2),
            }
        ]


def tpss(plaque: TpssInput) -> TpssResult:
    """Score one target plaque; every problem is listed in one error.

    >>> tpss(TpssInput("left elbow", 3, 2, 2, diameter_mm=35)).total
    7
    """
    if not isinstance(plaque, TpssInput):
        raise ValidationError("tpss", plaque, "a TpssInput", kind="type")
    problems = plaque.problems()
    if problems:
        raise ValidationError(problems=problems)
    return TpssResult(
        plaque.site.strip(),
        plaque.erythema,
        plaque.induration,
        plaque.scaling,
        None if plaque.diameter_mm is None else exact(plaque.diameter_mm),
        None if plaque.area_cm2 is None else exact(plaque.area_cm2),
    )
