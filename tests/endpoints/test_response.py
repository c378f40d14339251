"""Baseline, change and responder flags on hand-computed frames (known answers: reference
instruments.md — a PASI T response is an improvement of at least T %, decided exactly)."""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints import derive_baseline, derive_change, derive_responders


def _rows(*records: tuple[str, str, int, float | None]) -> pl.DataFrame:
    return pl.DataFrame(records, schema=["patient_id", "visit", "day", "pasi"], orient="row")


def _post(frame: pl.DataFrame, patient: str) -> dict[str, object]:
    return frame.filter((pl.col("patient_id") == patient) & (pl.col("day") > 0)).row(0, named=True)


def test_exact_threshold_cases_decided_in_integers() -> None:
    rows = _rows(
        ("a", "W0", 0, 7.6),
        ("a", "W12", 84, 1.9),  # exactly 75 %
        ("b", "W0", 0, 10.0),
        ("b", "W12", 84, 1.0),  # exactly 90 %
        ("c", "W0", 0, 10.0),
        ("c", "W12", 84, 2.6),  # 74 %
        ("d", "W0", 0, 10.0),
        ("d", "W12", 84, 0.0),  # 100 %
        ("e", "W0", 0, 0.3),
        ("e", "W12", 84, 0.15 + 0.15),  # no change; float sum 0.3 read as 0.3
    )
    out = derive_responders(rows)
    flags = ("pasi50", "pasi75", "pasi90", "pasi100")
    assert [_post(out, "a")[f] for f in flags] == [1, 1, 0, 0]
    assert [_post(out, "b")[f] for f in flags] == [1, 1, 1, 0]
    assert [_post(out, "c")[f] for f in flags] == [1, 0, 0, 0]
    assert [_post(out, "d")[f] for f in flags] == [1, 1, 1, 1]
    assert [_post(out, "e")[f] for f in flags] == [0, 0, 0, 0]
    assert _post(out, "a")["pchg"] == pytest.approx(-75.0)
    assert _post(out, "a")["chg"] == -5.7
    assert out.schema["pasi75"] == pl.Int8


def test_baseline_zero_or_absent_is_not_evaluable() -> None:
    rows = _rows(
        ("z", "W0", 0, 0.0),
        ("z", "W12", 84, 0.0),
        ("m", "W0", 0, None),
        ("m", "W12", 84, 3.0),
        ("p", "W4", 28, 3.0),  # no pre-treatment row at all
    )
    out = derive_responders(rows)
    for patient in ("z", "m", "p"):
        row = _post(out, patient)
        assert row["evaluable"] is False
        assert row["pasi50"] is None and row["pchg"] is None
    # A baseline of 0 is a baseline: base 0, absolute change 0.0 − 0 = 0.0; the percentage has
    # none, and the note says why. With no baseline at all there is no change either.
    zero = _post(out, "z")
    assert (zero["base"], zero["chg"]) == (0.0, 0.0)
    assert zero["base_note"] == "baseline PASI 0: no percent change or relative response"
    for patient in ("m", "p"):
        row = _post(out, patient)
        assert row["base"] is None and row["chg"] is None
        assert row["base_note"] == "no PASI on or before day 0: no change from baseline"
    # absolute targets need no baseline
    assert _post(out, "z")["pasi_le1"] == 1
    assert _post(out, "m")["pasi_le2"] == 0 and _post(out, "m")["pasi_le3"] == 1


def test_baseline_is_last_non_missing_on_or_before_day_0() -> None:
    rows = _rows(
        ("a", "SCR", -21, 14.0),
        ("a", "PRE", -7, 12.0),
        ("a", "W0", 0, None),
        ("a", "W4", 28, 6.0),
        ("a", "W8", 56, 3.0),
    )
    out = derive_baseline(rows)
    assert out["base"].to_list() == [12.0] * 5
    flags = derive_responders(rows).sort("day")
    # pre-baseline and baseline rows carry no flags or change
    assert flags["pasi50"].to_list() == [None, None, None, 1, 1]
    assert flags["pasi75"].to_list() == [None, None, None, 0, 1]
    assert flags["chg"].to_list() == [None, None, None, -6.0, -9.0]


def test_missed_visit_has_empty_flags() -> None:
    out = derive_responders(_rows(("a", "W0", 0, 10.0), ("a", "W4", 28, None)))
    row = _post(out, "a")
    assert row["pasi75"] is None and row["pasi_le1"] is None and row["evaluable"] is True


def test_shuffled_rows_give_identical_results() -> None:
    rows = _rows(
        *[
            (p, f"V{d}", d, v)
            for p, base in (("a", 20.0), ("b", 7.6), ("c", 0.0))
            for d, v in ((-7, base + 1), (0, base), (28, base / 2), (56, base / 4), (84, None))
        ]
    )
    expected = derive_responders(rows).sort("patient_id", "day")
    for seed in range(3):
        shuffled = rows.sample(fraction=1.0, shuffle=True, seed=seed)
        out = derive_responders(shuffled)
        # rows keep the input order
        assert out["patient_id"].to_list() == shuffled["patient_id"].to_list()
        assert out.sort("patient_id", "day").equals(expected)


