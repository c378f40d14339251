"""Cohort responder rates from the store: the long table through the endpoint engine, rules named.

:func:`cohort_rates` reads the program's long table (:func:`assessments_frame`, research ids
only, so a researcher may call it) and hands it to
:func:`psotrack.endpoints.derive_response_rates` with exact (Clopper–Pearson) 95 % intervals.
The result names its missing-data and denominator rules in words, so every table, page and
report that shows the rates can print them beside the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from psotrack.endpoints import DENOMINATOR_TEXT, MISSING_TEXT, derive_response_rates
from psotrack.endpoints.rates import DenominatorRule, MissingRule
from psotrack.errors import ValidationError
from psotrack.services.context import Actor, Database
from psotrack.services.payloads import require_id
from psotrack.services.timeline import assessments_frame

#: The interval every cohort rate carries.
INTERVAL: Final = "exact"
LEVEL: Final = 0.95
#: What the rates may be split by: the enrollment arm, or nothing (one group, ``all``).
GROUPINGS: Final = ("arm", None)


@dataclass(frozen=True, eq=False)
class CohortRates:
    """PASI ``threshold`` responder rates per group and visit, with the rules that made them.

    ``rates`` has the columns of :func:`~psotrack.endpoints.derive_response_rates` (``arm`` is
    ``"all"`` when not split); ``patients`` counts the patients in the long table.
    """

    program_id: int | None
    threshold: int
    missing: str
    denominator: str
    patients: int
    rates: pl.DataFrame

    @property
    def missing_text(self) -> str:
        return MISSING_TEXT[self.missing]

    @property
    def denominator_text(self) -> str:
        return DENOMINATOR_TEXT[self.denominator]

    @property
    def title(self) -> str:
        """The table's title: threshold, missing-data rule, interval and denominator named."""
        return (
            f"PASI {self.threshold} by visit ({self.missing_text}; "
            f"exact {LEVEL * 100:.0f} % interval; denominator: {self.denominator_text})"
        )

    def summary(self) -> pl.DataFrame:
        """The rates as a tidy table (one row per group and visit)."""
        return self.rates


def cohort_rates(
    db: Database,
    actor: Actor,
    program_id: int | None = None,
    threshold: int = 75,
    missing: MissingRule = "nri",
    denominator: DenominatorRule = "itt",
    by: str | None = "arm",
) -> CohortRates:
    """Responder rates by visit of the program (every program when ``None``) from the store."""
    if program_id is not None:
        require_id("program_id", program_id)
    if by not in GROUPINGS:
        raise ValidationError("by", by, "arm, or none (one group of all patients)", "invalid")
    frame = assessments_frame(db, actor, program_id).select(
        "patient_id", "arm", "visit", "day", "pasi"
    )
    rates = derive_response_rates(
        frame,
        threshold=threshold,
        missing=missing,
        by=by,
        ci=INTERVAL,
        level=LEVEL,
        denominator=denominator,
    )
    return CohortRates(
        program_id=program_id,
        threshold=threshold,
        missing=missing,
        denominator=denominator,
        patients=frame["patient_id"].n_unique(),
        rates=rates,
    )
