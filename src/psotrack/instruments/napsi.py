"""NAPSI, the Nail Psoriasis Severity Index: matrix 0–4 + bed 0–4 per nail, summed over named nails.

Source: Rich P, Scher RK. Nail Psoriasis Severity Index: a useful tool for evaluation of nail
psoriasis. J Am Acad Dermatol 2003;49:206–212. Each nail is divided into four quadrants; the
matrix score (pitting, leukonychia, red spots in the lunula, crumbling) and the bed score
(onycholysis, splinter haemorrhages, subungual hyperkeratosis, oil-drop discoloration) are each the
number of quadrants with any sign (0–4), so a nail scores 0–8; fingernails total 0–80, with
toenails 0–160.

psotrack: nails are named R1–R5 / L1–L5 for the fingers (1 thumb … 5 little finger) and
RT1–RT5 / LT1–LT5 for the toes (1 great toe … 5 little toe). Only the nails given are scored, and
the result records which ones (a missing nail is not a zero); fingers and toes have subtotals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments._checks import integer_problem

_DIGITS: Final = ("thumb", "index finger", "middle finger", "ring finger", "little finger")
_TOES: Final = ("great toe", "second toe", "third toe", "fourth toe", "little toe")
_SIDES: Final = (("R", "right"), ("L", "left"))
#: Fingernails in a fixed order, with what each name means.
FINGERNAILS: Final = {
    f"{side}{n}": f"{word} {digit}"
    for side, word in _SIDES
    for n, digit in enumerate(_DIGITS, start=1)
}
TOENAILS: Final = {
    f"{side}T{n}": f"{word} {toe}" for side, word in _SIDES for n, toe in enumerate(_TOES, start=1)
}
NAIL_NAMES: Final = {**FINGERNAILS, **TOENAILS}
QUADRANTS: Final = 4
NAIL_MAX: Final = 8


@dataclass(frozen=True)
class NailScore:
    """One nail: quadrants (0–4) with matrix signs and quadrants (0–4) with bed signs."""

    matrix: int
    bed: int


@dataclass(frozen=True)
class NailResult:
    nail: str
    name: str
    matrix: int
    bed: int

    @property
    def total(self) -> int:
        return self.matrix + self.bed


@dataclass(frozen=True)
class NapsiResult:
    """A scored NAPSI: per-nail scores in a fixed order, subtotals, and which nails were scored."""

    nails: tuple[NailResult, ...]

    @property
    def total(self) -> int:
        return sum(n.total for n in self.nails)

    @property
    def fingers_total(self) -> int:
        return sum(n.total for n in self.nails if n.nail in FINGERNAILS)

    @property
    def toes_total(self) -> int:
        return sum(n.total for n in self.nails if n.nail in TOENAILS)

    @property
    def nails_scored(self) -> tuple[str, ...]:
        return tuple(n.nail for n in self.nails)

    @property
    def includes_toenails(self) -> bool:
        return any(n.nail in TOENAILS for n in self.nails)

    @property
    def maximum(self) -> int:
        """The highest total possible for the nails scored (8 per nail; 80 for ten fingers)."""
        return NAIL_MAX * len(self.nails)

    def __str__(self) -> str:
        return f"{self.total} (0–{self.maximum} over {len(self.nails)} nails)"

    def summary(self) -> list[dict[str, object]]:
        """One row per nail, then subtotals for fingers and toes and the total."""
        rows: list[dict[str, object]] = [
            {"nail": n.nail, "name": n.name, "matrix": n.matrix, "bed": n.bed, "total": n.total}
            for n in self.nails
        ]
        fingers = sum(1 for n in self.nails if n.nail in FINGERNAILS)
        toes = len(self.nails) - fingers
        rows.append(
            {
                "nail": "fingers",
                "name": f"{fingers} fingernail{'s' * (fingers != 1)}",
                "matrix": "",
                "bed": "",
                "total": self.fingers_total,
            }
        )
        if toes:
            rows.append(
                {
                    "nail": "toes",
                    "name": f"{toes} toenail{'s' * (toes != 1)}",
                    "matrix": "",
                    "bed": "",
                    "total": self.toes_total,
                }
            )
        rows.append(
            {
                "nail": "total",
                "name": f"0–{self.maximum}",
                "matrix": "",
                "bed": "",
                "total": self.total,
            }
        )
        return rows


def napsi(nails: Mapping[str, NailScore]) -> NapsiResult:
    """Score NAPSI over the named nails given (R1–R5, L1–L5 fingers; RT1–RT5, LT1–LT5 toes).

    >>> r = napsi({"R1": NailScore(2, 1), "L3": NailScore(0, 4), "RT1": NailScore(4, 4)})
    >>> (r.fingers_total, r.toes_total, r.total, r.nails_scored)
    (7, 8, 15, ('R1', 'L3', 'RT1'))
    """
    if not isinstance(nails, Mapping):
        raise ValidationError("nails", nails, "a mapping of nail name → NailScore", kind="type")
    problems: list[Problem] = []
    if not nails:
        problems.append(Problem("nails", None, "score at least one nail", kind="missing"))
    for nail, score in nails.items():
        if nail not in NAIL_NAMES:
            problems.append(
                Problem(
                    "nail",
                    nail,
                    "R1–R5, L1–L5 (fingers) or RT1–RT5, LT1–LT5 (toes)",
                    kind="invalid",
                )
            )
            continue
        if not isinstance(score, NailScore):
            problems.append(Problem(nail, score, "a NailScore(matrix, bed)", kind="type"))
            continue
        for part in ("matrix", "bed"):
            found = integer_problem(
                f"{nail}_{part}", getattr(score, part), 0, QUADRANTS, f"quadrants with {part} signs"
            )
            if found is not None:
                problems.append(found)
    if problems:
        raise ValidationError(problems=problems)
    ordered = tuple(
        NailResult(nail, NAIL_NAMES[nail], nails[nail].matrix, nails[nail].bed)
        for nail in NAIL_NAMES
        if nail in nails
    )
    return NapsiResult(ordered)