def test_pga_and_dlqi_flags() -> None:
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b", "b"],
            "visit": ["W0", "W4", "W8", "W0", "W4"],
            "day": [0, 28, 56, 0, 28],
            "pasi": [10.0, 5.0, 2.0, 8.0, 8.0],
            "pga": [3, 1, 0, 2, 1],
            "dlqi": [12, 9, 8, 4, 1],
        }
    )
    out = derive_responders(rows).filter(pl.col("day") > 0).sort("patient_id", "day")
    assert out["pga01"].to_list() == [1, 1, 1]
    # b improves one grade only (2 → 1): PGA 0/1 but not with a 2-grade improvement
    assert out["pga01_2grade"].to_list() == [1, 1, 0]
    assert out["dlqi01"].to_list() == [0, 0, 1]
    # a: 12 → 9 is −3 (below the MID of 4), 12 → 8 is −4; b: 4 → 1 is −3
    assert out["dlqi_mid"].to_list() == [0, 1, 0]


def test_dlqi_mid_is_empty_when_baseline_is_below_the_mid() -> None:
    # Regression (review): baseline DLQI 3 cannot improve by 4, so it is no non-responder;
    # baseline exactly 4 can (4 → 0 is −4, a response; 4 → 1 is −3, not).
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b", "c", "c"],
            "visit": ["W0", "W4"] * 3,
            "day": [0, 28] * 3,
            "pasi": [10.0, 5.0] * 3,
            "dlqi": [3, 0, 4, 0, 4, 1],
        }
    )
    out = derive_responders(rows).filter(pl.col("day") > 0).sort("patient_id")
    assert out["dlqi_mid"].to_list() == [None, 1, 0]
    assert out["dlqi01"].to_list() == [1, 1, 1]


def test_optional_flags_only_when_columns_present() -> None:
    out = derive_responders(_rows(("a", "W0", 0, 10.0), ("a", "W4", 28, 5.0)))
    assert "pga01" not in out.columns and "dlqi01" not in out.columns


def test_custom_thresholds_and_bad_threshold() -> None:
    out = derive_responders(_rows(("a", "W0", 0, 10.0), ("a", "W4", 28, 6.0)), thresholds=(40,))
    assert _post(out, "a")["pasi40"] == 1 and "pasi75" not in out.columns
    with pytest.raises(ValueError, match="threshold"):
        derive_responders(_rows(("a", "W0", 0, 10.0)), thresholds=(0,))


def test_change_keeps_extra_columns() -> None:
    rows = _rows(("a", "W0", 0, 10.0), ("a", "W4", 28, 5.0)).with_columns(site=pl.lit("X"))
    out = derive_change(rows)
    assert out["site"].to_list() == ["X", "X"] and out["pchg"].to_list() == [None, -50.0]


def test_baseline_zero_gives_the_absolute_change_but_no_percentage() -> None:
    # Hand computed: baseline 0.0, then 1.5 at day 28 (+1.5 points) and 0.0 at day 56 (0.0).
    rows = _rows(("z", "W0", 0, 0.0), ("z", "W4", 28, 1.5), ("z", "W8", 56, 0.0))
    out = derive_responders(rows).sort("day")
    assert out["base"].to_list() == [0.0, 0.0, 0.0]
    assert out["chg"].to_list() == [None, 1.5, 0.0]
    assert out["pchg"].to_list() == [None, None, None]
    assert out["pasi75"].to_list() == [None, None, None]
    assert out["pasi_le1"].to_list() == [None, 0, 1]  # absolute targets need no baseline
    assert set(out["base_note"].to_list()) == {
        "baseline PASI 0: no percent change or relative response"
    }
    evaluable = derive_responders(_rows(("e", "W0", 0, 4.0), ("e", "W4", 28, 1.0)))
    assert evaluable["base_note"].to_list() == [None, None]


@pytest.mark.parametrize(
    ("pasi", "le1", "le2", "le3"),
    # "PASI ≤ 1 / ≤ 2 / ≤ 3" include the bound itself: 1.0 is PASI ≤ 1, 1.1 is not.
    [
        (1.0, 1, 1, 1),
        (1.1, 0, 1, 1),
        (2.0, 0, 1, 1),
        (2.1, 0, 0, 1),
        (3.0, 0, 0, 1),
        (3.1, 0, 0, 0),
    ],
)
def test_absolute_targets_include_their_bound(pasi: float, le1: int, le2: int, le3: int) -> None:
    out = derive_responders(_rows(("a", "W0", 0, 12.0), ("a", "W12", 84, pasi)))
    row = _post(out, "a")
    assert (row["pasi_le1"], row["pasi_le2"], row["pasi_le3"]) == (le1, le2, le3)
