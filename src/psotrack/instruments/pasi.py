"""PASI, the Psoriasis Area and Severity Index (adult), computed exactly in tenths.

Source: Fredriksson T, Pettersson U. Severe psoriasis — oral therapy with a new retinoid.
Dermatologica 1978;157:238–244; reviewed in Langley RG, Ellis CN. J Am Acad Dermatol
2004;51:563–569.

PASI = Σ over the four regions of weight × (erythema + induration + desquamation) × area score,
with weights head 0.1, upper limbs 0.2, trunk 0.3, lower limbs 0.4. Every weight is a whole number
of tenths, so the total is an exact multiple of 0.1: we add integers (tenths) and never floats.
psotrack uses the adult weights at every age (there is no standard paediatric PASI weighting).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Protocol

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number, integer_problem, number_problem

REGIONS: Final = ("head", "upper_limbs", "trunk", "lower_limbs")
REGION_NAMES: Final = {
    "head": "head and neck",
    "upper_limbs": "upper limbs",
    "trunk": "trunk (with axillae and groin)",
    "lower_limbs": "lower limbs (with buttocks)",
}
#: Region weights in tenths (0.1, 0.2, 0.3, 0.4): the share of body surface of each region.
WEIGHT_TENTHS: Final = {"head": 1, "upper_limbs": 2, "trunk": 3, "lower_limbs": 4}
SIGNS: Final = ("erythema", "induration", "desquamation")
SIGN_MAX: Final = 4
AREA_MAX: Final = 6
PASI_MAX: Final = Decimal(72)

#: Lower edges (in %) of area scores 2..6; the bands are half-open: [10, 30) scores 2, and so on.
AREA_BAND_EDGES: Final = (10, 30, 50, 70, 90)


def area_score(percent: Number, field: str = "area_pct") -> int:
    """Convert the affected share of a region (0–100 %) into the PASI area score 0–6.

    Bands (Fredriksson 1978): 0 none; 1 under 10 %; 2 10 to under 30 %; 3 30 to under 50 %;
    4 50 to under 70 %; 5 70 to under 90 %; 6 90–100 %. psotrack reads them as half-open
    intervals, so 10 % scores 2 and 29.9 % scores 2.

    >>> [area_score(p) for p in (0, 0.5, 9.9, 10, 29.9, 30, 90, 100)]
    [0, 1, 1, 2, 2, 3, 6, 6]
    """
    problem = number_problem(field, percent, 0, 100, "a percentage of the region")
    if problem is not None:
        raise ValidationError(problems=[problem])
    if percent == 0:
        return 0
    return 1 + bisect_right(AREA_BAND_EDGES, percent)


class _SignsAndArea(Protocol):
    @property
    def erythema(self) -> object: ...
    @property
    def induration(self) -> object: ...
    @property
    def desquamation(self) -> object: ...
    @property
    def area(self) -> object: ...


def sign_and_area_problems(prefix: str, scores: _SignsAndArea) -> list[Problem]:
    """Check the three sign grades (0–4) and the area score (0–6) of a PASI-style region.

    ``scores`` has ``erythema``, ``induration``, ``desquamation`` and ``area`` attributes;
    fields are named ``{prefix}_{sign}`` and ``{prefix}_area`` (PASI regions and the PSSI scalp).
    """
    found = [
        integer_problem(
            f"{prefix}_{sign}", getattr(scores, sign), 0, SIGN_MAX, f"a grade of {sign}"
        )
        for sign in SIGNS
    ]
    found.append(integer_problem(f"{prefix}_area", scores.area, 0, AREA_MAX, "an area score"))
    return [p for p in found if p is not None]


@dataclass(frozen=True)
class RegionScore:
    """The four PASI items of one body region as the clinician graded them."""

    erythema: int
    induration: int
    desquamation: int
    area: int

    @classmethod
    def from_percent(
        cls, erythema: int, induration: int, desquamation: int, area_pct: Number
    ) -> RegionScore:
        """Build a region score with the area given as a percentage (converted by the bands)."""
        return cls(erythema, induration, desquamation, area_score(area_pct))

    def problems(self, region: str) -> list[Problem]:
        return sign_and_area_problems(region, self)


@dataclass(frozen=True)
class PasiInput:
    """A complete adult PASI: one :class:`RegionScore` per body region."""

    head: RegionScore
    upper_limbs: RegionScore
    trunk: RegionScore
    lower_limbs: RegionScore

    def problems(self) -> list[Problem]:
        found: list[Problem] = []
        for region in REGIONS:
            part = getattr(self, region)
            if not isinstance(part, RegionScore):
                found.append(Problem(region, part, "a RegionScore", kind="type"))
            else:
                found.extend(part.problems(region))
        return found


@dataclass(frozen=True)
class RegionContribution:
    """What one region adds to the total: weight × (E + I + D) × area."""

    region: str
    weight: Decimal
    severity_sum: int
    area: int
    tenths: int

    @property
    def value(self) -> Decimal:
        """The contribution in PASI points, exact, with one decimal (``Decimal('3.0')``)."""
        return tenths_to_decimal(self.tenths)


@dataclass(frozen=True)
class PasiResult:
    """A scored PASI: the exact total (0–72, one decimal) and each region's contribution."""

    tenths: int
    regions: tuple[RegionContribution, ...]

    @property
    def total(self) -> Decimal:
        """The PASI total as an exact one-decimal ``Decimal`` (e.g. ``Decimal('12.3')``)."""
        return tenths_to_decimal(self.tenths)

    def __str__(self) -> str:
        return f"{self.total}"

    def summary(self) -> list[dict[str, object]]:
        """One row per region plus the total, ready for a table."""
        rows: list[dict[str, object]] = [
            {
                "region": r.region,
                "weight": str(r.weight),
                "e_i_d": r.severity_sum,
                "area": r.area,
                "contribution": str(r.value),
            }
            for r in self.regions
        ]
        rows.append(
            {
                "region": "total",
                "weight": "",
                "e_i_d": "",
                "area": "",
                "contribution": str(self.total),
            }
        )
        return rows


