"""The cohort report: its charts, its view (the text as printed), and the HTML or PDF of it.

Built from :class:`~psotrack.services.cohort_report.CohortReport` only: every number printed is
one the services, the endpoint engine or :mod:`psotrack.stats` gave; it is written once here as
text (:mod:`psotrack.reports.view`), and both formats lay out that text. In steps, so that each
can be timed (``benchmarks/bench_cohort_report.py``): :func:`draw_cohort_figures` (matplotlib),
:func:`cohort_view`, then :func:`render_cohort_html` (Jinja2) or :func:`render_cohort_pdf`
(Typst). A 1 000-patient cohort prints aggregates: tables by endpoint, visit, term and
administration number, never a row per patient (the serious adverse events excepted).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from psotrack.reports.cohort_figures import adverse_events_svg, waterfall_svg
from psotrack.reports.cohort_report_figures import flow_svg, forest_svg, km_svg, spaghetti_svg
from psotrack.reports.cohort_text import (
    biomarker_tables,
    interval,
    p_value,
    percent,
    safety_tables,
)
from psotrack.reports.document import (
    MEASUREMENT_NOTE,
    ReportFormat,
    render_html,
    svg_uri,
    typst_pdf,
)
from psotrack.reports.view import DASH, Images, decimal_text, table
from psotrack.services.cohort_report import CohortReport

TITLE: Final = "Cohort report"
#: Every chart the view names (``None`` where the data hold nothing to draw).
CHARTS: Final = (
    "flow",
    "spaghetti",
    "waterfall",
    "km-pasi75",
    "km-relapse",
    "adverse-events",
    "forest",
)
_DATE_TIME: Final = "%Y-%m-%d %H:%M UTC"


def draw_cohort_figures(report: CohortReport) -> Images:
    """Draw every chart of ``report`` (the slow part of a large report)."""
    note = report.synthetic_label
    images = Images()
    images.add_svg("flow", flow_svg(report.flow, note=note))
    if report.pasi_change.height:
        images.add_svg(
            "spaghetti", spaghetti_svg(report.pasi_change, report.pasi_median, note=note)
        )
    if report.waterfall.height:
        images.add_svg(
            "waterfall", waterfall_svg(report.waterfall["best_pchg"].to_list(), note=note)
        )
    if report.time_to_pasi75 is not None:
        chart = km_svg(
            report.time_to_pasi75,
            "Time to PASI 75 (Kaplan–Meier)",
            "reached PASI 75 (% of patients)",
            note=note,
        )
        images.add_svg("km-pasi75", chart)
    if report.time_to_relapse is not None:
        chart = km_svg(
            report.time_to_relapse,
            "Time to relapse after the last dose (Kaplan–Meier)",
            "relapse-free (% of responders)",
            note=note,
        )
        images.add_svg("km-relapse", chart)
    images.add_svg("adverse-events", adverse_events_svg(report.safety.by_grade, note=note))
    images.add_svg("forest", forest_svg(report.evidence, note=note))
    return images


def _days(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.0f} days"


def cohort_view(report: CohortReport, images: Images, *, generated_at: datetime) -> dict[str, Any]:
    """Everything the report prints, as text (see :mod:`psotrack.reports.view`)."""
    drawn = {name.removesuffix(".svg"): name for name in images.files}
    charts = {name: drawn.get(name) for name in CHARTS}
    return {
        "title": TITLE,
        "data_label": report.synthetic_label,
        "generated_at": generated_at.isoformat(),
        "generated": generated_at.strftime(_DATE_TIME),
        "measurement_note": MEASUREMENT_NOTE,
        "facts": [
            ["Scope", report.scope.text, "scope"],
            ["Enrolled patients", str(report.patients), "patients"],
            ["Screened", str(report.screened), "screened"],
        ],
        "scope_note": (
            "Patients are those with an enrollment in scope (their newest one); the dates filter "
            "on the enrollment's start date. Every table and chart counts the enrolled patients "
            "(status other than screening), keyed by research id; no name, MRN, birth date or "
            "free text is read. Study day 0 is the first cell-therapy administration (the "
            "enrollment's start when there is none)."
        ),
        "flow": table(
            "flow",
            ("Step", "Patients", "What counts"),
            report.flow.rows(),
            empty="No patient in scope.",
            numeric=(1,),
        ),
        "baseline": _baseline(report),
        "rates_rule": (
            f"Missing data: {report.missing_text}. Denominator: every enrolled patient (ITT); "
            "a patient without an evaluable baseline PASI is a non-responder for the PASI "
            "endpoints; PGA 0/1 and DLQI 0/1 need no baseline. Interval: exact "
            "(Clopper–Pearson) 95 %."
        ),
        "rates": table(
            "rates",
            ("Endpoint", "Visit", "Study day", "Responders / n", "Rate", "95 % CI (exact)"),
            (
                (
                    r["endpoint"],
                    r["visit"],
                    r["day"],
                    f"{r['responders']} / {r['n']}",
                    percent(r["rate"]),
                    interval(r["ci_low"], r["ci_high"]),
                )
                for r in report.rates.iter_rows(named=True)
            ),
            empty="No post-baseline visit with a score yet: no rate to give.",
            numeric=(2, 3, 4, 5),
        ),
        "charts": charts,
        "captions": _captions(report),
        "biomarkers": biomarker_tables(report),
        "safety": safety_tables(report),
        "evidence": {
            "caveat": report.evidence_caveat,
            "table": table(
                "evidence",
                ("Endpoint", "Source", "Time point", "Responders / n", "Rate", "95 % CI (exact)"),
                (
                    (
                        r["endpoint"],
                        r["label"],
                        r["time_point"],
                        f"{r['responders']} / {r['n']}",
                        percent(r["rate"]),
                        interval(r["ci_low"], r["ci_high"]),
                    )
                    for r in report.evidence.iter_rows(named=True)
                ),
                empty="The published table has no row.",
                numeric=(3, 4, 5),
                note=(
                    "Same endpoint on both sides. The cohort's rate is non-responder imputation "
                    "over every enrolled patient (the published rows: all enrolled in the "
                    "denominator), at the visit nearest the published time point, or at its "
                    "last visit when the publication states none. Exact 95 % intervals."
                ),
            ),
        },
        "footer": (
            f"Cohort report of {report.scope.text}: {report.patients} enrolled patients."
            + (
                f" {report.synthetic_label}: the patients are synthetic and describe no real "
                "person or product."
                if report.synthetic_label
                else ""
            )
        ),
    }


def _baseline(report: CohortReport) -> dict[str, Any]:
    rows = []
    for r in report.baseline.iter_rows(named=True):
        if r["percent"] is not None:
            rows.append(
                (r["characteristic"], r["level"], r["n"], decimal_text(r["percent"]), "", "")
            )
        else:
            spread = (
                f"{decimal_text(r['median'])} [{decimal_text(r['q1'])}, {decimal_text(r['q3'])}]"
            )
            span = f"{decimal_text(r['minimum'])}–{decimal_text(r['maximum'])}"
            empty = r["n"] == 0
            rows.append(
                (
                    r["characteristic"],
                    "",
                    r["n"],
                    "",
                    DASH if empty else spread,
                    DASH if empty else span,
                )
            )
    return table(
        "baseline",
        ("Characteristic", "", "n", "%", "Median [Q1, Q3]", "Range"),
        rows,
        empty="No enrolled patient.",
        numeric=(2, 3, 4, 5),
        note=(
            f"Counts are n (% of {report.patients} enrolled); distributions are median [Q1, Q3] "
            "and range over the n patients with a value. Age is the enrollment year minus the "
            "birth year, ages of 90 or more counted as 90; disease duration is the enrollment "
            "year minus the onset year. Baselines are the last value on or before day 0. Prior "
            "therapy: started before day 0; systemic = methotrexate, ciclosporin, acitretin, "
            "apremilast or a biologic."
        ),
    )


def _captions(report: CohortReport) -> dict[str, str]:
    captions = {
        "spaghetti": (
            "Each faint line is one patient with an evaluable baseline; the median and "
            "interquartile range are of the patients observed at each visit."
        ),
        "waterfall": (
            f"Best (lowest) post-baseline % change per patient; {report.waterfall.height} "
            f"patients evaluable, {report.not_evaluable} without an evaluable baseline or a "
            "follow-up PASI left out."
        ),
        "no_course": (
            "No patient has an evaluable baseline and a follow-up PASI: no course to draw."
        ),
        "km_pasi75": "No patient with an evaluable baseline: no time to PASI 75.",
    }
    km = report.time_to_pasi75
    if km is not None:
        c = km.summary().row(0, named=True)
        captions["km_pasi75"] = (
            f"{c['n']} patients with an evaluable baseline, {c['events']} reached PASI 75; "
            "censored at the last visit with a PASI. Median time to PASI 75: "
            f"{_days(c['median'])} (95 % CI {_days(c['median_ci_low'])} to "
            f"{_days(c['median_ci_high'])}). Numbers at risk under the axis."
        )
    relapse = report.time_to_relapse
    stop = report.relapse_stop_day
    if relapse is not None:
        c = relapse.summary().row(0, named=True)
        captions["km_relapse"] = (
            f"Relapse: the first visit after study day {stop} (the last-dose day most patients "
            "share) that has given back at least 50 % of the improvement reached on therapy; "
            f"among the {c['n']} patients who reached PASI 50 by then and were seen after it, "
            f"{c['events']} relapsed. Median: {_days(c['median'])}."
        )
    elif stop is None:
        captions["km_relapse"] = (
            "Time to relapse: no administration recorded, so no stop of therapy to count from."
        )
    else:
        captions["km_relapse"] = (
            f"Time to relapse: no PASI 50 responder was seen after study day {stop} (the "
            "last-dose day most patients share)."
        )
    return captions


def render_cohort_html(view: dict[str, Any], images: Images) -> str:
    """The view as one self-contained HTML document (charts as ``data:`` URIs)."""
    uris = {name: svg_uri(content.decode("utf-8")) for name, content in images.contents().items()}
    return render_html("cohort_report.html", {**view, "v": view, "uri": uris})


def render_cohort_pdf(view: dict[str, Any], images: Images) -> bytes:
    """The view as PDF (Typst)."""
    return typst_pdf("cohort_report.typ", view, images.contents())


def render_cohort_report(report: CohortReport, images: Images, *, generated_at: datetime) -> str:
    """The report as HTML in one call (the view, then the HTML)."""
    return render_cohort_html(cohort_view(report, images, generated_at=generated_at), images)


def cohort_document(report: CohortReport, fmt: ReportFormat, *, generated_at: datetime) -> bytes:
    """The report file's content in ``fmt``: the charts, the view, then HTML or PDF."""
    images = draw_cohort_figures(report)
    view = cohort_view(report, images, generated_at=generated_at)
    if fmt is ReportFormat.HTML:
        return render_cohort_html(view, images).encode("utf-8")
    return render_cohort_pdf(view, images)


__all__ = [
    "CHARTS",
    "cohort_document",
    "cohort_view",
    "draw_cohort_figures",
    "interval",
    "p_value",
    "percent",
    "render_cohort_html",
    "render_cohort_pdf",
    "render_cohort_report",
]
