"""One patient's charts, drawn with matplotlib and returned as SVG text (web pages, PDF reports).

Every function here is pure: plain values or polars frames in, SVG text out, and the same input
gives the same bytes (a fixed ``svg.hashsalt`` for the ids matplotlib writes, no date in the
metadata). Text stays text (``svg.fonttype = none``), so titles and labels can be searched and
read. Colours are the Okabe–Ito palette (Okabe M, Ito K. *Color Universal Design*, 2008), told
apart by the common colour-vision deficiencies; lines also differ by style, not by colour alone.

The artists a reader of the SVG (and the tests) look for carry ids: ``axes`` (the plotting area),
``measured``, ``pasi50`` / ``pasi75`` / ``pasi90``, ``day0``, ``reference-range``,
``expected-band`` and ``expected-median``.

matplotlib's settings are process-wide, so each figure is drawn under one lock: the web app
draws charts in a thread pool. As the output is a pure function of the input, the last
:data:`KEPT_CHARTS` charts are kept and served again without drawing.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import matplotlib as mpl
import polars as pl
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from psotrack.endpoints import DEFAULT_THRESHOLDS

#: Okabe–Ito colours by name (the stylesheet's ``--blue`` … use the same).
OKABE_ITO: Final = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
STUDY_DAY: Final = "Study day (day 0 = first cell-therapy administration)"
#: The same, short enough for a half-width chart.
SHORT_STUDY_DAY: Final = "Study day (0 = first administration)"
#: PASI response lines drawn on the PASI chart: PASI 50, 75 and 90 (PASI 100 is the zero line).
PASI_LINES: Final = tuple(t for t in DEFAULT_THRESHOLDS if t < 100)
_LINE_STYLE: Final = {50: ("orange", "--"), 75: ("green", "-."), 90: ("purple", ":")}
SIMULATED_LABEL: Final = "simulated"

_STYLE: Final[dict[RcKeyType, Any]] = {
    "svg.hashsalt": "psotrack",
    "svg.fonttype": "none",
    "text.parse_math": False,  # a "$" in a label is a dollar sign, not mathtext
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 11,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())[1:]),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#d5dae0",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
}
_DRAWING = threading.Lock()
#: Charts kept in memory, newest used last (about 12 kB each).
KEPT_CHARTS: Final = 512
_KEPT: OrderedDict[tuple[object, ...], str] = OrderedDict()
_KEPT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScoreAxis:
    """How one score is named and scaled on its chart."""

    name: str
    label: str
    maximum: float
    full_scale: bool


#: The scores of the long table (``services.timeline.SCORE_COLUMNS``) as charts.
SCORES: Final = {
    "pasi": ScoreAxis("PASI", "PASI (points, 0–72)", 72.0, full_scale=False),
    "bsa": ScoreAxis("BSA", "BSA (% of body surface)", 100.0, full_scale=False),
    "pga": ScoreAxis("PGA", "PGA (grade, 0–4 or 0–5)", 5.0, full_scale=True),
    "dlqi": ScoreAxis("DLQI", "DLQI (points, 0–30)", 30.0, full_scale=True),
    "itch": ScoreAxis("Itch", "Itch NRS (points, 0–10)", 10.0, full_scale=True),
}


def pasi_lines(baseline: float) -> dict[int, float]:
    """The PASI each response line is drawn at: PASI *T* is ``(100 − T) %`` of the baseline.

    Exact in decimals (a drawing aid; whether a visit is a response is the endpoint engine's
    integer rule on tenths, :mod:`psotrack.endpoints.response`).

    >>> pasi_lines(20.0)
    {50: 10.0, 75: 5.0, 90: 2.0}
    """
    base = Decimal(str(baseline))
    return {t: float(base * (100 - t) / 100) for t in PASI_LINES}


def _kept(key: tuple[object, ...], draw: Callable[[], str]) -> str:
    """The SVG drawn for ``key`` before, or ``draw()`` now (and kept: the output is a pure
    function of the key, and drawing takes tens of milliseconds, a page holds several charts)."""
    with _KEPT_LOCK:
        found = _KEPT.get(key)
        if found is not None:
            _KEPT.move_to_end(key)
            return found
    svg = draw()
    with _KEPT_LOCK:
        _KEPT[key] = svg
        while len(_KEPT) > KEPT_CHARTS:
            _KEPT.popitem(last=False)
    return svg


@contextmanager
def drawing() -> Iterator[None]:
    """Draw under psotrack's chart style, one figure at a time (matplotlib's settings are
    process-wide)."""
    with _DRAWING, mpl.rc_context(_STYLE):
        yield


def svg_text(figure: Figure) -> str:
    """The figure as SVG text, with no creation date (the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue().decode("utf-8")


def _points(frame: pl.DataFrame, column: str) -> tuple[list[int], list[float]]:
    """``(days, values)`` of the rows with a value, oldest first (text scores become numbers)."""
    rows = (
        frame.select(pl.col("day"), pl.col(column).cast(pl.Float64, strict=False).alias("value"))
        .drop_nulls()
        .sort("day")
    )
    return rows["day"].to_list(), rows["value"].to_list()


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded yet", transform=ax.transAxes, ha="center", va="center")


def _day0(ax: Axes) -> None:
    ax.axvline(0, color="#8a939c", linewidth=0.8, gid="day0")


#: Chart sizes in inches: ``wide`` fills a page's width (a web page's chart, the PASI chart of a
#: report); ``half`` is drawn for half a printed page's width, so that its text prints at the
#: same size as a wide chart's.
SIZES: Final = {"wide": (6.4, 4.0, 0.27), "half": (3.9, 3.1, 0.3)}


def _sized(size: str) -> tuple[Figure, Axes]:
    width, height, bottom = SIZES[size]
    figure, ax = _new(bottom, height, width)
    ax.set_xlabel(STUDY_DAY if size == "wide" else SHORT_STUDY_DAY)
    return figure, ax


def _new(bottom: float = 0.27, height: float = 4.0, width: float = 6.4) -> tuple[Figure, Axes]:
    # Fixed margins, not constrained layout: a chart is drawn per request, and working out the
    # layout took as long as drawing. The bottom margin holds the x label and the legend.
    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(left=0.65 / width, right=0.97, top=1 - 0.32 / height, bottom=bottom)
    ax = figure.add_subplot()
    ax.patch.set_gid("axes")
    return figure, ax


def _legend(figure: Figure, ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        figure.legend(loc="lower center", ncol=2)


def score_chart(
    scores: pl.DataFrame, score: str, *, baseline_pasi: float | None = None, size: str = "wide"
) -> str:
    """One score over study days (``scores``: ``day`` and the ``score`` column), as SVG.

    ``score`` is a key of :data:`SCORES`. On the PASI chart, a ``baseline_pasi`` above 0 (the
    endpoint engine's baseline) adds the PASI 50/75/90 lines at 50/25/10 % of it. The y axis
    starts at 0, so heights above the axis are proportional to the values.
    """
    axis = SCORES[score]
    days, values = _points(scores, score)
    key = ("score", score, tuple(days), tuple(values), baseline_pasi, size)
    return _kept(key, lambda: _score_chart(axis, score, days, values, baseline_pasi, size))


def _score_chart(
    axis: ScoreAxis,
    score: str,
    days: list[int],
    values: list[float],
    baseline_pasi: float | None,
    size: str,
) -> str:
    with drawing():
        figure, ax = _sized(size)
        ax.set_title(f"{axis.name} over study days")
        ax.set_ylabel(axis.label)
        _day0(ax)
        top = max([*values, 1.0])
        if days:
            ax.plot(
                days,
                values,
                marker="o",
                color=OKABE_ITO["blue"],
                label=f"measured {axis.name}",
                gid="measured",
            )
        else:
            _empty(ax, axis.name)
        if score == "pasi" and baseline_pasi is not None and baseline_pasi > 0:
            top = max(top, baseline_pasi)
            for threshold, value in pasi_lines(baseline_pasi).items():
                colour, style = _LINE_STYLE[threshold]
                ax.axhline(
                    value,
                    color=OKABE_ITO[colour],
                    linestyle=style,
                    linewidth=1.2,
                    label=(
                        f"PASI {threshold}: {value:.1f} "
                        f"({100 - threshold} % of baseline {baseline_pasi:.1f})"
                    ),
                    gid=f"pasi{threshold}",
                )
        ax.set_ylim(0, axis.maximum if axis.full_scale else min(axis.maximum, top * 1.15))
        _legend(figure, ax)
        return svg_text(figure)


def lab_chart(labs: pl.DataFrame, *, name: str, unit: str, size: str = "wide") -> str:
    """One lab analyte over study days, with its reference range shaded where one is recorded.

    ``labs``: ``day``, ``value``, ``reference_low``, ``reference_high`` (one unit, ``unit``).
    One range on every row that has one: a band across the chart; ranges that differ between
    samples: a band stepping from sample to sample. A range is never invented where none was
    recorded.
    """
    days, values = _points(labs, "value")
    ranges = labs.select("day", "reference_low", "reference_high").drop_nulls().sort("day")
    key = ("lab", name, unit, tuple(days), tuple(values), tuple(ranges.rows()), size)
    return _kept(key, lambda: _lab_chart(name, unit, days, values, ranges, size))


def _lab_chart(
    name: str, unit: str, days: list[int], values: list[float], ranges: pl.DataFrame, size: str
) -> str:
    with drawing():
        figure, ax = _sized(size)
        ax.set_title(f"{name} over study days")
        ax.set_ylabel(f"{name}, {unit}")
        _day0(ax)
        distinct = ranges.select("reference_low", "reference_high").unique()
        if distinct.height == 1:
            low, high = distinct.row(0)
            ax.axhspan(
                low,
                high,
                color=OKABE_ITO["green"],
                alpha=0.15,
                linewidth=0,
                label=f"reference range {low:g}–{high:g} {unit}",
                gid="reference-range",
            )
        elif distinct.height > 1:
            ax.fill_between(
                ranges["day"].to_list(),
                ranges["reference_low"].to_list(),
                ranges["reference_high"].to_list(),
                step="mid",
                color=OKABE_ITO["green"],
                alpha=0.15,
                linewidth=0,
                label="reference range (as recorded with each sample)",
                gid="reference-range",
            )
        if days:
            ax.plot(days, values, marker="o", color=OKABE_ITO["blue"], label=name, gid="measured")
        else:
            _empty(ax, name)
        ax.set_ylim(bottom=0)
        _legend(figure, ax)
        return svg_text(figure)


def course_chart(
    measured: pl.DataFrame,
    expected: pl.DataFrame | None,
    *,
    reading: str,
    warning: str | None = None,
) -> str:
    """The expected course (simulated) as a band behind the measured PASI, with its reading.

    ``measured``: ``day``, ``pasi``; ``expected``: ``day``, ``expected_p10``,
    ``expected_median``, ``expected_p90`` (from :class:`psotrack.model.forecast.Forecast`), or
    ``None`` when there is no expected course (``reading`` then says why).
    ``reading`` ("on the expected course …") and the model's ``warning``, when it cannot
    explain the patient, are written under the chart.
    """
    days, values = _points(measured, "pasi")
    band = (expected if expected is not None else _NO_COURSE).select(_NO_COURSE.columns).sort("day")
    key = ("course", tuple(days), tuple(values), tuple(band.rows()), reading, warning)
    return _kept(key, lambda: _course_chart(days, values, band, reading, warning))


def _course_chart(
    days: list[int], values: list[float], band: pl.DataFrame, reading: str, warning: str | None
) -> str:
    with drawing():
        figure, ax = _new(bottom=0.38, height=4.8)
        ax.set_title("Expected course (simulated) and measured PASI")
        ax.set_xlabel(STUDY_DAY)
        ax.set_ylabel("PASI (points, 0–72)")
        _day0(ax)
        if band.height:
            _band(ax, band)
        if days:
            ax.plot(
                days,
                values,
                marker="o",
                color=OKABE_ITO["black"],
                label="measured PASI",
                gid="measured",
            )
        else:
            _empty(ax, "PASI")
        ax.set_ylim(0, min(72.0, max([*values, *band["expected_p90"].to_list(), 1.0]) * 1.15))
        ax.legend(loc="upper right")
        said = figure.text(0.02, 0.24, textwrap.fill(reading, 92), va="top", gid="reading")
        if warning:
            ax.annotate(
                textwrap.fill(f"Warning: {warning}", 92),
                xy=(0, 0),
                xycoords=said,
                xytext=(0, -4),
                textcoords="offset points",
                va="top",
                color=OKABE_ITO["vermillion"],
                annotation_clip=False,
                gid="warning",
            )
        return svg_text(figure)


_NO_COURSE: Final = pl.DataFrame(
    schema={
        "day": pl.Int64,
        "expected_p10": pl.Float64,
        "expected_median": pl.Float64,
        "expected_p90": pl.Float64,
    }
)


def _band(ax: Axes, band: pl.DataFrame) -> None:
    days = band["day"].to_list()
    ax.fill_between(
        days,
        band["expected_p10"].to_list(),
        band["expected_p90"].to_list(),
        color=OKABE_ITO["sky"],
        alpha=0.35,
        linewidth=0,
        label=f"{SIMULATED_LABEL}: expected course, 10th–90th percentile",
        gid="expected-band",
    )
    ax.plot(
        days,
        band["expected_median"].to_list(),
        color=OKABE_ITO["blue"],
        linestyle="--",
        linewidth=1,
        label=f"{SIMULATED_LABEL}: median",
        gid="expected-median",
    )
