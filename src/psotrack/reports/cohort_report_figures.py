"""The cohort report's own charts as SVG text: PASI spaghetti, Kaplan–Meier with numbers at
risk, and the forest-style plot of the published studies beside the cohort.

Drawn as the dashboard's charts are (:mod:`psotrack.reports.cohort_figures`: Agg, the Okabe–Ito
palette, text kept as text, fixed ids, no date), sized for an A4 page at print size. A chart
aggregates: a 1 000-patient cohort draws one faint line per patient under the median and its
interquartile band, never a label per patient. Every number drawn comes from the report's data
(:class:`~psotrack.services.cohort_report.CohortReport`); nothing is computed here except the
positions of the marks.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from psotrack.reports.cohort_figures import THRESHOLD_LINES, figure, svg_text, titled
from psotrack.reports.figures import OKABE_ITO
from psotrack.stats import KaplanMeier

STUDY_DAY: Final = "study day (days since the first administration)"
#: Days between ticks of the survival charts, and so between numbers at risk: four weeks.
TICK_DAYS: Final = 28


def spaghetti_svg(change: pl.DataFrame, median: pl.DataFrame, *, note: str = "") -> str:
    """One faint line per patient (``patient_id, day, pchg``) and the median % change with its
    interquartile band per visit (``day, median, q1, q3``); dashed lines at PASI 50/75/90."""
    from matplotlib.collections import LineCollection

    with figure(6.8, 3.8) as (fig, ax):
        lines = [
            list(zip(group["day"].to_list(), group["pchg"].to_list(), strict=True))
            for _, group in change.sort("patient_id", "day").group_by(
                "patient_id", maintain_order=True
            )
        ]
        # Fainter lines the more patients there are, so a large cohort reads as a density.
        alpha = max(0.04, min(0.6, 12 / max(len(lines), 1)))
        ax.add_collection(
            LineCollection(lines, colors=OKABE_ITO["sky"], linewidths=0.7, alpha=alpha)
        )
        if median.height:
            days = [0, *median["day"].to_list()]
            ax.fill_between(
                days,
                [0.0, *median["q1"].to_list()],
                [0.0, *median["q3"].to_list()],
                color=OKABE_ITO["blue"],
                alpha=0.18,
                label="interquartile range",
            )
            ax.plot(
                days,
                [0.0, *median["median"].to_list()],
                color=OKABE_ITO["blue"],
                linewidth=2.2,
                marker="o",
                label="median",
            )
        for threshold in THRESHOLD_LINES:
            ax.axhline(-threshold, color=OKABE_ITO["black"], linestyle="--", linewidth=0.7)
            ax.annotate(
                f"PASI {threshold}",
                (1, -threshold),
                xycoords=("axes fraction", "data"),
                xytext=(2, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        values = change["pchg"].to_list()
        ax.set_ylim(min([*values, -100.0]) - 5, max([*values, 20.0]) + 5)
        ax.set_xlim(0, max([*change["day"].to_list(), TICK_DAYS]) * 1.02)
        ax.set_xlabel(STUDY_DAY)
        ax.set_ylabel("change of PASI from baseline (%)")
        ax.set_title(titled(f"PASI % change per patient (n = {len(lines)}) and median", note))
        ax.grid(axis="y", color="#dddddd")
        if median.height:
            ax.legend(loc="upper right", frameon=False, fontsize=8)
        return svg_text(fig)


def km_svg(km: KaplanMeier, title: str, ylabel: str, *, note: str = "") -> str:
    """A Kaplan–Meier step curve with its pointwise 95 % band and the numbers at risk every
    four weeks under the axis; cumulative incidence (1 − S) for time to response."""
    curve = km.curve()
    table = curve.table
    incidence = km.cumulative_incidence
    value, low, high = (
        ("incidence", "incidence_low", "incidence_high")
        if incidence
        else ("survival", "ci_low", "ci_high")
    )
    times = [0.0, *table["time"].to_list()]
    start = 0.0 if incidence else 1.0

    def steps(name: str) -> list[float]:
        return [start * 100, *[(v if v is not None else start) * 100 for v in table[name]]]

    last = max(times) if times else 0.0
    ticks = list(range(0, int(last) + TICK_DAYS, TICK_DAYS))
    with figure(6.8, 4.2) as (fig, ax):
        fig.get_layout_engine().set(h_pad=0.02)
        ax.step(
            times,
            steps(value),
            where="post",
            color=OKABE_ITO["blue"],
            linewidth=1.8,
            label="Kaplan–Meier estimate",
        )
        ax.fill_between(
            times,
            steps(low),
            steps(high),
            step="post",
            color=OKABE_ITO["sky"],
            alpha=0.3,
            label="95 % pointwise band",
        )
        censored = table.filter(pl.col("censored") > 0)
        if censored.height:
            at = [
                curve.survival_at(t) if not incidence else 1 - curve.survival_at(t)
                for t in censored["time"].to_list()
            ]
            ax.plot(
                censored["time"].to_list(),
                [a * 100 for a in at],
                linestyle="none",
                marker="|",
                markersize=8,
                color=OKABE_ITO["black"],
                label="censored",
            )
        ax.set_ylim(0, 100)
        ax.set_xlim(0, ticks[-1])
        ax.set_xticks(ticks)
        ax.set_xlabel(STUDY_DAY if incidence else "days since the stop of therapy")
        ax.set_ylabel(ylabel)
        ax.set_title(titled(title, note))
        ax.grid(color="#dddddd")
        ax.legend(loc="lower right" if incidence else "lower left", frameon=False, fontsize=8)
        # The numbers at risk, one under each tick (text in axes coordinates below the axis).
        ax.annotate(
            "at risk",
            (0, 0),
            xycoords="axes fraction",
            xytext=(-16, -44),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            fontweight="bold",
        )
        for tick in ticks:
            ax.annotate(
                str(curve.at_risk_at(tick)),
                (tick, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, -44),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        return svg_text(fig)


def forest_svg(rows: pl.DataFrame, *, note: str = "") -> str:
    """Each published rate and this cohort's on the same endpoint (``endpoint, source, label,
    time_point, responders, n, rate, ci_low, ci_high``) as a point with its exact interval."""
    shown = rows.filter(pl.col("rate").is_not_null())
    height = 1.2 + 0.42 * max(shown.height, 1)
    with figure(6.8, height) as (fig, ax):
        labels = []
        for position, row in enumerate(shown.iter_rows(named=True)):
            y = shown.height - position
            cohort = row["source"] == "cohort"
            colour = OKABE_ITO["vermillion"] if cohort else OKABE_ITO["blue"]
            rate = row["rate"] * 100
            if row["ci_low"] is not None and row["ci_high"] is not None:
                ax.plot(
                    [row["ci_low"] * 100, row["ci_high"] * 100], [y, y], color=colour, linewidth=1.6
                )
            ax.plot(
                [rate],
                [y],
                marker="s" if cohort else "o",
                color=colour,
                markersize=7,
                linestyle="none",
            )
            ax.annotate(
                f"{row['responders']}/{row['n']}",
                (100, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
            # The study's short name only: its design and product are in the table below.
            labels.append((y, f"{row['endpoint']}: {row['label'].split(' (')[0]}"))
        if labels:
            ax.set_yticks([y for y, _ in labels], [text for _, text in labels], fontsize=8)
        else:
            ax.set_yticks([])
            ax.text(50, 0.5, "no published row to show", ha="center")
        ax.set_ylim(0.4, max(shown.height, 1) + 0.6)
        ax.set_xlim(0, 100)
        ax.set_xlabel("responders (% of patients, exact 95 % interval)")
        ax.set_title(titled("Published MSC studies and this cohort", note))
        ax.grid(axis="x", color="#dddddd")
        from matplotlib.lines import Line2D

        legend = [
            Line2D([], [], color=OKABE_ITO["blue"], marker="o", label="published study"),
            Line2D([], [], color=OKABE_ITO["vermillion"], marker="s", label="this cohort"),
        ]
        fig.legend(handles=legend, loc="outside lower center", ncol=2, frameon=False, fontsize=8)
        return svg_text(fig)


#: The flow's steps drawn beside the main column (people who left it) and under it (where the
#: enrolled patients stand now).
_SIDE: Final = {"Not enrolled": "Screened"}
_OUTCOMES: Final = ("Completed", "Withdrawn", "Ongoing")


def flow_svg(flow: pl.DataFrame, *, note: str = "") -> str:
    """A CONSORT-style diagram of ``flow`` (``step, patients, note``): screened → enrolled →
    treated → followed to each visit, those not enrolled beside, the outcomes underneath."""
    counts = dict(flow.select("step", "patients").rows())
    main = [s for s in counts if s not in _SIDE and s not in _OUTCOMES]
    rows = len(main) + 1
    with figure(6.8, 0.55 * rows + 0.7) as (fig, ax):
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, rows - 0.4)

        def box(x: float, y: float, label: str, width: float = 0.34) -> None:
            ax.text(
                x,
                y,
                f"{label}: {counts.get(label, 0)}",
                ha="center",
                va="center",
                fontsize=9,
                bbox={
                    "boxstyle": "round,pad=0.35",
                    "facecolor": "#eef1f4",
                    "edgecolor": OKABE_ITO["blue"],
                    "linewidth": 1.0,
                },
            )

        arrow = {"arrowstyle": "-|>", "color": OKABE_ITO["black"], "linewidth": 0.8}
        for position, step in enumerate(main):
            y = rows - 1 - position
            box(0.35, y, step)
            if position:
                ax.annotate("", (0.35, y + 0.25), (0.35, y + 0.75), arrowprops=arrow)
            for side, after in _SIDE.items():
                if after == step:
                    box(0.8, y - 0.5, side)
                    ax.annotate("", (0.68, y - 0.5), (0.35, y - 0.5), arrowprops=arrow)
        for number, outcome in enumerate(_OUTCOMES):
            box(0.17 + 0.33 * number, 0, outcome)
        ax.set_title(titled("Enrolment and retention (patients)", note))
        return svg_text(fig)
