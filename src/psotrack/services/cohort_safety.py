"""The cohort report's safety tables: adverse events by term and grade, serious events, infusions.

Read inside the report's transaction (:func:`safety_tables` takes its session), coded fields
only: the CTCAE term, grade, seriousness criteria, relatedness and outcome, never the verbatim
term or the action taken. Infusion reactions are counted per administration: an administration
*with a reaction* has at least one live adverse event flagged as an infusion reaction and linked
to it; reactions not linked to an administration are counted apart. Administrations are numbered
per patient in the order given (1st, 2nd, …), and each number's share gets an exact interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.services.dashboard import GRADES, adverse_events_by_grade
from psotrack.services.study_days import utc_date
from psotrack.stats import proportion_interval
from psotrack.store.models import Administration, AdverseEvent, Patient, Visit

#: Rows of the per-administration table after which the rest are pooled ("4th and later").
NUMBERED: Final = 3


@dataclass(frozen=True, eq=False)
class SafetyTables:
    """``by_term``: ``term, grade_1 … grade_5, events, patients, serious``, most events first;
    ``serious``: ``patient_id`` (research id), ``term, grade, onset_day, criteria, relatedness,
    outcome``; ``infusions``: ``administration, administrations, with_reaction, reactions,
    rate, ci_low, ci_high`` (the last row ``all``); ``by_grade`` as the dashboard's
    (:func:`~psotrack.services.dashboard.adverse_events_by_grade`)."""

    events: int
    patients_with_event: int
    by_grade: pl.DataFrame
    by_term: pl.DataFrame
    serious: pl.DataFrame
    infusions: pl.DataFrame
    unlinked_reactions: int
    treated: frozenset[int]
    usual_last_dose_day: int | None


def safety_tables(
    session: Session,
    ids: list[int],
    zero: Mapping[int, date],
    enrollments: Mapping[int, tuple[str, date, bool]],
) -> SafetyTables:
    """The safety tables of the patients ``ids`` (study days from ``zero`` or the enrollment)."""
    from psotrack.services.cohort_report import usual_day

    def day_zero(pid: int) -> date:
        return zero.get(pid, enrollments[pid][1])

    events = session.execute(
        select(
            AdverseEvent.patient_id,
            Patient.research_id,
            AdverseEvent.term,
            AdverseEvent.grade,
            AdverseEvent.serious,
            AdverseEvent.serious_criteria,
            AdverseEvent.relatedness,
            AdverseEvent.outcome,
            AdverseEvent.onset_date,
            AdverseEvent.infusion_reaction,
            AdverseEvent.administration_id,
        )
        .join(Patient, Patient.id == AdverseEvent.patient_id)
        .where(AdverseEvent.patient_id.in_(ids), AdverseEvent.deleted_at.is_(None))
        .order_by(AdverseEvent.onset_date, AdverseEvent.id)
    ).all()
    doses = session.execute(
        select(
            Administration.id,
            Administration.patient_id,
            Administration.started_at,
            Visit.visit_date,
        )
        .outerjoin(Visit, (Visit.id == Administration.visit_id) & Visit.deleted_at.is_(None))
        .where(Administration.patient_id.in_(ids), Administration.deleted_at.is_(None))
        .order_by(Administration.patient_id, Administration.started_at, Administration.id)
    ).all()
    number: dict[int, int] = {}
    given_so_far: dict[int, int] = {}
    last_day: dict[int, int] = {}
    for dose_id, pid, started, visit_date in doses:  # ordered by patient, then time given
        given_so_far[pid] = given_so_far.get(pid, 0) + 1
        number[dose_id] = given_so_far[pid]
        given = visit_date if visit_date is not None else utc_date(started)
        last_day[pid] = (given - day_zero(pid)).days
    reactions = [e for e in events if e.infusion_reaction]
    linked = [e for e in reactions if e.administration_id in number]
    return SafetyTables(
        events=len(events),
        patients_with_event=len({e.patient_id for e in events}),
        by_grade=adverse_events_by_grade(
            [(int(e.grade), e.patient_id, bool(e.serious)) for e in events]
        ),
        by_term=_by_term(
            [(str(e.term), int(e.grade), e.patient_id, bool(e.serious)) for e in events]
        ),
        serious=pl.DataFrame(
            [
                (
                    e.research_id,
                    str(e.term),
                    int(e.grade),
                    (e.onset_date - day_zero(e.patient_id)).days,
                    "; ".join(sorted(e.serious_criteria or [])),
                    str(e.relatedness),
                    str(e.outcome),
                )
                for e in events
                if e.serious
            ],
            schema={
                "patient_id": pl.String,
                "term": pl.String,
                "grade": pl.Int64,
                "onset_day": pl.Int64,
                "criteria": pl.String,
                "relatedness": pl.String,
                "outcome": pl.String,
            },
            orient="row",
        ),
        infusions=infusion_table(
            list(number.values()),
            [number[e.administration_id] for e in linked],
            {e.administration_id for e in linked},
            number,
        ),
        unlinked_reactions=len(reactions) - len(linked),
        treated=frozenset(last_day),
        usual_last_dose_day=usual_day(list(last_day.values())),
    )


def _by_term(events: list[tuple[str, int, int, bool]]) -> pl.DataFrame:
    """``(term, grade, patient, serious)`` → one row per term, most events first."""
    rows = []
    for term in sorted({e[0] for e in events}):
        of_term = [e for e in events if e[0] == term]
        rows.append(
            {
                "term": term,
                **{f"grade_{g}": sum(1 for e in of_term if e[1] == g) for g in GRADES},
                "events": len(of_term),
                "patients": len({e[2] for e in of_term}),
                "serious": sum(1 for e in of_term if e[3]),
            }
        )
    schema = {
        "term": pl.String,
        **{f"grade_{g}": pl.Int64 for g in GRADES},
        "events": pl.Int64,
        "patients": pl.Int64,
        "serious": pl.Int64,
    }
    frame = pl.DataFrame(rows, schema=schema)
    return frame.sort(["events", "term"], descending=[True, False])


def _ordinal(n: int) -> str:
    """An administration's number as printed.

    >>> [_ordinal(n) for n in (1, 2, 3, 4)]
    ['1st', '2nd', '3rd', '4th']
    """
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def infusion_table(
    numbers: list[int],
    reaction_numbers: list[int],
    with_reaction: set[int],
    number_of: Mapping[int, int],
) -> pl.DataFrame:
    """Administrations, those with ≥ 1 infusion reaction and the reactions, by number.

    ``numbers``: each administration's number; ``reaction_numbers``: the number of the
    administration each linked reaction belongs to; ``with_reaction``: the administrations (ids
    of ``number_of``) with at least one. Numbers above :data:`NUMBERED` are pooled.

    >>> infusion_table([1, 2, 1], [1, 1], {10}, {10: 1, 11: 2, 12: 1}).rows()[0][:4]
    ('1st', 2, 1, 2)
    """

    def bucket(n: int) -> int:
        return min(n, NUMBERED + 1)

    rows = []
    buckets = sorted({bucket(n) for n in numbers})
    for chosen in [*buckets, 0]:

        def counted(n: int, chosen: int = chosen) -> bool:
            return chosen == 0 or bucket(n) == chosen

        given = sum(1 for n in numbers if counted(n))
        reacted = sum(1 for a in with_reaction if counted(number_of[a]))
        interval = proportion_interval(reacted, given, "exact") if given else None
        label = "all" if chosen == 0 else _ordinal(chosen)
        if chosen == NUMBERED + 1:
            label = f"{_ordinal(chosen)} and later"
        rows.append(
            (
                label,
                given,
                reacted,
                sum(1 for n in reaction_numbers if counted(n)),
                interval.rate if interval else None,
                interval.low if interval else None,
                interval.high if interval else None,
            )
        )
    schema = {
        "administration": pl.String,
        "administrations": pl.Int64,
        "with_reaction": pl.Int64,
        "reactions": pl.Int64,
        "rate": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
