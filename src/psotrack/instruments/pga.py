"""PGA, the static Physician Global Assessment (5-point 0–4 or 6-point 0–5), PGA 0/1 and PGA×BSA.

Sources: static PGA as reviewed in Langley RG, Ellis CN. J Am Acad Dermatol 2004;51:563–569
(grades 0 clear, 1 almost clear, 2 mild, 3 moderate, 4 severe; the 6-point variant adds 5);
"PGA 0/1" success, often with ≥ 2 grades of improvement from baseline, as in FDA guidance for
psoriasis trials; PGA×BSA: Walsh JA et al. J Am Acad Dermatol 2013;69:931–937,
doi:10.1016/j.jaad.2013.07.040.

psotrack: the scale is recorded with every value (:class:`PgaScale`); on the 6-point scale the
grades are named 0 clear, 1 almost clear, 2 mild, 3 moderate, 4 severe, 5 very severe. Grades on
different scales are never compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number, exact, integer_problem, number_problem

GRADE_NAMES: Final = ("clear", "almost clear", "mild", "moderate", "severe", "very severe")


class PgaScale(Enum):
    """Which static PGA was used: the 5-point (0–4) or the 6-point (0–5) scale."""

    FIVE_POINT = 5
    SIX_POINT = 6

    @property
    def max_grade(self) -> int:
        """The highest grade: 4 on the 5-point scale, 5 on the 6-point scale."""
        return self.value - 1

    @property
    def label(self) -> str:
        return f"{self.value}-point PGA (0–{self.max_grade})"

    def grade_names(self) -> tuple[str, ...]:
        """The grade names of this scale, indexed by grade."""
        return GRADE_NAMES[: self.value]


@dataclass(frozen=True)
class PgaResult:
    """One PGA grade with its scale and the grade's name (``2`` on the 5-point scale: mild)."""

    grade: int
    scale: PgaScale

    @property
    def name(self) -> str:
        return GRADE_NAMES[self.grade]

    def __str__(self) -> str:
        return f"{self.grade} ({self.name}) on the {self.scale.label}"

    def summary(self) -> list[dict[str, object]]:
        return [{"pga": self.grade, "grade": self.name, "scale": self.scale.label}]


def _scale_problem(field: str, scale: object) -> Problem | None:
    if isinstance(scale, PgaScale):
        return None
    return Problem(field, scale, "a PgaScale (FIVE_POINT or SIX_POINT)", kind="type")


def pga(grade: int, scale: PgaScale) -> PgaResult:
    """Record a static PGA grade on the named scale; the scale has no default on purpose.

    >>> str(pga(1, PgaScale.FIVE_POINT))
    '1 (almost clear) on the 5-point PGA (0–4)'
    """
    problems = _grade_problems("pga", grade, scale)
    if problems:
        raise ValidationError(problems=problems)
    return PgaResult(grade, scale)


def _grade_problems(field: str, grade: object, scale: object) -> list[Problem]:
    scale_problem = _scale_problem(f"{field}_scale", scale)
    if scale_problem is not None:
        return [scale_problem]
    assert isinstance(scale, PgaScale)
    problem = integer_problem(field, grade, 0, scale.max_grade, f"a {scale.label} grade")
    return [] if problem is None else [problem]


@dataclass(frozen=True)
class PgaSuccess:
    """The "PGA 0/1" test at one visit: clear or almost clear, optionally ≥ 2 grades better."""

    success: bool
    clear_or_almost_clear: bool
    value: PgaResult
    baseline: PgaResult | None
    improvement: int | None
    required_two_grade_improvement: bool

    @property
    def reason(self) -> str:
        words = f"PGA {self.value.grade} ({self.value.name})"
        if self.baseline is not None:
            words += f", {self.improvement} grade(s) better than baseline {self.baseline.grade}"
        rule = "PGA 0/1"
        if self.required_two_grade_improvement:
            rule += " with ≥ 2-grade improvement"
        return f"{'success' if self.success else 'no success'} by {rule}: {words}"


def pga_success(
    value: PgaResult,
    baseline: PgaResult | None = None,
    *,
    require_two_grade_improvement: bool = False,
) -> PgaSuccess:
    """PGA 0/1 (clear or almost clear), optionally also ≥ 2 grades better than ``baseline``.

    A baseline is required when the two-grade improvement is; both grades must be on the same
    scale.

    >>> five = PgaScale.FIVE_POINT
    >>> pga_success(pga(1, five), pga(2, five), require_two_grade_improvement=True).success
    False
    >>> pga_success(pga(1, five), pga(3, five), require_two_grade_improvement=True).success
    True
    """
    problems: list[Problem] = []
    if not isinstance(value, PgaResult):
        problems.append(Problem("pga", value, "a PgaResult (use pga(grade, scale))", kind="type"))
    if baseline is not None and not isinstance(baseline, PgaResult):
        problems.append(
            Problem("baseline_pga", baseline, "a PgaResult (use pga(grade, scale))", kind="type")
        )
    if not isinstance(require_two_grade_improvement, bool):
        problems.append(
            Problem(
                "require_two_grade_improvement",
                require_two_grade_improvement,
                "True or False",
                kind="type",
            )
        )
    elif require_two_grade_improvement and baseline is None:
        problems.append(
            Problem("baseline_pga", None, "needed for the ≥ 2-grade improvement", kind="missing")
        )
    if (
        isinstance(value, PgaResult)
        and isinstance(baseline, PgaResult)
        and baseline.scale is not value.scale
    ):
        problems.append(
            Problem(
                "baseline_pga",
                str(baseline),
                f"a grade on the same {value.scale.label}",
                kind="invalid",
            )
        )
    if problems:
        raise ValidationError(problems=problems)
    clear = value.grade <= 1
    improvement = None if baseline is None else baseline.grade - value.grade
    success = clear
    if require_two_grade_improvement:
        success = clear and improvement is not None and improvement >= 2
    return PgaSuccess(success, clear, value, baseline, improvement, require_two_grade_improvement)


@dataclass(frozen=True)
class PgaBsaResult:
    """PGA × BSA: 0–400 on the 5-point scale, 0–500 on the 6-point scale; the scale is kept."""

    value: Decimal
    pga: PgaResult
    bsa_percent: Decimal

    @property
    def scale(self) -> PgaScale:
        return self.pga.scale

    @property
    def maximum(self) -> int:
        return self.pga.scale.max_grade * 100

    def __str__(self) -> str:
        return f"{self.value} (0–{self.maximum}, {self.scale.label})"

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "pga": self.pga.grade,
                "bsa_percent": str(self.bsa_percent),
                "pga_x_bsa": str(self.value),
                "range": f"0–{self.maximum}",
                "scale": self.scale.label,
            }
        ]


def pga_x_bsa(pga_value: PgaResult, bsa_percent: Number) -> PgaBsaResult:
    """The PGA × BSA composite (Walsh 2013), exact: PGA 3 × BSA 12.5 % = 37.5.

    >>> pga_x_bsa(pga(3, PgaScale.FIVE_POINT), 12.5).value
    Decimal('37.5')
    """
    problems: list[Problem] = []
    if not isinstance(pga_value, PgaResult):
        problems.append(
            Problem("pga", pga_value, "a PgaResult (use pga(grade, scale))", kind="type")
        )
    problem = number_problem("bsa", bsa_percent, 0, 100, "a percentage of body surface")
    if problem is not None:
        problems.append(problem)
    if problems:
        raise ValidationError(problems=problems)
    percent = exact(bsa_percent)
    return PgaBsaResult(pga_value.grade * percent, pga_value, percent)
