"""Where the improvement is: PASI by body region and sign, baseline beside latest, as a heat grid.

One row per PASI region (Fredriksson 1978: head and neck, upper limbs, trunk, lower limbs), one
column per item — erythema, thickness (induration), scaling (desquamation), each graded 0–4, and
the area score 0–6 — for the baseline form, then the latest. Each cell is shaded by its grade as
a share of the item's maximum (cividis, a colour map made for colour-vision deficiencies) and
carries the grade as text, so nothing is read from colour alone. A region with no items (an
unreadable form, or no form) is left blank and says "—".
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from psotrack.instruments.pasi import AREA_MAX, SIGN_MAX
from psotrack.reports.figures import drawing, svg_text

#: The regions as the grid's rows name them (the table beside it gives the full names).
SHORT_NAMES: Final = {
    "head": "Head, neck",
    "upper_limbs": "Upper limbs",
    "trunk": "Trunk",
    "lower_limbs": "Lower limbs",
}
#: The grid's item columns: the region-table column, its heading and its maximum.
ITEMS: Final = (
    ("erythema", "Erythema", SIGN_MAX),
    ("induration", "Thickness", SIGN_MAX),
    ("desquamation", "Scaling", SIGN_MAX),
    ("area", "Area", AREA_MAX),
)


def pasi_grid(regions: pl.DataFrame, *, baseline_label: str, latest_label: str) -> str:
    """The heat grid of :meth:`~psotrack.services.patient_report.PatientReport.region_rows`.

    ``baseline_label`` / ``latest_label`` head the two halves (e.g. "Baseline (day −7)").
    """
    names = [SHORT_NAMES[region] for region in regions["region"].to_list()]
    values = np.full((len(names), 2 * len(ITEMS)), np.nan)
    for half, prefix in enumerate(("base_", "latest_")):
        for i, (column, _, maximum) in enumerate(ITEMS):
            grades = regions[f"{prefix}{column}"].to_list()
            for row, grade in enumerate(grades):
                if grade is not None:
                    values[row, half * len(ITEMS) + i] = grade / maximum
    with drawing():
        figure = Figure(figsize=(6.4, 2.6))
        figure.subplots_adjust(left=0.15, right=0.99, top=0.7, bottom=0.04)
        ax = figure.add_subplot()
        ax.imshow(values, cmap="cividis_r", vmin=0, vmax=1, aspect="auto")
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for half, prefix in enumerate(("base_", "latest_")):
            for i, (column, _, _) in enumerate(ITEMS):
                for row, grade in enumerate(regions[f"{prefix}{column}"].to_list()):
                    shade = values[row, half * len(ITEMS) + i]
                    colour = "white" if not np.isnan(shade) and shade >= 0.5 else "black"
                    text = "—" if grade is None else str(grade)
                    ax.text(
                        half * len(ITEMS) + i, row, text, ha="center", va="center", color=colour
                    )
        ax.set_yticks(range(len(names)), names)
        headings = [heading for _, heading, _ in ITEMS] * 2
        ax.set_xticks(range(len(headings)), headings, fontsize=7.5)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        ax.axvline(len(ITEMS) - 0.5, color="white", linewidth=4)
        for half, label in enumerate((baseline_label, latest_label)):
            ax.text(
                half * len(ITEMS) + (len(ITEMS) - 1) / 2,
                -1.05,
                label,
                ha="center",
                va="bottom",
                fontweight="bold",
            )
        ax.set_title("PASI items by body region (grade 0–4; area score 0–6)", pad=34)
        return svg_text(figure)
