"""The cohort report's own charts: titles, axis labels with units, the palette, same bytes."""

from __future__ import annotations

import re

import polars as pl

from psotrack.reports.cohort_report_figures import flow_svg, forest_svg, km_svg, spaghetti_svg
from psotrack.reports.figures import OKABE_ITO
from psotrack.stats import time_to_response

CHANGE = pl.DataFrame(
    {"patient_id": ["a", "a", "b", "b"], "day": [0, 28, 0, 28], "pchg": [0.0, -80.0, 0.0, -20.0]}
)
MEDIAN = pl.DataFrame({"day": [28], "median": [-50.0], "q1": [-65.0], "q3": [-35.0], "n": [2]})
#: Greys, black and white may appear besides the Okabe–Ito colours (grids, text, boxes).
NEUTRAL = {"#000000", "#ffffff", "#dddddd", "#d5dae0", "#999999", "#eef1f4", "#cccccc"}


def colours(svg: str) -> set[str]:
    return {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", svg)}


def palette_only(svg: str) -> bool:
    allowed = {c.lower() for c in OKABE_ITO.values()} | NEUTRAL
    return colours(svg) <= allowed


def test_spaghetti_names_its_axes_and_draws_the_same_bytes():
    svg = spaghetti_svg(CHANGE, MEDIAN, note="SYNTHETIC DATA")
    assert "PASI % change per patient (n = 2) and median — SYNTHETIC DATA" in svg
    assert "change of PASI from baseline (%)" in svg and "study day (days since" in svg
    assert svg == spaghetti_svg(CHANGE, MEDIAN, note="SYNTHETIC DATA")
    assert palette_only(svg), colours(svg)


def test_km_prints_the_numbers_at_risk_under_the_axis():
    # a responds on day 28; b is censored on day 56: at risk 2 on day 0 and day 28, 1 on day 56.
    events = pl.DataFrame({"time": [28, 56], "event": [1, 0]})
    svg = km_svg(time_to_response(events), "Time to PASI 75", "reached PASI 75 (%)")
    assert "Time to PASI 75" in svg and "reached PASI 75 (%)" in svg and "at risk" in svg
    after = svg[svg.index(">at risk</text>") :]
    assert re.findall(r">(\d+)</text>", after)[:3] == ["2", "2", "1"]
    assert palette_only(svg), colours(svg)


def test_forest_and_flow_have_titles():
    rows = pl.DataFrame(
        {
            "endpoint": ["PASI50", "PASI50"],
            "source": ["published", "cohort"],
            "label": ["study2021 (UC-MSC, pilot)", "this cohort"],
            "time_point": ["1 year", "last visit, day 84"],
            "responders": [2, 1],
            "n": [7, 3],
            "rate": [2 / 7, 1 / 3],
            "ci_low": [0.04, 0.01],
            "ci_high": [0.71, 0.91],
        }
    )
    forest = forest_svg(rows)
    assert "Published MSC studies and this cohort" in forest and "PASI50: study2021" in forest
    assert "responders (% of patients, exact 95 % interval)" in forest
    flow = pl.DataFrame(
        {"step": ["Screened", "Enrolled", "Withdrawn"], "patients": [4, 3, 1], "note": [""] * 3}
    )
    svg = flow_svg(flow)
    assert "Screened: 4" in svg and "Withdrawn: 1" in svg and "Not enrolled: 0" in svg
