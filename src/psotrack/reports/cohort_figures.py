"""The cohort dashboard's charts as SVG text: responder rates, best PASI change, AE grades.

matplotlib with the Agg backend (no display), the Okabe–Ito colour-blind-safe palette, a title
and axis labels with units on every chart, text kept as text (``svg.fonttype: none``, so the
SVG stays small and searchable) and no creation date (the same data draw the same bytes).
Every chart carries the data's label in its title (``note``: "SYNTHETIC DATA" for the demo).
Patients are never named on a chart: the waterfall's bars are unlabelled, one per patient.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import polars as pl

from psotrack.reports.figures import OKABE_ITO

#: CTCAE grade 1 → 5, mildest to worst, in palette colours.
GRADE_COLOURS: Final = ("#56B4E9", "#009E73", "#E69F00", "#D55E00", "#000000")
#: Response thresholds drawn on the waterfall (PASI 50/75/90: −50/−75/−90 % from baseline).
THRESHOLD_LINES: Final = (50, 75, 90)
_RC: Final[dict[Any, Any]] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "psotrack",  # the same data draw the same ids (deterministic reports)
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
}


@contextmanager
def figure(width: float = 6.4, height: float = 3.6) -> Iterator[tuple[Any, Any]]:
    """A new figure and its axes, drawn under psotrack's chart style and lock
    (:func:`psotrack.reports.figures.drawing`: matplotlib's settings are process-wide, and the
    web app draws in a thread pool), with these charts' sizes on top. No pyplot: a bare
    :class:`~matplotlib.figure.Figure` is not registered anywhere, so nothing is left open."""
    import matplotlib
    from matplotlib.figure import Figure

    from psotrack.reports.figures import drawing

    with drawing(), matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        yield fig, fig.add_subplot()


def svg_text(fig: Any) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def titled(title: str, note: str) -> str:
    """The title with the data's label (e.g. "SYNTHETIC DATA") when there is one."""
    return f"{title} — {note}" if note else title


def responder_rates_svg(rates: pl.DataFrame, title: str, *, note: str = "") -> str:
    """Rate (%) by study day with its exact interval as an error bar; ``rates`` has ``day,
    rate, ci_low, ci_high, n`` (proportions 0–1; a visit with ``n`` 0 is left out)."""
    shown = rates.filter(pl.col("n") > 0).sort("day")
    with figure() as (fig, ax):
        if shown.height:
            days = shown["day"].to_list()
            rate = [r * 100 for r in shown["rate"].to_list()]
            low = [(r - lo * 100) for r, lo in zip(rate, shown["ci_low"].to_list(), strict=True)]
            high = [(hi * 100 - r) for r, hi in zip(rate, shown["ci_high"].to_list(), strict=True)]
            ax.errorbar(
                days,
                rate,
                yerr=[low, high],
                fmt="o-",
                color=OKABE_ITO["blue"],
                ecolor=OKABE_ITO["sky"],
                capsize=4,
                label="rate with exact 95 % interval",
            )
            ax.legend(loc="upper left", frameon=False)
        else:
            ax.text(0.5, 0.5, "no post-baseline visit yet", ha="center", transform=ax.transAxes)
        ax.set_ylim(0, 100)
        ax.set_xlabel("study day (days since first administration)")
        ax.set_ylabel("responders (% of patients)")
        ax.set_title(titled(title, note))
        ax.grid(axis="y", color="#dddddd")
        return svg_text(fig)


def waterfall_svg(best_pchg: list[float], *, note: str = "") -> str:
    """One bar per patient, best % change of PASI from baseline, largest rise first; dashed
    lines at −50, −75 and −90 % (PASI 50, 75 and 90)."""
    values = sorted(best_pchg, reverse=True)
    with figure() as (fig, ax):
        colours = [
            OKABE_ITO["green"] if v <= -75 else OKABE_ITO["orange"] if v <= -50 else "#999999"
            for v in values
        ]
        # One collection of rectangles, not a patch per bar: a 1 000-patient waterfall draws in
        # a tenth of the time (ax.bar makes one artist per bar).
        from matplotlib.collections import PolyCollection

        bars = [
            [(x - 0.425, 0.0), (x - 0.425, v), (x + 0.425, v), (x + 0.425, 0.0)]
            for x, v in enumerate(values, start=1)
        ]
        ax.add_collection(PolyCollection(bars, facecolors=colours, edgecolors="none"))
        for threshold in THRESHOLD_LINES:
            ax.axhline(-threshold, color=OKABE_ITO["black"], linestyle="--", linewidth=0.8)
            ax.annotate(
                f"PASI {threshold}",
                (1, -threshold),
                xycoords=("axes fraction", "data"),
                xytext=(2, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
        from matplotlib.patches import Patch

        legend = [
            Patch(color=OKABE_ITO["green"], label="improved ≥ 75 %"),
            Patch(color=OKABE_ITO["orange"], label="improved 50 to < 75 %"),
            Patch(color="#999999", label="improved < 50 % or worse"),
        ]
        fig.legend(handles=legend, loc="outside lower center", ncol=3, frameon=False, fontsize=8)
        low = min([*values, -100.0])
        high = max([*values, 10.0])
        ax.set_ylim(low - 5, high + 5)
        ax.set_xlim(0, len(values) + 1)
        ax.set_xticks([])
        ax.set_xlabel(f"patients, one bar each (n = {len(values)})")
        ax.set_ylabel("best change of PASI from baseline (%)")
        ax.set_title(titled("Best PASI change per patient", note))
        return svg_text(fig)


def adverse_events_svg(by_grade: pl.DataFrame, *, note: str = "") -> str:
    """Adverse events (count) by CTCAE grade 1–5; ``by_grade`` has ``grade, events``."""
    grades = by_grade["grade"].to_list()
    events = by_grade["events"].to_list()
    with figure(5.6, 3.4) as (fig, ax):
        bars = ax.bar(
            [f"grade {g}" for g in grades],
            events,
            color=[GRADE_COLOURS[(g - 1) % len(GRADE_COLOURS)] for g in grades],
        )
        ax.bar_label(bars, labels=[str(e) for e in events], padding=2)
        ax.set_ylim(0, max([*events, 1]) * 1.2)
        ax.set_xlabel("CTCAE grade (v5.0)")
        ax.set_ylabel("adverse events (count)")
        ax.set_title(titled("Adverse events by CTCAE grade", note))
        return svg_text(fig)
