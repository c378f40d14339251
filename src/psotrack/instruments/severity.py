"""Severity classification of psoriasis by named, configurable rules (PASI bands, BSA bands, tens).

Sources: the "rule of tens" — Finlay AY. Current severe psoriasis and the rule of tens. Br J
Dermatol 2005;152:861–867: psoriasis is severe if BSA > 10 % or PASI > 10 or DLQI > 10. BSA bands
mild < 3 %, moderate 3–10 %, severe > 10 % (National Psoriasis Foundation / AAD). PASI bands differ
between guidelines (mild < 10 / moderate 10–20 / severe > 20, or a single cut at 10: Mrowietz U et
al. Arch Dermatol Res 2011;303:1–10 call PASI > 10 "moderate-to-severe").

psotrack: every band set is a :class:`SeverityRule` with a name, and every
:class:`SeverityResult` carries the name of the rule that produced it, so that a report always says
which definition it used. Band edges are compared exactly (``Decimal``), never in floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number, exact, integer_problem, number_problem


@dataclass(frozen=True)
class Band:
    """One severity band: values up to ``upper`` (inclusive or not) get ``label``.

    ``upper=None`` marks the last, open-ended band.
    """

    label: str
    upper: Decimal | None
    include_upper: bool = True

    def holds(self, value: Decimal) -> bool:
        if self.upper is None:
            return True
        return value <= self.upper if self.include_upper else value < self.upper

    def describe(self, low: str) -> str:
        if self.upper is None:
            return f"{self.label}: above {low}" if low else f"{self.label}: any value"
        edge = "≤" if self.include_upper else "<"
        return f"{self.label}: {edge} {self.upper}"


@dataclass(frozen=True)
class SeverityRule:
    """A named set of bands over one measure (PASI 0–72 or BSA 0–100 %), checked in order.

    Build your own with :meth:`from_cuts`; psotrack ships :data:`PASI_BANDS_10_20`,
    :data:`PASI_SINGLE_CUT_10` and :data:`BSA_NPF_AAD`.
    """

    name: str
    measure: str
    low: Decimal
    high: Decimal
    bands: tuple[Band, ...]
    source: str = ""

    @classmethod
    def from_cuts(
        cls,
        name: str,
        measure: str,
        value_range: tuple[Number, Number],
        bands: list[tuple[str, Number | None, bool]],
        source: str = "",
    ) -> SeverityRule:
        """Build a rule from ``(label, upper edge or None, upper edge included?)`` triples.

        >>> rule = SeverityRule.from_cuts("pasi-5", "PASI", (0, 72), [("low", 5, False),
        ...                               ("high", None, True)])
        >>> rule.classify(5).category
        'high'
        """
        problems: list[Problem] = []
        built: list[Band] = []
        previous: Decimal | None = None
        for index, (label, upper, include) in enumerate(bands):
            if upper is None:
                if index != len(bands) - 1:
                    problems.append(
                        Problem(
                            f"bands[{index}]",
                            label,
                            "only the last band may be open-ended",
                            kind="invalid",
                        )
                    )
                built.append(Band(label, None, include))
                continue
            problem = number_problem(f"bands[{index}].upper", upper, *value_range, measure)
            if problem is not None:
                problems.append(problem)
                continue
            edge = exact(upper)
            if previous is not None and edge < previous:
                problems.append(
                    Problem(
                        f"bands[{index}].upper", upper, "band edges must increase", kind="invalid"
                    )
                )
            previous = edge
            built.append(Band(label, edge, include))
        if not bands or (built and built[-1].upper is not None):
            problems.append(
                Problem(
                    "bands", name, "the last band must be open-ended (upper None)", kind="invalid"
                )
            )
        if problems:
            raise ValidationError(problems=problems)
        low, high = (exact(v) for v in value_range)
        return cls(name, measure, low, high, tuple(built), source)

    def classify(self, value: Number) -> SeverityResult:
        """The band that ``value`` falls in, with this rule's name recorded beside it."""
        field = self.measure.lower()
        problem = number_problem(field, value, self.low, self.high, self.measure)
        if problem is not None:
            raise ValidationError(problems=[problem])
        number = exact(value)
        band = next(b for b in self.bands if b.holds(number))
        return SeverityResult(
            rule=self.name,
            category=band.label,
            values=((self.measure, number),),
            reason=f"{self.measure} {number} → {band.label} ({self.describe()})",
        )

    def describe(self) -> str:
        """The bands in words, e.g. ``mild: < 3; moderate: ≤ 10; severe: above 10``."""
        parts: list[str] = []
        last = ""
        for band in self.bands:
            parts.append(band.describe(last))
            last = str(band.upper) if band.upper is not None else last
        return "; ".join(parts)


@dataclass(frozen=True)
class SeverityResult:
    """A severity category, the rule that gave it, the values it looked at and why."""

    rule: str
    category: str
    values: tuple[tuple[str, Decimal | int], ...]
    reason: str
    missing: tuple[str, ...] = ()

    def summary(self) -> list[dict[str, object]]:
        """One row: the rule, the category and the reason, ready for a table."""
        return [{"rule": self.rule, "category": self.category, "reason": self.reason}]


