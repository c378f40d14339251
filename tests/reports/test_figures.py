"""The patient charts: valid SVG with title, axis labels and legend, lines where the numbers say.

The y axis of every chart starts at 0, so a value's height above the x axis (in SVG units) is
proportional to the value: a line drawn at half the baseline stands at half the height of the
baseline point. The tests read heights from the paths of the artists' ids and compare ratios
with hand-computed ones, whatever the axis' top.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import polars as pl
import pytest

from psotrack.reports import figures
from psotrack.reports.figures import (
    OKABE_ITO,
    STUDY_DAY,
    course_chart,
    lab_chart,
    pasi_lines,
    score_chart,
)

SVG = "{http://www.w3.org/2000/svg}"
POINT = re.compile(r"[ML] (-?[\d.]+) (-?[\d.]+)")


def texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def points(svg: str, gid: str) -> list[tuple[float, float]]:
    """The (x, y) vertices of the first path drawn by the artist with id ``gid``.

    A filled band is written once in ``<defs>`` and placed by a ``<use>`` with an offset.
    """
    group = ET.fromstring(svg).find(f".//{SVG}g[@id='{gid}']")
    assert group is not None, f"no artist {gid}"
    path, dx, dy = group.find(f"{SVG}path"), 0.0, 0.0
    if path is None:
        path = group.find(f"{SVG}defs/{SVG}path")
        placed = next(group.iter(f"{SVG}use"))
        dx, dy = float(placed.get("x", 0)), float(placed.get("y", 0))
    assert path is not None
    return [(float(x) + dx, float(y) + dy) for x, y in POINT.findall(path.attrib["d"])]


def has(svg: str, gid: str) -> bool:
    return ET.fromstring(svg).find(f".//{SVG}g[@id='{gid}']") is not None


def height(svg: str, y: float) -> float:
    """Height of an SVG y coordinate above the x axis (the bottom of the plotting area)."""
    bottom = max(py for _, py in points(svg, "axes"))
    return bottom - y


def scores(days: list[int], pasi: list[str | None], column: str = "pasi") -> pl.DataFrame:
    return pl.DataFrame({"day": days, column: pasi}, schema={"day": pl.Int64, column: pl.String})


def test_pasi_lines_are_50_25_and_10_percent_of_baseline():
    assert pasi_lines(20.0) == {50: 10.0, 75: 5.0, 90: 2.0}
    # 7.6 × 0.5 = 3.8, × 0.25 = 1.9, × 0.1 = 0.76 (exact in decimals, no float residue).
    assert pasi_lines(7.6) == {50: 3.8, 75: 1.9, 90: 0.76}


def test_pasi_chart_draws_the_response_lines_at_10_5_and_2_for_a_baseline_of_20():
    svg = score_chart(scores([0, 28], ["20.0", "12.0"]), "pasi", baseline_pasi=20.0)
    (_, base_y), (_, later_y) = points(svg, "measured")[:2]
    baseline = height(svg, base_y)
    assert height(svg, later_y) / baseline == pytest.approx(12 / 20, abs=1e-4)
    for gid, value in (("pasi50", 10.0), ("pasi75", 5.0), ("pasi90", 2.0)):
        (_, y0), (_, y1) = points(svg, gid)
        assert y0 == y1  # horizontal
        assert height(svg, y0) / baseline == pytest.approx(value / 20, abs=1e-4), gid
    words = texts(svg)
    assert "PASI over study days" in words
    assert STUDY_DAY in words and "PASI (points, 0–72)" in words
    assert "PASI 50: 10.0 (50 % of baseline 20.0)" in words
    assert "PASI 90: 2.0 (10 % of baseline 20.0)" in words


def test_no_response_lines_without_a_positive_baseline_or_on_other_scores():
    frame = scores([0, 28], ["20.0", "12.0"])
    for svg in (
        score_chart(frame, "pasi"),
        score_chart(frame, "pasi", baseline_pasi=0.0),
        score_chart(frame.rename({"pasi": "bsa"}), "bsa", baseline_pasi=20.0),
    ):
        assert not has(svg, "pasi75")


def test_each_score_has_its_title_and_unit_and_empty_scores_say_so():
    itch = score_chart(scores([0, 28], ["7", None], "itch"), "itch")
    assert "Itch over study days" in texts(itch)
    assert "Itch NRS (points, 0–10)" in texts(itch)
    assert len(points(itch, "measured")) == 1  # the missing visit is not drawn as a zero
    empty = score_chart(scores([], [], "dlqi"), "dlqi")
    assert "no DLQI recorded yet" in texts(empty)
    assert "DLQI (points, 0–30)" in texts(empty)


def test_the_same_input_gives_the_same_bytes_without_a_date():
    frame = scores([0, 28, 56], ["20.0", "12.0", "6.5"])
    first = score_chart(frame, "pasi", baseline_pasi=20.0)
    figures._KEPT.clear()  # draw it again, not the kept copy
    assert first == score_chart(frame, "pasi", baseline_pasi=20.0)
    assert len(figures._KEPT) == 1
    assert "<dc:date>" not in first
    ET.fromstring(first)  # well-formed XML


def test_the_measured_series_uses_the_okabe_ito_blue():
    svg = score_chart(scores([0], ["20.0"]), "pasi", baseline_pasi=20.0)
    group = ET.fromstring(svg).find(f".//{SVG}g[@id='measured']")
    assert group is not None
    assert f"stroke: {OKABE_ITO['blue'].lower()}" in ET.tostring(group, encoding="unicode")


def labs(values: list[float], low: list[float | None], high: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "day": [0, 84, 168][: len(values)],
            "value": values,
            "reference_low": low,
            "reference_high": high,
        },
        schema={
            "day": pl.Int64,
            "value": pl.Float64,
            "reference_low": pl.Float64,
            "reference_high": pl.Float64,
        },
    )


def test_lab_chart_shades_the_recorded_reference_range():
    # Range 3–7 %, first value 4.0: the band spans 3/4 to 7/4 of that point's height.
    svg = lab_chart(labs([4.0, 5.2], [3.0, 3.0], [7.0, 7.0]), name="Treg (% of CD4⁺)", unit="%")
    point = height(svg, points(svg, "measured")[0][1])
    band = [height(svg, y) for _, y in points(svg, "reference-range")]
    assert min(band) / point == pytest.approx(3 / 4, abs=1e-4)
    assert max(band) / point == pytest.approx(7 / 4, abs=1e-4)
    words = texts(svg)
    assert "Treg (% of CD4⁺) over study days" in words
    assert "Treg (% of CD4⁺), %" in words and STUDY_DAY in words
    assert "reference range 3–7 %" in words


def test_lab_chart_invents_no_range():
    svg = lab_chart(labs([12.0, 8.0], [None, None], [None, None]), name="IL-17A", unit="pg/mL")
    assert not has(svg, "reference-range")
    assert has(svg, "measured")


def test_course_chart_draws_the_simulated_band_behind_the_measured_pasi_with_its_reading():
    measured = pl.DataFrame({"day": [0, 28], "pasi": [20.0, 60.0]})
    expected = pl.DataFrame(
        {
            "day": [0, 28, 56],
            "expected_p10": [14.0, 3.0, 1.0],
            "expected_median": [20.0, 8.0, 5.0],
            "expected_p90": [25.0, 14.0, 11.0],
        }
    )
    svg = course_chart(
        measured, expected, reading="Behind the expected course (simulated)", warning="odd one"
    )
    root = ET.fromstring(svg)
    order = [g.attrib.get("id") for g in root.iter(f"{SVG}g")]
    assert order.index("expected-band") < order.index("measured")  # drawn behind
    band = [height(svg, y) for _, y in points(svg, "expected-band")]
    baseline = height(svg, points(svg, "measured")[0][1])
    # The band runs from the lowest 10th percentile (1.0) to the highest 90th (25.0).
    assert min(band) / baseline == pytest.approx(1 / 20, abs=1e-3)
    assert max(band) / baseline == pytest.approx(25 / 20, abs=1e-3)
    words = " ".join(texts(svg))
    assert "simulated: expected course, 10th–90th percentile" in words
    assert "Behind the expected course (simulated)" in words
    assert "Warning: odd one" in words
    assert "Expected course (simulated) and measured PASI" in words


def test_course_chart_without_a_course_shows_the_reason_and_the_measured_pasi():
    measured = pl.DataFrame({"day": [0, 28], "pasi": [20.0, 12.0]})
    svg = course_chart(measured, None, reading="No expected course: no dose recorded yet.")
    assert not has(svg, "expected-band") and has(svg, "measured")
    assert "No expected course: no dose recorded yet." in texts(svg)
