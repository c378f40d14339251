"""The cohort report's text: numbers as printed, and the biomarker and safety tables.

Part of :mod:`psotrack.reports.cohort_report` (its view): each number of the report is written
as text once, by these helpers, from what the services and :mod:`psotrack.stats` gave.
"""

from __future__ import annotations

from typing import Any

from psotrack.reports.view import DASH, decimal_text, table
from psotrack.services.cohort_report import CohortReport


def percent(value: float | None, digits: int = 1) -> str:
    """A proportion 0–1 as a percentage with ``digits`` decimals; a dash when empty.

    >>> percent(0.35), percent(None), percent(1 / 3, 0)
    ('35.0 %', '—', '33 %')
    """
    return DASH if value is None else f"{value * 100:.{digits}f} %"


def interval(low: float | None, high: float | None) -> str:
    """An interval of proportions as "20.6–51.7 %"; a dash when either end is empty.

    >>> interval(0.2062, 0.5168), interval(None, 0.5)
    ('20.6–51.7 %', '—')
    """
    if low is None or high is None:
        return DASH
    return f"{low * 100:.1f}–{high * 100:.1f} %"


def p_value(value: float | None) -> str:
    """A p-value as printed: three decimals, "< 0.001" below that, a dash when not computed.

    >>> p_value(0.0068), p_value(0.00001), p_value(None)
    ('0.007', '< 0.001', '—')
    """
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def biomarker_tables(report: CohortReport) -> dict[str, Any]:
    sections = []
    for section in report.biomarkers:
        rows: list[tuple[object, ...]] = []
        for g in section.change.summary().iter_rows(named=True):
            method = f" ({g['method']})" if g["method"] else ""
            rows.append(
                (
                    g["group"],
                    g["n_pairs"],
                    _spread(g, "baseline"),
                    _spread(g, "follow_up"),
                    _spread(g, "change"),
                    f"Wilcoxon signed-rank{method}" + (f": {g['note']}" if g["note"] else ""),
                    p_value(g["wilcoxon_p"]),
                )
            )
        for t in section.change.tests().iter_rows(named=True):
            if not t["test"].startswith("Wilcoxon"):
                method = f" ({t['method']})" if t["method"] else ""
                rows.append(
                    (
                        t["test"],
                        t["n"],
                        "",
                        "",
                        "",
                        f"{t['test'].split(' (')[0]}{method}",
                        p_value(t["p_value"]),
                    )
                )
        sections.append(
            {
                "title": f"{section.analyte} ({section.unit})",
                "table": table(
                    f"biomarker-{section.analyte}",
                    ("Group", "Pairs", "Baseline", "Follow-up", "Change", "Test", "p"),
                    rows,
                    empty="No pair of values.",
                    numeric=(1, 2, 3, 4, 6),
                    note=(
                        f"Baseline to study day {section.follow_up_day} (the day most patients "
                        "have a value); responder: PASI 75 reached on or before that day. "
                        "Median [Q1, Q3]. Within groups: Wilcoxon signed-rank test; between "
                        "groups: Mann–Whitney U test on the changes."
                    ),
                ),
            }
        )
    return {
        "sections": sections,
        "empty": "No laboratory values with a post-baseline sample in this cohort: no biomarker "
        "change to show.",
    }


def _spread(row: dict[str, Any], name: str) -> str:
    median, q1, q3 = (row[f"{name}_{part}"] for part in ("median", "q1", "q3"))
    return f"{decimal_text(median, 2)} [{decimal_text(q1, 2)}, {decimal_text(q3, 2)}]"


def safety_tables(report: CohortReport) -> dict[str, Any]:
    safety = report.safety
    unlinked = (
        f" {safety.unlinked_reactions} infusion reactions are not linked to an administration "
        "and are not counted here."
        if safety.unlinked_reactions
        else ""
    )
    return {
        "summary": (
            f"{safety.events} adverse events in {safety.patients_with_event} of "
            f"{report.patients} patients (CTCAE v5.0 terms and grades; verbatim terms are not "
            "read)."
        ),
        "by_term": table(
            "ae-terms",
            ("Term", *(f"Grade {g}" for g in range(1, 6)), "Events", "Patients", "Serious"),
            safety.by_term.rows(),
            empty="No adverse event recorded.",
            numeric=tuple(range(1, 9)),
            note="Events by term and grade; patients: with at least one event of the term.",
        ),
        "serious": table(
            "serious",
            (
                "Research id",
                "Term",
                "Grade",
                "Onset (study day)",
                "Criteria (ICH E2A)",
                "Relatedness",
                "Outcome",
            ),
            safety.serious.rows(),
            empty="No serious adverse event recorded.",
            numeric=(2, 3),
        ),
        "infusions": table(
            "infusions",
            (
                "Administration",
                "Given",
                "With a reaction",
                "Reactions",
                "Share",
                "95 % CI (exact)",
            ),
            (
                (
                    r["administration"],
                    r["administrations"],
                    r["with_reaction"],
                    r["reactions"],
                    percent(r["rate"]),
                    interval(r["ci_low"], r["ci_high"]),
                )
                for r in safety.infusions.iter_rows(named=True)
            ),
            empty="No administration recorded.",
            numeric=(1, 2, 3, 4, 5),
            note=(
                "Administrations numbered per patient in the order given; with a reaction: at "
                "least one adverse event flagged as an infusion reaction and linked to the "
                "administration. Exact 95 % interval." + unlinked
            ),
        ),
    }
