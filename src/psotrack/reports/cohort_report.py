"""The cohort report: its charts drawn from a :class:`CohortReport`, then one HTML document.

Two steps so that each can be timed apart (``benchmarks/bench_cohort_report.py``):
:func:`draw_cohort_figures` draws every chart as SVG text, :func:`render_cohort_report` renders
``templates/cohort_report.html`` with the data and the charts embedded as ``data:`` URIs. The
PDF is drawn from that HTML by :func:`psotrack.reports.document.html_to_pdf`. Numbers are
formatted here, once, by the helpers the template calls (:func:`percent`, :func:`interval`), so
a test can format the engine's numbers the same way and find each one in the HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psotrack.reports.cohort_figures import adverse_events_svg, waterfall_svg
from psotrack.reports.cohort_report_figures import forest_svg, km_svg, spaghetti_svg
from psotrack.reports.document import render_html, svg_uri
from psotrack.services.cohort_report import CohortReport

TEMPLATE: Final = "cohort_report.html"
TITLE: Final = "Cohort report"


@dataclass(frozen=True)
class CohortFigures:
    """Each chart of the report as SVG text; ``None`` where the data hold nothing to draw."""

    spaghetti: str | None
    waterfall: str | None
    time_to_pasi75: str | None
    time_to_relapse: str | None
    adverse_events: str
    forest: str


def draw_cohort_figures(report: CohortReport) -> CohortFigures:
    """Draw every chart of ``report`` (the slow part of a large report: matplotlib)."""
    note = report.synthetic_label
    return CohortFigures(
        spaghetti=(
            spaghetti_svg(report.pasi_change, report.pasi_median, note=note)
            if report.pasi_change.height
            else None
        ),
        waterfall=(
            waterfall_svg(report.waterfall["best_pchg"].to_list(), note=note)
            if report.waterfall.height
            else None
        ),
        time_to_pasi75=(
            km_svg(
                report.time_to_pasi75,
                "Time to PASI 75 (Kaplan–Meier)",
                "reached PASI 75 (% of patients)",
                note=note,
            )
            if report.time_to_pasi75 is not None
            else None
        ),
        time_to_relapse=(
            km_svg(
                report.time_to_relapse,
                "Time to relapse after the last dose (Kaplan–Meier)",
                "relapse-free (% of responders)",
                note=note,
            )
            if report.time_to_relapse is not None
            else None
        ),
        adverse_events=adverse_events_svg(report.safety.by_grade, note=note),
        forest=forest_svg(report.evidence, note=note),
    )


def percent(value: float | None, digits: int = 1) -> str:
    """A proportion 0–1 as a percentage with ``digits`` decimals; "—" when empty.

    >>> percent(0.35), percent(None), percent(1 / 3, 0)
    ('35.0 %', '—', '33 %')
    """
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def interval(low: float | None, high: float | None) -> str:
    """An interval of proportions as "20.6–51.7 %"; "—" when either end is empty.

    >>> interval(0.2062, 0.5168), interval(None, 0.5)
    ('20.6–51.7 %', '—')
    """
    if low is None or high is None:
        return "—"
    return f"{low * 100:.1f}–{high * 100:.1f} %"


def number(value: float | None, digits: int = 1) -> str:
    """A value with ``digits`` decimals; "—" when empty.

    >>> number(20.25), number(None), number(0.000123, 3)
    ('20.2', '—', '0.000')
    """
    return "—" if value is None else f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    """A p-value as printed: three decimals, "< 0.001" below that, "—" when not computed.

    >>> p_value(0.0068), p_value(0.00001), p_value(None)
    ('0.007', '< 0.001', '—')
    """
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _km_facts(report: CohortReport) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for name, km in (("pasi75", report.time_to_pasi75), ("relapse", report.time_to_relapse)):
        facts[name] = None if km is None else km.summary().row(0, named=True)
    return facts


def render_cohort_report(
    report: CohortReport, figures: CohortFigures, *, generated_at: datetime
) -> str:
    """The report as one self-contained HTML document (the same data, the same text)."""
    charts = {
        name: (svg_uri(svg) if svg is not None else None) for name, svg in vars(figures).items()
    }
    biomarkers = [
        (section, section.change.summary().to_dicts(), section.change.tests().to_dicts())
        for section in report.biomarkers
    ]
    context = {
        "title": TITLE,
        "data_label": report.synthetic_label,
        "generated_at": generated_at,
        "r": report,
        "charts": charts,
        "flow": report.flow.to_dicts(),
        "baseline": report.baseline.to_dicts(),
        "rates": report.rates.to_dicts(),
        "biomarkers": biomarkers,
        "by_term": report.safety.by_term.to_dicts(),
        "serious": report.safety.serious.to_dicts(),
        "infusions": report.safety.infusions.to_dicts(),
        "evidence": report.evidence.to_dicts(),
        "km": _km_facts(report),
        "percent": percent,
        "interval": interval,
        "number": number,
        "p_value": p_value,
    }
    return render_html(TEMPLATE, context)
