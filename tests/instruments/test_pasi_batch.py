"""Vectorised PASI: identical to the scalar path row by row, and every bad row reported."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from psotrack.errors import ValidationError
from psotrack.instruments.pasi import REGIONS, PasiInput, RegionScore, area_score, pasi
from psotrack.instruments.pasi_batch import (
    ITEMS,
    SCORE_COLUMNS,
    area_scores_from_percent,
    pasi_batch,
    pasi_frame,
)


def scalar_totals(columns: dict[str, np.ndarray]) -> list[str]:
    n = len(next(iter(columns.values())))
    out = []
    for row in range(n):
        parts = {}
        for region in REGIONS:
            values = [int(columns[f"{region}_{item}"][row]) for item in ITEMS[:3]]
            if f"{region}_area" in columns:
                parts[region] = RegionScore(*values, int(columns[f"{region}_area"][row]))
            else:
                pct = float(columns[f"{region}_area_pct"][row])
                parts[region] = RegionScore.from_percent(*values, pct)
        out.append(str(pasi(PasiInput(**parts)).total))
    return out


@st.composite
def batches(draw):
    n = draw(st.integers(1, 40))
    columns = {}
    for region in REGIONS:
        for item in ITEMS[:3]:
            columns[f"{region}_{item}"] = draw(hnp.arrays(np.int8, n, elements=st.integers(0, 4)))
        if draw(st.booleans()):
            columns[f"{region}_area"] = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 6)))
        else:
            pct = st.floats(0, 100, allow_nan=False) | st.sampled_from([10.0, 30.0, 90.0, 0.0])
            columns[f"{region}_area_pct"] = draw(hnp.arrays(np.float64, n, elements=pct))
    return columns


@given(batches())
def test_batch_equals_scalar_row_by_row(columns):
    assert pasi_batch(columns).totals_text() == scalar_totals(columns)


@given(hnp.arrays(np.float64, 50, elements=st.floats(0, 100, allow_nan=False)))
def test_vectorised_area_bands_equal_the_scalar_bands(percent):
    assert area_scores_from_percent(percent).tolist() == [area_score(p) for p in percent.tolist()]


def test_area_bands_at_every_edge():
    edges = [0, 1e-9, 9.999, 10, 29.999, 30, 49.999, 50, 69.999, 70, 89.999, 90, 100]
    assert area_scores_from_percent(edges).tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


def valid_columns(n: int, value: int = 1) -> dict[str, np.ndarray]:
    return {name: np.full(n, value, dtype=np.int8) for name in SCORE_COLUMNS}


def test_region_parts_and_totals():
    # Every item 1: each region w·3·1 → 0.3, 0.6, 0.9, 1.2; total 3.0
    batch = pasi_batch(valid_columns(2))
    assert batch.totals_text() == ["3.0", "3.0"]
    assert {r: int(batch.region_tenths[r][0]) for r in REGIONS} == {
        "head": 3,
        "upper_limbs": 6,
        "trunk": 9,
        "lower_limbs": 12,
    }
    assert len(batch) == 2


def test_maximum_total_fits_without_overflow():
    columns = {n: np.full(3, 6 if n.endswith("area") else 4, np.int8) for n in SCORE_COLUMNS}
    assert pasi_batch(columns).totals_text() == ["72.0"] * 3


def test_every_invalid_row_and_field_is_reported():
    columns = valid_columns(5)
    columns["trunk_area"] = np.array([1, 7, 1, -1, 9], dtype=np.int16)
    columns["head_erythema"] = np.array([1, 1, 1, 5, 1], dtype=np.int64)
    with pytest.raises(ValidationError) as info:
        pasi_batch(columns)
    assert [str(p) for p in info.value.problems] == [
        "row 2: trunk_area=7 is outside 0–6 (an area score)",
        "row 4: head_erythema=5 is outside 0–4 (a grade of erythema)",
        "row 4: trunk_area=-1 is outside 0–6 (an area score)",
        "row 5: trunk_area=9 is outside 0–6 (an area score)",
    ]


def test_a_bad_row_beside_rows_at_the_edges_names_only_the_bad_row():
    # The edges are valid: grade 0 and 4, area score 0 and 6, 0 % and 100 %. A bad row in the same
    # column sends the whole column through the row-by-row check, which must still pass them.
    columns = valid_columns(3)
    columns["head_erythema"] = np.array([4, 5, 0], dtype=np.int8)
    columns["trunk_area"] = np.array([0, 6, 7], dtype=np.int8)
    columns["upper_limbs_desquamation"] = np.array([-1, 0, 4], dtype=np.int8)
    del columns["head_area"]
    columns["head_area_pct"] = np.array([100.0, 0.0, 100.5])
    del columns["lower_limbs_area"]
    columns["lower_limbs_area_pct"] = np.array([0.0, -0.5, 100.0])
    with pytest.raises(ValidationError) as info:
        pasi_batch(columns)
    assert [str(p) for p in info.value.problems] == [
        "row 1: upper_limbs_desquamation=-1 is outside 0–4 (a grade of desquamation)",
        "row 2: head_erythema=5 is outside 0–4 (a grade of erythema)",
        "row 2: lower_limbs_area_pct=-0.5 is outside 0–100 (a percentage of the region)",
        "row 3: head_area_pct=100.5 is outside 0–100 (a percentage of the region)",
        "row 3: trunk_area=7 is outside 0–6 (an area score)",
    ]


@pytest.mark.parametrize(
    "column",
    [np.array([1.0, 2.0]), np.array([True, False]), np.array(["1", "2"]), np.array([1, 2], "O")],
)
def test_non_integer_columns_are_refused_not_coerced(column):
    columns = valid_columns(2)
    columns["trunk_erythema"] = column
    with pytest.raises(ValidationError) as info:
        pasi_batch(columns)
    (problem,) = info.value.problems
    assert problem.field == "trunk_erythema"
    assert problem.kind == "type"


def test_bad_percentages_are_reported_per_row():
    columns = valid_columns(4)
    del columns["head_area"]
    columns["head_area_pct"] = np.array([5.0, np.nan, 100.5, -1.0])
    with pytest.raises(ValidationError) as info:
        pasi_batch(columns)
    assert [(p.row, p.kind) for p in info.value.problems] == [
        (2, "type"),
        (3, "range"),
        (4, "range"),
    ]


def test_missing_and_mismatched_columns():
    columns = valid_columns(3)
    del columns["lower_limbs_area"]
    del columns["head_induration"]
    columns["trunk_erythema"] = np.ones(4, np.int8)
    with pytest.raises(ValidationError) as info:
        pasi_batch(columns)
    text = str(info.value)
    assert "head_induration is missing" in text
    assert "lower_limbs_area is missing" in text and "lower_limbs_area_pct" in text
    assert "columns of one common length" in text


def test_empty_batch():
    assert pasi_batch({n: np.array([], np.int8) for n in SCORE_COLUMNS}).totals_text() == []


def test_polars_frame_gets_an_exact_decimal_column_and_keeps_the_rest():
    frame = pl.DataFrame({"id": ["a", "b"], **{n: [1, 2] for n in SCORE_COLUMNS}})
    out = pasi_frame(frame)
    assert out.columns == ["id", *SCORE_COLUMNS, "pasi"]
    assert out["pasi"].dtype == pl.Decimal(3, 1)
    assert [str(v) for v in out["pasi"].to_list()] == ["3.0", "12.0"]
    assert out["id"].to_list() == ["a", "b"]