def tenths_to_decimal(tenths: int) -> Decimal:
    """An exact one-decimal value from a whole number of tenths: 123 → ``Decimal('12.3')``."""
    return Decimal(tenths).scaleb(-1)


def region_tenths(region: str, score: RegionScore) -> int:
    """A region's contribution in tenths of a PASI point (an exact integer)."""
    severity = score.erythema + score.induration + score.desquamation
    return WEIGHT_TENTHS[region] * severity * score.area


#: Each region's weight as an exact decimal (0.1, 0.2, 0.3, 0.4), made once.
_WEIGHTS: Final = {region: Decimal(tenths) / 10 for region, tenths in WEIGHT_TENTHS.items()}


def pasi(scores: PasiInput) -> PasiResult:
    """Score an adult PASI exactly.

    Raises :class:`~psotrack.errors.ValidationError` listing every item outside its range or of
    the wrong type (a bool or a string is never read as a grade).

    >>> r = RegionScore(2, 2, 1, 2)
    >>> pasi(PasiInput(head=r, upper_limbs=r, trunk=r, lower_limbs=r)).total
    Decimal('10.0')
    """
    problems = (
        scores.problems()
        if isinstance(scores, PasiInput)
        else [Problem("pasi", scores, "a PasiInput", kind="type")]
    )
    if problems:
        raise ValidationError(problems=problems)
    parts = tuple(
        RegionContribution(
            region=region,
            weight=_WEIGHTS[region],
            severity_sum=sum(getattr(getattr(scores, region), s) for s in SIGNS),
            area=getattr(scores, region).area,
            tenths=region_tenths(region, getattr(scores, region)),
        )
        for region in REGIONS
    )
    return PasiResult(tenths=sum(p.tenths for p in parts), regions=parts)
