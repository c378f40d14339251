"""Therapies as model inputs: cell-therapy doses, an IL-17/IL-23 blocker, a background topical.

An arm is written as text and parsed by :func:`parse_schedule`::

    control
    uc-msc-iv:1e6/kg x3 q4w            UC-MSC, 1 × 10⁶ cells/kg IV, 3 doses 4 weeks apart
    ad-msc-pl:5e5/kg x2 q2w @2w        perilesional, first dose at week 2
    anti-il17 x7 q4w + topical:0.2     blocker (label-dose units) with a background topical
    anti-il17 x5 q1w then x8 q4w       loading doses, then maintenance (first one 4 weeks on)
    anti-il23 x2 q4w then x6 q8w       anti-IL-23 (p19); anti-il12/23 or anti-p40: ustekinumab-like

Cell therapy (assumptions, calibrated against ``trials.md`` in :mod:`psotrack.model.calibration`):
each dose adds ``dose / 10⁶ cells/kg`` live cells (in units of 10⁶ cells/kg) to a kinetic
compartment — an IV dose to the lung, where infused MSCs are trapped and die within days; a
perilesional dose to a depot at the injected plaques — and the live cells secrete into the
paracrine pools (:func:`psotrack.model.equations.cell_kinetics`; sources in ``docs/model.md``
§5.1). Sources share one potency (1.0): no published head-to-head potency data justify
different values.
The blocker dose is in label-dose units (1 = one standard injection of that drug), entering the
depot; each drug has its own label PK and potency (``blocker_{il17,il23,p40}_*`` parameters).

Bounds (psotrack's choice, what a protocol can be): at most ``MAX_DOSES`` (52) doses of one
component — a year of weekly doses, more than any published MSC or biologic schedule — and every
dose within ``HORIZON_DAYS`` (5 years) of day 0, the longest the model is asked to follow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from psotrack.errors import Problem, ValidationError
from psotrack.model.equations import MAX_TOPICAL, SiteInputs
from psotrack.model.solver import Dosing

FloatArray = npt.NDArray[np.float64]

#: Cell sources the parser knows, with their relative paracrine potency (all 1.0, see above).
SOURCE_POTENCY: Final = {
    "uc-msc": 1.0,  # umbilical cord
    "ucb-msc": 1.0,  # umbilical cord blood
    "ad-msc": 1.0,  # adipose
    "bm-msc": 1.0,  # bone marrow
    "g-msc": 1.0,  # gingival
}
ROUTES: Final = {"iv": "iv", "pl": "perilesional", "perilesional": "perilesional"}
CELLS_PER_UNIT: Final = 1e6  # one paracrine unit = 10⁶ cells/kg
DEFAULT_TOPICAL: Final = 0.2  # fractional reduction of keratinocyte cytokine load (assumed)
MAX_DOSES: Final = 52  # a year of weekly doses
HORIZON_DAYS: Final = 1826  # 5 years: no dose, reading or forecast beyond it

Route = Literal["iv", "perilesional"]
Drug = Literal["il17", "il23", "p40"]

_EXAMPLE = (
    "e.g. 'control', 'uc-msc-iv:1e6/kg x3 q4w', 'anti-il17 x5 q1w then x8 q4w', 'topical:0.2'"
)
_NUMBER = r"\d+(?:\.\d+)?(?:e[+-]?\d+)?"
_TIMING = rf"(?:\s+x(?P<count>\d+))?(?:\s+q(?P<every>{_NUMBER})(?P<every_unit>[wd]))?" + (
    rf"(?:\s+@(?P<start>{_NUMBER})(?P<start_unit>[wd]))?"
)
# re.ASCII: \d is an ASCII digit (without it "x٣" would read as three doses).
_CELL = re.compile(
    rf"(?P<source>[a-z]+-msc)-(?P<route>iv|pl|perilesional):(?P<dose>{_NUMBER})/kg{_TIMING}",
    re.ASCII,
)
_BLOCKER = re.compile(
    rf"anti-(?P<target>il17|il23|il12/23|p40)(?::(?P<dose>{_NUMBER}))?{_TIMING}", re.ASCII
)
#: A maintenance phase after the loading doses: "then x<count> q<n>w|d" (one per blocker).
_THEN = re.compile(rf"x(?P<count>\d+) q(?P<every>{_NUMBER})(?P<every_unit>[wd])", re.ASCII)
#: Blocker targets as written, and the drug each names (p40 = IL-12/23, ustekinumab-like).
BLOCKER_TARGETS: Final[dict[str, Drug]] = {
    "il17": "il17",
    "il23": "il23",
    "il12/23": "p40",
    "p40": "p40",
}
_TOPICAL = re.compile(rf"topical(?::(?P<fraction>{_NUMBER}))?", re.ASCII)
#: Components are joined by "+", except the sign of an exponent ("1.5e+06": digit, e, +).
_JOIN = re.compile(r"(?<![0-9]e)\+", re.ASCII)


@dataclass(frozen=True)
class Doses:
    """Repeated doses: ``count`` doses of ``amount``, ``every`` days apart, from ``start``;
    ``then`` a maintenance phase whose first dose is one of its intervals after the last one."""

    amount: float
    count: int
    every: float
    start: float
    then: Doses | None = None

    def days(self) -> list[float]:
        own = [self.start + k * self.every for k in range(self.count)]
        return own + (self.then.days() if self.then is not None else [])


@dataclass(frozen=True)
class CellTherapy:
    source: str
    route: Route
    cells_per_kg: float
    doses: Doses


@dataclass(frozen=True)
class Blocker:
    """One monoclonal blocker: ``target`` il17, il23 (p19) or p40 (IL-12/23)."""

    target: Drug
    doses: Doses


@dataclass(frozen=True)
class Schedule:
    """One arm's therapies, parsed from its text (``text`` kept as the arm's label)."""

    text: str
    cell_therapy: CellTherapy | None = None
    blocker: Blocker | None = None
    topical: float = 0.0


def _fail(text: str, why: str) -> ValidationError:
    return ValidationError("schedule", text, f"{why} ({_EXAMPLE})", kind="invalid")


def _doses(
    text: str, match: re.Match[str], amount: float, then: re.Match[str] | None = None
) -> Doses:
    count = int(match["count"] or 1)
    every = float(match["every"] or 0) * (7 if match["every_unit"] == "w" else 1)
    start = float(match["start"] or 0) * (7 if match["start_unit"] == "w" else 1)
    if count < 1 or (count > 1 and every <= 0):
        raise _fail(text, "a repeated dose needs x<count> ≥ 1 and an interval q<n>w or q<n>d > 0")
    maintenance: Doses | None = None
    last = start + (count - 1) * every
    if then is not None:
        more = int(then["count"])
        interval = float(then["every"]) * (7 if then["every_unit"] == "w" else 1)
        if more < 1 or interval <= 0:
            raise _fail(text, "'then' needs x<count> ≥ 1 and an interval q<n>w or q<n>d > 0")
        maintenance = Doses(amount, more, interval, last + interval)
        count += more
        last = maintenance.start + (more - 1) * interval
    if count > MAX_DOSES:
        what = f"x{count} is" if then is None else f"{count} doses in all is"
        raise _fail(text, f"{what} more than {MAX_DOSES} doses (a year of weekly doses)")
    if last > HORIZON_DAYS:
        raise _fail(
            text, f"a dose on day {last:g} is beyond day {HORIZON_DAYS} (5 years, the horizon)"
        )
    first = Doses(amount, int(match["count"] or 1), every, start, maintenance)
    return first


def late_first_doses(schedule: Schedule, last_day: float, follow_up: str) -> list[Problem]:
    """One problem per component whose first dose is not before ``last_day`` (the last visit).

    Such a component would change nothing that is reported, silently (a dose on a visit day
    follows that visit's assessment, solver.py). Doses that start before the last visit and
    continue after it are allowed: the ones after it are never simulated. ``follow_up`` names
    the window in the message, e.g. ``"26 weeks of follow-up"``.
    """
    components: list[tuple[str, Doses]] = []
    if (cell := schedule.cell_therapy) is not None:
        route = "iv" if cell.route == "iv" else "pl"
        components.append((f"{cell.source}-{route}", cell.doses))
    if (blocker := schedule.blocker) is not None:
        components.append((f"anti-{blocker.target}", blocker.doses))
    return [
        Problem(
            "arm",
            schedule.text,
            f"the first {name} dose is on day {doses.start:g}, not before the last visit on day "
            f"{last_day:g} ({follow_up}), so it would change nothing",
            kind="invalid",
        )
        for name, doses in components
        if doses.start >= last_day
    ]


def _then(text: str, part: str) -> re.Match[str] | None:
    """The maintenance phase of a blocker component (``... then x8 q4w``), or None."""
    if " then " not in part:
        return None
    tail = part.split(" then ", 1)[1]
    if (m := _THEN.fullmatch(tail)) is None:
        raise _fail(text, f"cannot read the maintenance phase {tail!r} (write 'then x8 q4w')")
    return m


def parse_schedule(text: str) -> Schedule:
    """Parse an arm such as ``"uc-msc-iv:1e6/kg x3 q4w"`` or ``"control"``.

    >>> parse_schedule("uc-msc-iv:1e6/kg x3 q4w").cell_therapy.doses.days()
    [0.0, 28.0, 56.0]
    >>> parse_schedule("control").cell_therapy is None
    True
    >>> parse_schedule("anti-il23 x2 q4w then x2 q8w").blocker.doses.days()
    [0.0, 28.0, 84.0, 140.0]
    """
    clean = " ".join(text.strip().lower().split())
    if clean in ("control", "placebo", "untreated"):
        return Schedule(text=text.strip())
    if not clean:
        raise _fail(text, "an empty arm")
    cell: CellTherapy | None = None
    blocker: Blocker | None = None
    topical = 0.0
    for part in (piece.strip() for piece in _JOIN.split(clean)):
        if (m := _CELL.fullmatch(part)) is not None:
            if m["source"] not in SOURCE_POTENCY:
                known = ", ".join(SOURCE_POTENCY)
                raise _fail(text, f"unknown cell source {m['source']!r}; known: {known}")
            dose = float(m["dose"])
            if not 1e4 <= dose <= 1e8:
                raise _fail(text, f"a cell dose of {dose:g}/kg is outside 1e4–1e8 cells/kg")
            if cell is not None:
                raise _fail(text, "one cell-therapy component per arm")
            route: Route = "iv" if m["route"] == "iv" else "perilesional"
            cell = CellTherapy(m["source"], route, dose, _doses(text, m, dose / CELLS_PER_UNIT))
        elif (m := _BLOCKER.fullmatch(part.split(" then ", 1)[0])) is not None:
            if blocker is not None:
                raise _fail(text, "one blocker per arm")
            amount = float(m["dose"] or 1.0)
            if not 0 < amount <= 10:
                raise _fail(text, f"a blocker dose of {amount:g} is outside 0–10 label doses")
            doses = _doses(text, m, amount, _then(text, part))
            blocker = Blocker(BLOCKER_TARGETS[m["target"]], doses)
        elif (m := _TOPICAL.fullmatch(part)) is not None:
            topical = float(m["fraction"]) if m["fraction"] else DEFAULT_TOPICAL
            if not 0 < topical <= MAX_TOPICAL:
                raise _fail(text, f"a topical effect of {topical:g} is outside (0, {MAX_TOPICAL}]")
        else:
            raise _fail(text, f"cannot read {part!r}")
    return Schedule(text.strip(), cell, blocker, topical)


def build_inputs(
    schedules: Sequence[Schedule], injected: npt.ArrayLike | None = None
) -> tuple[SiteInputs, Dosing]:
    """Per-row site inputs and dose jumps for one schedule per row.

    ``injected`` marks rows that model an injected plaque (for perilesional cell therapy);
    by default every row is an injected plaque.
    """
    n = len(schedules)
    site = np.ones(n, bool) if injected is None else np.asarray(injected, bool)
    potency, block17, block23, block12, topical = (np.zeros(n) for _ in range(5))
    events: dict[float, FloatArray] = {}

    def add(day: float, row: int, pool: int, amount: float) -> None:
        events.setdefault(day, np.zeros((n, 3)))[row, pool] += amount

    for row, sched in enumerate(schedules):
        potency[row] = 1.0
        topical[row] = sched.topical
        if (cell := sched.cell_therapy) is not None:
            potency[row] = SOURCE_POTENCY[cell.source]
            for day in cell.doses.days():
                add(day, row, 0 if cell.route == "iv" else 1, cell.doses.amount)
        if (blocker := sched.blocker) is not None:
            block17[row] = 1.0 if blocker.target == "il17" else 0.0
            block23[row] = 1.0 if blocker.target in ("il23", "p40") else 0.0
            block12[row] = 1.0 if blocker.target == "p40" else 0.0
            for day in blocker.doses.days():
                add(day, row, 2, blocker.doses.amount)
    days = np.array(sorted(events), dtype=np.float64)
    amounts = np.stack([events[d] for d in days.tolist()]) if events else np.zeros((0, n, 3))
    inputs = SiteInputs(potency, site.astype(np.float64), block17, block23, topical, block12)
    return inputs, Dosing(days, amounts)
