"""BSA, the share of body surface affected by psoriasis (0–100 %), also from handprints.

Sources: by clinical convention the patient's whole hand (palm with fingers) is about 1 % of body
surface and the palm alone about 0.5 % (measured values vary: Rhodes J et al. Br J Dermatol
2013;169:76–84); severity bands mild < 3 %, moderate 3–10 %, severe > 10 % (National
Psoriasis Foundation / AAD), kept as the named rule
:data:`~psotrack.instruments.severity.BSA_NPF_AAD`.

psotrack: percentages are kept exactly as typed (``Decimal``); a handprint count may be fractional
(2.5 handprints) and is converted exactly (hand × 1 %, palm × 0.5 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number, exact, number_problem
from psotrack.instruments.severity import BSA_NPF_AAD, SeverityResult, SeverityRule

HandUnit = Literal["hand", "palm"]
#: Percent of body surface per handprint: whole hand ≈ 1 %, palm alone ≈ 0.5 %.
PERCENT_PER_HANDPRINT: Final = {"hand": Decimal(1), "palm": Decimal("0.5")}
BSA_MAX: Final = Decimal(100)


@dataclass(frozen=True)
class BsaResult:
    """A BSA percentage with its severity band; how it was measured when from handprints."""

    percent: Decimal
    severity: SeverityResult
    handprints: Decimal | None = None
    unit: HandUnit | None = None

    @property
    def category(self) -> str:
        """The severity band (e.g. ``moderate``) under :attr:`severity`'s rule."""
        return self.severity.category

    def __str__(self) -> str:
        return f"{self.percent} %"

    def summary(self) -> list[dict[str, object]]:
        """One row: percent, how it was measured, band and rule."""
        measured = "percent" if self.handprints is None else f"{self.handprints} × {self.unit}"
        return [
            {
                "bsa_percent": str(self.percent),
                "measured_as": measured,
                "severity": self.severity.category,
                "rule": self.severity.rule,
            }
        ]


def bsa(percent: Number, rule: SeverityRule = BSA_NPF_AAD) -> BsaResult:
    """Record a BSA percentage (0–100) and band it by ``rule`` (NPF/AAD by default).

    >>> r = bsa(10.1)
    >>> (r.percent, r.category)
    (Decimal('10.1'), 'severe')
    """
    problems = [number_problem("bsa", percent, 0, 100, "a percentage of body surface")]
    if not isinstance(rule, SeverityRule) or rule.measure != "BSA":
        problems.append(Problem("rule", rule, "a SeverityRule over BSA", kind="type"))
    found = [p for p in problems if p is not None]
    if found:
        raise ValidationError(problems=found)
    value = exact(percent)
    return BsaResult(percent=value, severity=rule.classify(value))


def bsa_from_handprints(
    count: Number, unit: HandUnit = "hand", rule: SeverityRule = BSA_NPF_AAD
) -> BsaResult:
    """BSA from a count of the patient's handprints: ``unit="hand"`` 1 % each, ``"palm"`` 0.5 %.

    The count may be fractional (2.5 handprints). The result must stay within 100 %, so at most
    100 hands or 200 palms.

    >>> bsa_from_handprints(7, unit="palm").percent
    Decimal('3.5')
    """
    problems: list[Problem] = []
    per = PERCENT_PER_HANDPRINT.get(unit) if isinstance(unit, str) else None
    if per is None:
        problems.append(Problem("unit", unit, "'hand' (≈ 1 %) or 'palm' (≈ 0.5 %)", kind="type"))
        per = Decimal(1)
    high = int(BSA_MAX / per)
    problem = number_problem("handprints", count, 0, high, f"{unit}prints (100 % at most)")
    if problem is not None:
        problems.append(problem)
    if problems:
        raise ValidationError(problems=problems)
    handprints = exact(count)
    percent = handprints * per
    result = bsa(percent, rule)
    return BsaResult(result.percent, result.severity, handprints, unit)


def bsa_severity(percent: Number, rule: SeverityRule = BSA_NPF_AAD) -> SeverityResult:
    """The severity band of a BSA percentage under ``rule`` (NPF/AAD: < 3 / 3–10 / > 10).

    >>> [bsa_severity(p).category for p in (2.9, 3, 10, 10.1)]
    ['mild', 'moderate', 'moderate', 'severe']
    """
    return bsa(percent, rule).severity
