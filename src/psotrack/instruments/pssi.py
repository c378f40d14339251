"""PSSI, the Psoriasis Scalp Severity Index: (erythema + induration + desquamation) × area, 0–72.

Source: the definition used in scalp psoriasis trials (e.g. the clobetasol propionate shampoo
studies), as summarised in psotrack's reference ``shared/reference/instruments.md``: the scalp's
erythema, induration and desquamation are each graded 0–4 and their sum (0–12) is multiplied by
the scalp area score 0–6, whose bands are those of PASI (Fredriksson T, Pettersson U.
Dermatologica 1978;157:238–244). No single primary paper is cited here; check the protocol's.

psotrack: an affected-area percentage is converted with :func:`psotrack.instruments.pasi.area_score`
(half-open bands: 10 % scores 2, 29.9 % scores 2, 30 % scores 3, 90–100 % scores 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import Number
from psotrack.instruments.pasi import area_score, sign_and_area_problems

PSSI_MAX: Final = 72


@dataclass(frozen=True)
class PssiInput:
    """The scalp's three signs (0–4 each) and its area score (0–6)."""

    erythema: int
    induration: int
    desquamation: int
    area: int

    @classmethod
    def from_percent(
        cls, erythema: int, induration: int, desquamation: int, area_pct: Number
    ) -> PssiInput:
        """Build with the scalp area as a percentage (0–100), converted by the PASI bands."""
        return cls(erythema, induration, desquamation, area_score(area_pct, "scalp_area_pct"))

    def problems(self) -> list[Problem]:
        return sign_and_area_problems("scalp", self)


@dataclass(frozen=True)
class PssiResult:
    """A scored PSSI: total 0–72 = severity sum (0–12) × area score (0–6)."""

    erythema: int
    induration: int
    desquamation: int
    area: int

    @property
    def severity_sum(self) -> int:
        return self.erythema + self.induration + self.desquamation

    @property
    def total(self) -> int:
        return self.severity_sum * self.area

    def __str__(self) -> str:
        return f"{self.total}"

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "erythema": self.erythema,
                "induration": self.induration,
                "desquamation": self.desquamation,
                "e_i_d": self.severity_sum,
                "area": self.area,
                "pssi": self.total,
            }
        ]


def pssi(scalp: PssiInput) -> PssiResult:
    """Score a PSSI; every item out of range or of the wrong type is listed in one error.

    >>> pssi(PssiInput.from_percent(3, 2, 4, 35)).total  # (3+2+4) × 3
    27
    """
    if not isinstance(scalp, PssiInput):
        raise ValidationError("pssi", scalp, "a PssiInput", kind="type")
    problems = scalp.problems()
    if problems:
        raise ValidationError(problems=problems)
    return PssiResult(scalp.erythema, scalp.induration, scalp.desquamation, scalp.area)
