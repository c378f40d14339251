"""Every refusal of endpoints/ as the one line a person reads: field, value and what is allowed.

The lines are part of the product (house rule: "one clear line naming the field, the value and
what is allowed"), so they are pinned whole, row numbers (1-based data rows) and kinds included.
Written after the mutation sample of issue 14 (docs/mutation.md) found them unasserted.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from psotrack.endpoints import (
    FlareRule,
    LossOfResponseRule,
    derive_patient_endpoints,
    derive_responders,
    derive_response_rates,
    derive_time_to_event,
    derive_time_to_relapse,
    prepare_assessments,
    validate_assessments,
    wide_to_long,
)
from tests.refusals import kinds, line, refusal

DAY_RULE = "a whole study day from -36500 to 36500 (±100 years of day 0)"
KNOWN = "known: patient_id, visit, day, pasi, arm, pga, bsa, dlqi, itch"


def _frame(**changes: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "patient_id": ["a", "a", "b"],
        "visit": ["W0", "W4", "W0"],
        "day": [0, 28, 0],
        "pasi": [10.0, 5.0, 7.6],
    }
    columns.update(changes)
    return pl.DataFrame(columns, strict=False)


# --- the long assessment table (validate_assessments) ---------------------------------------


def test_missing_and_unknown_columns_are_each_named() -> None:
    assert line(lambda: validate_assessments(_frame().drop("day", "pasi"))) == (
        "day is missing (a required column of the assessment table); "
        "pasi is missing (a required column of the assessment table)"
    )
    assert line(lambda: validate_assessments(_frame(site=[1, 2, 3], zz=[1, 2, 3]))) == (
        f"column='site': not a known column ({KNOWN}); column='zz': not a known column ({KNOWN})"
    )
    assert kinds(lambda: validate_assessments(_frame(site=[1, 2, 3]).drop("visit"))) == [
        "missing",
        "invalid",
    ]


def test_missing_ids_visits_and_days_are_listed_row_by_row() -> None:
    # an empty or blank cell is a missing one (text is trimmed first)
    frame = _frame(patient_id=[None, "a", " "], visit=["", None, "W0"], day=[0, 28, None])
    assert line(lambda: validate_assessments(frame)) == (
        "row 1: patient_id is missing (a value on every row); "
        "row 3: patient_id is missing (a value on every row); "
        "row 1: visit is missing (a value on every row); "
        "row 2: visit is missing (a value on every row); "
        "row 3: day is missing (a value on every row)"
    )


def test_pasi_that_is_text_out_of_range_or_off_the_tenths_grid() -> None:
    frame = _frame(pasi=["abc", "72.5", "7.65"])
    assert line(lambda: validate_assessments(frame)) == (
        "row 1: pasi='abc' is not a number; "
        "row 2: pasi=72.5 is outside 0–72 (a PASI score); "
        "row 3: pasi=7.65: a PASI with one decimal (a multiple of 0.1)"
    )
    assert kinds(lambda: validate_assessments(frame)) == ["type", "range", "invalid"]


def test_pasi_nan_infinite_huge_and_negative() -> None:
    assert line(lambda: validate_assessments(_frame(pasi=[float("nan"), float("inf"), 1.0]))) == (
        "row 1: pasi=nan is not a number; row 2: pasi=inf is not a number"
    )
    # 10³⁰ is reported, not turned into an overflow of the integer tenths
    assert line(lambda: validate_assessments(_frame(pasi=[1e30, 5.0, -0.1]))) == (
        "row 1: pasi=1e+30 is outside 0–72 (a PASI score); "
        "row 3: pasi=-0.1 is outside 0–72 (a PASI score)"
    )


@pytest.mark.parametrize(
    ("values", "dtype"),
    [([True, False, True], "Boolean"), ([[1.0], [2.0], [3.0]], "List(Float64)")],
)
def test_a_pasi_column_of_another_type_is_one_line(values: list[object], dtype: str) -> None:
    assert line(lambda: validate_assessments(_frame(pasi=values))) == (
        f"pasi='{dtype}' is not a number (the column is {dtype})"
    )


def test_a_date_column_is_refused_once_not_row_by_row_as_well() -> None:
    # Fixed with this test: the Date column was also read as days since 1970, which added a
    # "pasi=18262.0 is outside 0–72" line for every row.
    frame = _frame(pasi=pl.Series([0, 1, 2]).cast(pl.Date).to_list())
    assert line(lambda: validate_assessments(frame)) == (
        "pasi='Date' is not a number (the column is Date)"
    )


def test_study_days_whole_and_within_a_century() -> None:
    assert line(lambda: validate_assessments(_frame(day=[0.0, 28.5, 1e30]))) == (
        f"row 2: day=28.5 is not {DAY_RULE}; row 3: day=1e+30: {DAY_RULE}"
    )
    assert kinds(lambda: validate_assessments(_frame(day=[0.0, 28.5, 1e30]))) == [
        "type",
        "invalid",
    ]
    # text keeps its quotes: the value as it was sent
    assert line(lambda: validate_assessments(_frame(day=["0", "28.5", "x"]))) == (
        "row 2: day='28.5' is not a whole number; row 3: day='x' is not a whole number"
    )
    assert line(lambda: validate_assessments(_frame(day=["0", "36501", "-36501"]))) == (
        f"row 2: day='36501': {DAY_RULE}; row 3: day='-36501': {DAY_RULE}"
    )
    assert line(lambda: validate_assessments(_frame(day=[0, 36501, -36501]))) == (
        f"row 2: day=36501: {DAY_RULE}; row 3: day=-36501: {DAY_RULE}"
    )


def test_a_decimal_day_column_is_shown_as_the_number_read() -> None:
    # a Decimal(10, 2) column lists 28.50; the line shows the number read, 28.5
    decimal = pl.Decimal(10, 2)
    days = pl.Series([Decimal("0.00"), Decimal("28.50"), Decimal("40000.00")], dtype=decimal)
    assert line(lambda: validate_assessments(_frame(day=days))) == (
        f"row 2: day=28.5 is not {DAY_RULE}; row 3: day=40000.0: {DAY_RULE}"
    )
    whole = pl.Series([Decimal("0.00"), Decimal("28.00"), Decimal("-7.00")], dtype=decimal)
    assert validate_assessments(_frame(day=whole))["day"].to_list() == [0, 28, -7]


def test_study_day_limits_are_inclusive_and_near_whole_floats_round() -> None:
    ok = validate_assessments(_frame(day=[-36500, 36500, 0]))
    assert ok["day"].to_list() == [-36500, 36500, 0]
    # within 10⁻⁶ of a whole day is that day (rounded, not truncated to 27)
    ok = validate_assessments(_frame(day=[0.0, 27.9999999, 0.0]))
    assert ok["day"].to_list() == [0, 28, 0] and ok["day"].dtype == pl.Int64
    ok = validate_assessments(_frame(day=["-3", "28", " 0 "]))
    assert ok["day"].to_list() == [-3, 28, 0]


def test_optional_scores_name_their_scale() -> None:
    frame = _frame(pga=[5, 6, -1], dlqi=[30, 31, 0], itch=[10, 11, 0], bsa=[100.0, 100.5, -0.1])
    assert line(lambda: validate_assessments(frame)) == (
        "row 2: pga=6: a PGA grade 0–4 (or 0–5 on the 6-point scale); "
        "row 3: pga=-1: a PGA grade 0–4 (or 0–5 on the 6-point scale); "
        "row 2: dlqi=31: a DLQI total 0–30; "
        "row 2: itch=11: an itch NRS 0–10; "
        "row 2: bsa=100.5: a body surface area 0–100 %; "
        "row 3: bsa=-0.1: a body surface area 0–100 %"
    )
    assert line(lambda: validate_assessments(_frame(pga=[1.5, "x", None]))) == (
        "row 1: pga='1.5' is not a whole number; row 2: pga='x' is not a whole number"
    )
    assert line(lambda: validate_assessments(_frame(dlqi=[1.5, 2.0, None]))) == (
        "row 1: dlqi=1.5 is not a DLQI total 0–30"
    )
    assert line(lambda: validate_assessments(_frame(bsa=["abc", "5", None]))) == (
        "row 1: bsa='abc' is not a number"
    )


def test_score_limits_are_inclusive() -> None:
    frame = _frame(pga=[0, 5, None], dlqi=[0, 30, None], itch=[0, 10, None], bsa=[0, 100, None])
    ok = validate_assessments(frame)
    assert ok.select("pga", "dlqi", "itch", "bsa").rows() == [
        (0, 0, 0, 0.0),
        (5, 30, 10, 100.0),
        (None, None, None, None),
    ]
    assert ok.schema["pga"] == pl.Int64 and ok.schema["bsa"] == pl.Float64
    ok = validate_assessments(_frame(bsa=["0.5", "NA", ""], pga=["1", "NA", " 2 "]))
    assert ok.select("bsa", "pga").rows() == [(0.5, 1), (None, None), (None, 2)]


def test_repeated_visits_days_and_two_arms_in_one_refusal() -> None:
    frame = pl.DataFrame(
        {
            "patient_id": ["a", "a", "b", "b", "c", "c"],
            "visit": ["W0", "W0", "W0", "W4", "W0", "W4"],
            "day": [0, 7, 0, 0, 0, 28],
            "pasi": [10.0, 9.0, 8.0, 7.0, 6.0, 5.0],
        }
    )
    assert line(lambda: validate_assessments(frame)) == (
        "row 1: visit='W0': one row per patient_id and visit (this visit is repeated for the "
        "patient); "
        "row 2: visit='W0': one row per patient_id and visit (this visit is repeated for the "
        "patient); "
        "row 3: day=0: one row per patient_id and day (this day is repeated for the patient); "
        "row 4: day=0: one row per patient_id and day (this day is repeated for the patient)"
    )
    two_arms = frame.with_columns(
        visit=pl.Series(["W0", "W1", "W0", "W4", "W0", "W4"]),
        day=pl.Series([0, 7, 0, 28, 0, 28]),
        arm=pl.Series(["A", "A", "A", "A", "A", "B"]),
    )
    assert line(lambda: validate_assessments(two_arms)) == (
        "row 5: arm='A': one arm per patient; row 6: arm='B': one arm per patient"
    )


def test_a_repeated_day_after_the_first_is_refused() -> None:
    # the repeat is on day 28, not on the patient's (or the table's) first day
    frame = pl.DataFrame(
        {
            "patient_id": ["a", "a", "a", "b"],
            "visit": ["W0", "W4", "W4b", "W0"],
            "day": [0, 28, 28, -7],
            "pasi": [10.0, 5.0, 5.0, 3.0],
        }
    )
    assert line(lambda: validate_assessments(frame)) == (
        "row 2: day=28: one row per patient_id and day (this day is repeated for the patient); "
        "row 3: day=28: one row per patient_id and day (this day is repeated for the patient)"
    )


def test_a_lone_patient_with_a_visit_twice_is_refused() -> None:
    # one patient only: every patient has a repeat, which the fast label check must still see
    frame = pl.DataFrame(
        {"patient_id": ["a", "a"], "visit": ["W0", "W0"], "day": [0, 7], "pasi": [1.0, 2.0]}
    )
    assert [(p.row, p.field) for p in refusal(lambda: validate_assessments(frame)).problems] == [
        (1, "visit"),
        (2, "visit"),
    ]


def test_ids_and_labels_are_trimmed_text() -> None:
    frame = _frame(patient_id=[" a", "a ", "b"], visit=["W0 ", "W4", " W0"], arm=[" X", "X", "Y"])
    ok = validate_assessments(frame)
    assert ok.select("patient_id", "visit", "arm").rows() == [
        ("a", "W0", "X"),
        ("a", "W4", "X"),
        ("b", "W0", "Y"),
    ]
    numbers = validate_assessments(_frame(patient_id=[1, 1, 2]))
    assert numbers["patient_id"].to_list() == ["1", "1", "2"]
    assert numbers.schema["patient_id"] == pl.String


def test_unknown_columns_kept_or_refused_by_prepare() -> None:
    frame = _frame(site=["X", "X", "Y"])
    assert "site" in prepare_assessments(frame).frame.columns
    assert line(lambda: prepare_assessments(frame, allow_unknown=False)) == (
        f"column='site': not a known column ({KNOWN})"
    )


def test_internal_validation_keeps_unknown_columns_by_default() -> None:
    from psotrack.endpoints._validate import with_pasi_tenths

    valid, _ = with_pasi_tenths(_frame(site=["X", "X", "Y"]))
    assert valid["site"].to_list() == ["X", "X", "Y"]
    assert valid["_pasi_t"].to_list() == [100, 50, 76]


# --- the wide table (wide_to_long) -----------------------------------------------------------

WIDE = pl.DataFrame({"USUBJID": ["S1"], "TRT": ["A"], "BASELINE": [7.6], "MONTH3": [1.9]})
VISIT_NAMES = "a visit column named BASELINE, WEEKnn or DAYnn, or a day given in days"
STUDY_DAY = "a study day from -36500 to 36500 (±100 years of day 0)"


def test_wide_id_and_arm_columns() -> None:
    assert line(lambda: wide_to_long(WIDE.rename({"USUBJID": "who"}), days=[0, 91])) == (
        "id_column is missing (a patient id column (patient_id, USUBJID, SUBJID))"
    )
    # Fixed with this test: a named id column that is absent was reported without its name.
    assert line(lambda: wide_to_long(WIDE, id_column="who")) == (
        "id_column='who': a column of the table"
    )
    assert line(lambda: wide_to_long(WIDE, arm_column="ARMX", days=[0, 91])) == (
        "arm_column='ARMX': a column of the table"
    )
    out = wide_to_long(WIDE, id_column="USUBJID", arm_column="TRT", days=[0, 91])
    assert out.rows() == [("S1", "A", "BASELINE", 0, 7.6), ("S1", "A", "MONTH3", 91, 1.9)]


def test_wide_days_and_visit_columns() -> None:
    assert line(lambda: wide_to_long(WIDE.select("USUBJID", "TRT"))) == (
        "columns is missing (at least one visit column)"
    )
    assert line(lambda: wide_to_long(WIDE)) == f"column='MONTH3': {VISIT_NAMES}"
    assert line(lambda: wide_to_long(WIDE, days={"MONTH3": True})) == (
        f"column='MONTH3': {VISIT_NAMES}"
    )
    assert line(lambda: wide_to_long(WIDE, days=[0])) == (
        "days=[0]: one day per visit column (2: BASELINE, MONTH3)"
    )
    assert line(lambda: wide_to_long(WIDE, days={"MONTH3": 91, "M6": 182, "X": 1})) == (
        "days='M6': a visit column of the table; days='X': a visit column of the table"
    )
    assert line(lambda: wide_to_long(WIDE, days={"MONTH3": 40000})) == (
        f"days='MONTH3=40000': {STUDY_DAY}"
    )
    named = pl.DataFrame(
        {"USUBJID": ["S1"], "BASELINE": [7.6], "DAY40000": [1.9], "week6000": [2.0]}
    )
    assert line(lambda: wide_to_long(named)) == (
        f"column='DAY40000=40000': {STUDY_DAY}; column='week6000=42000': {STUDY_DAY}"
    )
    assert kinds(lambda: wide_to_long(named)) == ["invalid", "invalid"]
    limits = pl.DataFrame({"SUBJID": [1], "DAY-36500": [7.6], "DAY36500": [1.9]})
    assert wide_to_long(limits)["day"].to_list() == [-36500, 36500]


def test_wide_rows_come_patient_by_patient_and_arm_is_optional() -> None:
    wide = pl.DataFrame({"patient_id": ["p2", "p1"], "WEEK12": [3.0, 1.0], "BASELINE": [9.0, 8.0]})
    out = wide_to_long(wide)
    assert out.columns == ["patient_id", "arm", "visit", "day", "pasi"]
    assert out.schema["arm"] == pl.String
    assert out.rows() == [
        ("p2", None, "WEEK12", 84, 3.0),
        ("p2", None, "BASELINE", 0, 9.0),
        ("p1", None, "WEEK12", 84, 1.0),
        ("p1", None, "BASELINE", 0, 8.0),
    ]


# --- rules and options -----------------------------------------------------------------------

ONE = pl.DataFrame({"patient_id": ["a"], "visit": ["W0"], "day": [0], "pasi": [1.0]})


def test_response_thresholds() -> None:
    assert line(lambda: derive_responders(ONE, thresholds=(0, 101, 7.5, True))) == (  # type: ignore[arg-type]
        "threshold=0 is outside 1–100 (a percentage); "
        "threshold=101 is outside 1–100 (a percentage); "
        "threshold=7.5 is not a whole percentage 1–100; "
        "threshold=True is not a whole percentage 1–100"
    )
    assert kinds(lambda: derive_responders(ONE, thresholds=(0, True))) == ["range", "type"]  # type: ignore[arg-type]
    assert line(lambda: derive_responders(ONE, thresholds=())) == (
        "thresholds is missing (at least one percentage)"
    )
    assert refusal(lambda: derive_responders(ONE, thresholds=())).problems[0].value == ()


def test_loss_of_response_and_flare_rules() -> None:
    assert line(lambda: LossOfResponseRule(reached="75")) == (  # type: ignore[arg-type]
        "reached='75' is not a whole percentage 1–100"
    )
    assert line(lambda: LossOfResponseRule(reached=0)) == (
        "reached=0 is outside 1–100 (a percentage)"
    )
    assert line(lambda: LossOfResponseRule(lost_below=True)) == (
        "lost_below=True is not a whole percentage 1–100"
    )
    assert line(lambda: LossOfResponseRule(lost_below=101)) == (
        "lost_below=101 is outside 1–100 (a percentage)"
    )
    assert line(lambda: LossOfResponseRule(reached=50, lost_below=75)) == (
        "lost_below=75: at most reached=50"
    )
    assert LossOfResponseRule(reached=50, lost_below=50).lost_below == 50
    assert line(lambda: FlareRule(rise_percent=True)) == (
        "rise_percent=True is not a whole percentage"
    )
    assert line(lambda: FlareRule(rise_percent=50.0)) == (  # type: ignore[arg-type]
        "rise_percent=50.0 is not a whole percentage"
    )
    # Reworded with this test (was "rise_percent=0 is outside 1 or more (a rise in %)").
    assert line(lambda: FlareRule(rise_percent=0)) == "rise_percent=0: 1 or more (a rise in %)"
    assert FlareRule(rise_percent=1).rise_percent == 1
    assert line(lambda: FlareRule(min_rise_tenths=1.5)) == (  # type: ignore[arg-type]
        "min_rise_tenths=1.5 is not a whole number of PASI tenths"
    )
    assert line(lambda: FlareRule(min_rise_tenths=False)) == (
        "min_rise_tenths=False is not a whole number of PASI tenths"
    )


@pytest.mark.parametrize("stop_day", [True, "28", 2.5])
def test_stop_day_must_be_a_whole_day(stop_day: object) -> None:
    expected = f"stop_day={stop_day!r} is not a whole study day"
    assert line(lambda: derive_patient_endpoints(ONE, stop_day=stop_day)) == expected  # type: ignore[arg-type]
    assert line(lambda: derive_time_to_relapse(ONE, stop_day=stop_day)) == expected  # type: ignore[arg-type]


def test_endpoint_percentages_and_responder_levels() -> None:
    assert line(lambda: derive_patient_endpoints(ONE, relapse_percent=0)) == (
        "relapse_percent=0 is outside 1–100 (a percentage)"
    )
    assert line(lambda: derive_time_to_relapse(ONE, stop_day=28, responders=60)) == (
        "responders=60: one of 50, 75, 90, 100 (or None: everyone)"
    )
    assert line(lambda: derive_time_to_event(ONE, threshold=0)) == (
        "threshold=0 is outside 1–100 (a percentage)"
    )


def test_response_rate_options() -> None:
    arm = ONE.with_columns(arm=pl.lit("A"))
    assert line(lambda: derive_response_rates(arm, missing="x")) == (  # type: ignore[arg-type]
        "missing='x': nri, observed or locf"
    )
    assert line(lambda: derive_response_rates(arm, denominator="x")) == (  # type: ignore[arg-type]
        "denominator='x': itt or evaluable"
    )
    assert line(lambda: derive_response_rates(arm, ci="x")) == (  # type: ignore[arg-type]
        "ci='x': exact, wilson or jeffreys"
    )
    assert line(lambda: derive_response_rates(arm, by="site")) == (
        "by='site': a column of the assessment table"
    )
    assert line(lambda: derive_response_rates(arm, threshold=150)) == (
        "threshold=150 is outside 1–100 (a percentage)"
    )
