"""The one-pass reading of a clean assessment table (``_clean_typed``) is the column-by-column
reading (``_typed``) exactly, and it declines every table that reading refuses, so that the
refusal lines are still told cell by cell."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from psotrack.endpoints._validate import _clean_typed, _typed
from psotrack.errors import ValidationError

ROWS = 4
#: Each numeric column's good and bad values, at the edges its checks draw: the ranges (PASI
#: 0–72 in tenths, PGA 0–5, DLQI 0–30, itch 0–10, BSA 0–100, days ±36 500) and whole numbers.
VALUES: dict[str, tuple[list[float], list[float]]] = {
    "day": ([0, 28, -1, 36_500, -36_500], [36_501, -36_501, 28.5]),
    "pasi": ([0, 7.6, 0.1 + 0.2, 72], [72.1, -0.1, 10.05]),
    "pga": ([0, 3, 5], [6, -1, 2.5]),
    "dlqi": ([0, 12, 30], [31, 0.5]),
    "itch": ([0, 7, 10], [11]),
    "bsa": ([0, 12.5, 100], [100.5, -1]),
}
#: Text cells good or bad in any numeric column: missing, padding, and the number grammar.
TEXT_GOOD: list[object] = ["", "NA", None]
TEXT_BAD: list[object] = ["N/A", "1e1", "٣", "nan", "7,6", "+-1"]
LABELS: tuple[list[object], list[object]] = (
    ["P1", "P2", "W0", "W4", "A"],
    [" P1", "W0 ", "", None],
)
DTYPES = {"text": pl.String, "float": pl.Float64, "int": pl.Int64, "label": pl.String}


def _as(kind: str, values: list[float]) -> list[object]:
    if kind == "text":
        return [f" {v}" if i == 1 else str(v) for i, v in enumerate(values)]
    if kind == "int":
        return [int(v) for v in values if float(v).is_integer()]
    return [float(v) for v in values]


def _cells(name: str, kind: str) -> tuple[list[object], list[object]]:
    """The good and the bad cells of a column of that kind."""
    if kind == "label":
        return LABELS
    good, bad = (_as(kind, values) for values in VALUES[name])
    if name == "day":  # a day is required on every row
        return good, [*bad, None, *(["", "NA"] if kind == "text" else [])]
    if kind == "text":
        return good + TEXT_GOOD, bad + TEXT_BAD
    missing: list[object] = [None]
    return good + missing, bad + ([float("nan"), float("inf")] if kind == "float" else [])


@st.composite
def tables(draw: st.DrawFn) -> pl.DataFrame:
    """A table of good cells with, half the time, one cell drawn from the bad ones."""
    kinds = {"patient_id": "label", "visit": "label"}
    kinds["day"] = draw(st.sampled_from(["int", "int", "float", "text"]))
    kinds["pasi"] = draw(st.sampled_from(["text", "float", "int"]))
    if draw(st.booleans()):
        kinds["arm"] = "label"
    for name in ("pga", "bsa", "dlqi", "itch"):
        if draw(st.booleans()):
            kinds[name] = draw(st.sampled_from(["text", "float", "int"]))
    cells = {
        name: draw(st.lists(st.sampled_from(_cells(name, kind)[0]), min_size=ROWS, max_size=ROWS))
        for name, kind in kinds.items()
    }
    if draw(st.booleans()):
        name = draw(st.sampled_from(sorted(kinds)))
        bad = _cells(name, kinds[name])[1]
        if bad:
            cells[name][draw(st.integers(0, ROWS - 1))] = draw(st.sampled_from(bad))
    return pl.DataFrame(
        {name: pl.Series(name, cells[name], dtype=DTYPES[kind]) for name, kind in kinds.items()}
    )


def _either(frame: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    try:
        slow = _typed(frame)
    except ValidationError:
        slow = None
    return _clean_typed(frame), slow


@settings(max_examples=200, deadline=None)
@given(tables())
def test_one_pass_reads_as_the_column_checks_do(frame: pl.DataFrame) -> None:
    fast, slow = _either(frame)
    if slow is None:
        assert fast is None  # refused: the column checks name the cells
    elif fast is not None:
        assert_frame_equal(fast, slow)


def _one_cell_cases() -> list[tuple[str, str, object, bool]]:
    """Every good and every bad cell of every column kind: (column, kind, cell, good)."""
    cases = []
    kinds = {"patient_id": ["label"], "visit": ["label"], "arm": ["label"]}
    kinds |= {name: ["int", "float", "text"] for name in VALUES}
    for name, column_kinds in kinds.items():
        for kind in column_kinds:
            good, bad = _cells(name, kind)
            cases += [(name, kind, cell, True) for cell in good]
            cases += [(name, kind, cell, False) for cell in bad]
    return cases


@pytest.mark.parametrize(("name", "kind", "cell", "good"), _one_cell_cases())
def test_each_cell_alone_reads_alike_or_is_left_to_the_column_checks(
    name: str, kind: str, cell: object, good: bool
) -> None:
    kinds = {"patient_id": "label", "visit": "label", "arm": "label", "day": "int"}
    kinds |= dict.fromkeys(("pasi", "pga", "bsa", "dlqi", "itch"), "text")
    kinds[name] = kind
    cells = {n: _cells(n, k)[0][:1] * ROWS for n, k in kinds.items()}
    cells["visit"] = ["W0", "W4", "W8", "W12"]
    cells[name] = [*cells[name][:-1], cell]
    frame = pl.DataFrame({n: pl.Series(n, cells[n], dtype=DTYPES[k]) for n, k in kinds.items()})
    fast, slow = _either(frame)
    if good or kind != "label" or cell in ("", None):  # a padded label is trimmed, not refused
        assert (slow is not None) == (good or (name == "arm" and cell in ("", None)))
    if kinds["day"] == "int" and good:
        assert fast is not None  # a clean table with whole days takes the one pass
        assert_frame_equal(fast, slow)
    else:
        assert fast is None or (slow is not None and fast.equals(slow))


@pytest.mark.parametrize(
    ("pasi", "read"),
    [
        (["7.6", "0", "72", None], [7.6, 0.0, 72.0, None]),
        ([7.6, 0.1 + 0.2, 72.0, None], [7.6, 0.3, 72.0, None]),  # a tenth up to float noise
        ([7, 0, 72, None], [7.0, 0.0, 72.0, None]),
    ],
)
def test_clean_tables_take_the_one_pass(pasi: list[object], read: list[float | None]) -> None:
    frame = pl.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P2"],
            "arm": ["A", "A", "B", "B"],
            "visit": ["W0", "W4", "W0", "W4"],
            "day": [0, 28, 0, 28],
            "pasi": pasi,
            "pga": ["3", None, "1", "0"],
            "bsa": [12.5, None, 3.0, 0.0],
            "dlqi": [20, 4, None, 0],
            "itch": ["7", "3", "NA", ""],
        },
        strict=False,
    )
    fast, slow = _either(frame)
    assert fast is not None and slow is not None
    assert_frame_equal(fast, slow)
    assert fast["pasi"].to_list() == read
    assert fast.schema["pga"] == pl.Int64 and fast["itch"].to_list() == [7, 3, None, None]


@pytest.mark.parametrize(
    "change",
    [
        {"pasi": ["7.6", "72.1", "1", "2"]},  # out of range
        {"pasi": ["7.65", "1", "1", "2"]},  # off the tenths
        {"pasi": ["7,6", "1", "1", "2"]},  # outside the number grammar
        {"visit": ["W0 ", "W4", "W0", "W4"]},  # needs trimming: told by the column checks
        {"day": [0, 28, None, 28]},
        {"day": [0, 36_501, 0, 28]},
        {"dlqi": ["31", None, None, None]},
        {"pga": ["2.5", None, None, None]},
        {"bsa": [float("nan"), None, None, None]},
    ],
)
def test_any_refused_cell_leaves_the_telling_to_the_column_checks(change: dict) -> None:
    columns: dict[str, list[object]] = {
        "patient_id": ["P1", "P1", "P2", "P2"],
        "visit": ["W0", "W4", "W0", "W4"],
        "day": [0, 28, 0, 28],
        "pasi": ["7.6", "1", "1", "2"],
        "pga": [None] * 4,
        "dlqi": [None] * 4,
        "bsa": [None] * 4,
    }
    frame = pl.DataFrame({**columns, **change}, strict=False)
    assert _clean_typed(frame) is None