#: PASI bands mild < 10 / moderate 10–20 / severe > 20 (10 and 20 are moderate).
PASI_BANDS_10_20: Final = SeverityRule.from_cuts(
    "PASI mild<10/moderate 10–20/severe>20",
    "PASI",
    (0, 72),
    [("mild", 10, False), ("moderate", 20, True), ("severe", None, True)],
    source="commonly used PASI bands; guidelines differ",
)
#: A single cut at 10: PASI ≤ 10 mild, > 10 moderate-to-severe (European consensus, 2011).
PASI_SINGLE_CUT_10: Final = SeverityRule.from_cuts(
    "PASI ≤10/>10",
    "PASI",
    (0, 72),
    [("mild", 10, True), ("moderate-to-severe", None, True)],
    source="Mrowietz U et al. Arch Dermatol Res 2011;303:1–10",
)
#: BSA bands mild < 3 %, moderate 3–10 %, severe > 10 % (National Psoriasis Foundation / AAD).
BSA_NPF_AAD: Final = SeverityRule.from_cuts(
    "BSA NPF/AAD mild<3/moderate 3–10/severe>10",
    "BSA",
    (0, 100),
    [("mild", 3, False), ("moderate", 10, True), ("severe", None, True)],
    source="National Psoriasis Foundation / American Academy of Dermatology",
)

RULE_OF_TENS: Final = "rule of tens (Finlay 2005)"
_TEN: Final = Decimal(10)


def rule_of_tens(
    *, bsa: Number | None = None, pasi: Number | None = None, dlqi: int | None = None
) -> SeverityResult:
    """Finlay's rule of tens: severe if BSA > 10 % or PASI > 10 or DLQI > 10.

    psotrack: a measure left out (``None``) is listed in ``missing``. The result is ``severe`` as
    soon as one given measure exceeds 10; ``not severe`` only when all three are given and none
    exceeds 10; otherwise ``undetermined`` (the missing measure could have made it severe). The
    rule defines only "severe", so the other class is called ``not severe``, not "mild".

    >>> rule_of_tens(bsa=8, pasi=10.1, dlqi=4).category
    'severe'
    >>> rule_of_tens(bsa=10, pasi=10, dlqi=10).category
    'not severe'
    """
    problems: list[Problem] = []
    given: list[tuple[str, Decimal | int]] = []
    missing: list[str] = []
    for name, value, high in (("bsa", bsa, 100), ("pasi", pasi, 72)):
        if value is None:
            missing.append(name)
            continue
        problem = number_problem(name, value, 0, high, name.upper())
        if problem is not None:
            problems.append(problem)
        else:
            given.append((name.upper(), exact(value)))
    if dlqi is None:
        missing.append("dlqi")
    else:
        problem = integer_problem("dlqi", dlqi, 0, 30, "a DLQI total")
        if problem is not None:
            problems.append(problem)
        else:
            given.append(("DLQI", dlqi))
    if not given and not problems:
        problems.append(Problem("bsa, pasi, dlqi", None, "give at least one", kind="missing"))
    if problems:
        raise ValidationError(problems=problems)
    above = [f"{name} {value} > 10" for name, value in given if value > _TEN]
    if above:
        category, reason = "severe", ", ".join(above)
    elif missing:
        category = "undetermined"
        reason = f"none of the given measures exceeds 10; {', '.join(missing)} not given"
    else:
        category, reason = "not severe", "BSA, PASI and DLQI are all ≤ 10"
    return SeverityResult(RULE_OF_TENS, category, tuple(given), reason, tuple(missing))


@dataclass(frozen=True)
class SeverityReport:
    """Every classification that the given measures allow, each naming its rule."""

    results: tuple[SeverityResult, ...]

    def summary(self) -> list[dict[str, object]]:
        return [row for result in self.results for row in result.summary()]


def classify_severity(
    *,
    pasi: Number | None = None,
    bsa: Number | None = None,
    dlqi: int | None = None,
    pasi_rule: SeverityRule = PASI_BANDS_10_20,
    bsa_rule: SeverityRule = BSA_NPF_AAD,
) -> SeverityReport:
    """Classify by the rule of tens and, where given, by the PASI rule and the BSA rule.

    Every problem with every input is collected into one :class:`ValidationError`.

    >>> [r.category for r in classify_severity(pasi=12, bsa=2.9, dlqi=3).results]
    ['severe', 'moderate', 'mild']
    """
    problems: list[Problem] = []
    try:
        tens = rule_of_tens(bsa=bsa, pasi=pasi, dlqi=dlqi)
    except ValidationError as exc:
        problems.extend(exc.problems)
    results: list[SeverityResult] = []
    for value, rule in ((pasi, pasi_rule), (bsa, bsa_rule)):
        if value is None:
            continue
        try:
            results.append(rule.classify(value))
        except ValidationError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise ValidationError(problems=problems)
    return SeverityReport((tens, *results))
