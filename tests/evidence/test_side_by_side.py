"""A cohort's rate beside published rows: only the same endpoint, time point and missing rule.

Known answers: Yao D, et al. Ann Transl Med 2021;9:1653 gives 2 of 7 at PASI 50 at one year; the
cohort intervals are checked against statsmodels' Clopper–Pearson (``method="beta"``).
"""

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from psotrack.errors import ValidationError
from psotrack.evidence import derive_side_by_side, load_published_table, parse_cohort_rates

RULE = "all enrolled in the denominator"


def _cohort(**overrides: list) -> pl.DataFrame:
    columns = {
        "arm": ["MSC", "MSC", "placebo"],
        "visit": ["W24", "W52", "W52"],
        "day": ["168", "364", "364"],
        "n": ["10", "10", "9"],
        "responders": ["4", "5", "0"],
        "rate": ["0.4", "0.5", "0"],
        "ci_low": ["", "", ""],
        "ci_high": ["", "", ""],
    }
    columns.update(overrides)
    return pl.DataFrame(columns)


def test_cohort_at_visit_laid_beside_the_matching_published_row():
    frame = derive_side_by_side(
        load_published_table(),
        _cohort(),
        endpoint="PASI50",
        time_point="1 year",
        missing_rule=RULE,
        visit="W52",
    )
    assert frame["source"].to_list() == ["published", "cohort", "cohort"]
    published, msc, placebo = frame.iter_rows(named=True)
    assert published["label"].startswith("yao2021")
    assert (published["responders"], published["n"]) == (2, 7)
    assert (msc["responders"], msc["n"], msc["day"]) == (5, 10, 364)
    low, high = proportion_confint(5, 10, method="beta")
    assert msc["ci_low"] == pytest.approx(low, abs=1e-12)
    assert msc["ci_high"] == pytest.approx(high, abs=1e-12)
    # 0/9: the exact interval's lower limit is 0 (statsmodels agrees)
    low, high = proportion_confint(0, 9, method="beta")
    assert placebo["ci_low"] == 0.0 and placebo["ci_high"] == pytest.approx(high, abs=1e-12)
    assert set(frame["endpoint"]) == {"PASI50"} and set(frame["missing_rule"]) == {RULE}


def test_time_point_and_rule_match_up_to_case_and_spacing_visit_defaults_to_time_point():
    cohort = _cohort(visit=["W24", "1 year", "1 year"])
    frame = derive_side_by_side(
        load_published_table(),
        cohort,
        endpoint="PASI50",
        time_point="1  Year",
        missing_rule="All enrolled in the  denominator",
    )
    assert frame.height == 3


@pytest.mark.parametrize(
    ("endpoint", "time_point", "rule", "field", "text"),
    [
        ("PASI75", "1 year", RULE, "endpoint", "compare only the same endpoint"),
        ("PASI 50", "1 year", RULE, "endpoint", "one of PASI40"),
        ("PASI50", "week 24", RULE, "time_point", "counted at '1 year'"),
        ("PASI50", "1 year", "observed cases", "missing_rule", "same missing-data rule"),
        ("PASI40", "W24", RULE, "time_point", "do not state the visit of their count"),
    ],
)
def test_different_measurement_is_refused(endpoint, time_point, rule, field, text):
    with pytest.raises(ValidationError) as caught:
        derive_side_by_side(
            load_published_table(),
            _cohort(),
            endpoint=endpoint,
            time_point=time_point,
            missing_rule=rule,
            visit="W52",
        )
    assert caught.value.field == field
    assert text in str(caught.value)


def test_unknown_visit_and_unknown_study_are_refused():
    table = load_published_table()
    with pytest.raises(ValidationError, match="a visit of the cohort file: W24, W52"):
        derive_side_by_side(
            table, _cohort(), endpoint="PASI50", time_point="1 year", missing_rule=RULE
        )
    with pytest.raises(ValidationError, match="a study of the table"):
        derive_side_by_side(
            table,
            _cohort(),
            endpoint="PASI50",
            time_point="1 year",
            missing_rule=RULE,
            visit="W52",
            study_id="nobody2020",
        )


def test_bad_cohort_rows_are_refused_with_their_row():
    cohort = _cohort(n=["10", "x", "9"], responders=["11", "5", "0"], rate=["0.4", "0.5", "0.3"])
    with pytest.raises(ValidationError) as caught:
        parse_cohort_rates(cohort)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {(1, "responders"), (2, "n"), (3, "rate")}


def test_cohort_file_without_the_rate_columns_is_refused():
    with pytest.raises(ValidationError) as caught:
        parse_cohort_rates(pl.DataFrame({"arm": ["A"], "visit": ["W4"]}))
    assert [p.field for p in caught.value.problems] == [
        "day",
        "n",
        "responders",
        "rate",
        "ci_low",
        "ci_high",
    ]


def test_arm_without_patients_at_the_visit_has_no_rate():
    cohort = _cohort(n=["10", "10", "0"], responders=["4", "5", "0"], rate=["0.4", "0.5", ""])
    frame = derive_side_by_side(
        load_published_table(),
        cohort,
        endpoint="PASI50",
        time_point="1 year",
        missing_rule=RULE,
        visit="W52",
    )
    placebo = frame.row(2, named=True)
    assert placebo["n"] == 0 and placebo["rate"] is None and placebo["ci_low"] is None


def test_integer_typed_cohort_frame_is_accepted():
    cohort = pl.DataFrame(
        {
            "arm": ["A"],
            "visit": ["1 year"],
            "day": [364],
            "n": [4],
            "responders": [1],
            "rate": [0.25],
            "ci_low": [None],
            "ci_high": [None],
        }
    )
    assert parse_cohort_rates(cohort)[0].responders == 1


# Regression (review): the rates file's own missing/endpoint columns must agree with what the
# caller states; psotrack's "nri" (evaluable patients) is not "all enrolled in the denominator".
@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"missing": ["nri"] * 3}, "missing", "nri"),
        ({"missing": [RULE, RULE, "observed"]}, "missing", "observed"),
        ({"endpoint": ["PASI75"] * 3}, "endpoint", "PASI75"),
    ],
)
def test_cohort_file_measured_another_way_is_refused(overrides, field, value):
    with pytest.raises(ValidationError) as caught:
        derive_side_by_side(
            load_published_table(),
            _cohort(**overrides),
            endpoint="PASI50",
            time_point="1 year",
            missing_rule=RULE,
            visit="W52",
        )
    assert [(p.field, p.value) for p in caught.value.problems] == [(field, value)]
    wanted = RULE if field == "missing" else "PASI50"
    assert repr(value) in str(caught.value) and repr(wanted) in str(caught.value)


def test_cohort_file_stating_the_same_measurement_is_accepted():
    cohort = _cohort(
        missing=["All enrolled in the  denominator", RULE, ""], endpoint=["pasi 50", "PASI50", None]
    )
    frame = derive_side_by_side(
        load_published_table(),
        cohort,
        endpoint="PASI50",
        time_point="1 year",
        missing_rule=RULE,
        visit="W52",
    )
    assert frame["source"].to_list() == ["published", "cohort", "cohort"]
