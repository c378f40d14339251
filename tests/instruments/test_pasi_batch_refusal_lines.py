"""pasi_batch and area_scores_from_percent: the one line per problem, word for word.

Pinned after the mutation run (docs/mutation.md), which showed the field, the rejected value and
the allowed range of these lines could change without any test noticing. Rows count from 1.
"""

import numpy as np
import pytest

from psotrack.errors import ValidationError
from psotrack.instruments.pasi_batch import SCORE_COLUMNS, area_scores_from_percent, pasi_batch


def valid(n: int = 2) -> dict[str, np.ndarray]:
    return {name: np.ones(n, np.int8) for name in SCORE_COLUMNS}


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


@pytest.mark.parametrize(
    ("column", "dtype"),
    [(np.array([True, False]), "bool"), (np.array(["5", "6"]), "<U1")],
)
def test_a_column_that_is_not_numeric_is_refused_whole(column, dtype):
    error = refusal(lambda: area_scores_from_percent(column))
    assert str(error) == f"area_pct='{dtype}' is not a numeric column of percentages"
    assert (error.field, error.value, error.problems[0].kind) == ("area_pct", dtype, "type")


def test_each_bad_percentage_is_named_with_its_row():
    error = refusal(lambda: area_scores_from_percent(np.array([5.0, np.nan, 101, -1])))
    assert str(error) == (
        "row 2: area_pct=nan is not a finite number 0–100 (a percentage of the region); "
        "row 3: area_pct=101.0 is outside 0–100 (a percentage of the region); "
        "row 4: area_pct=-1.0 is outside 0–100 (a percentage of the region)"
    )
    assert [(p.kind, p.row) for p in error.problems] == [("type", 2), ("range", 3), ("range", 4)]


def test_column_type_and_shape_lines():
    columns = valid()
    columns["head_erythema"] = np.array([1.0, 2.0])
    columns["trunk_area"] = np.ones((2, 2), np.int8)
    error = refusal(lambda: pasi_batch(columns))
    assert str(error) == (
        "head_erythema='float64' is not an integer column 0–4 (a grade of erythema); "
        "trunk_area='2-d array' is not a one-dimensional column"
    )


def test_missing_columns_say_what_they_should_hold():
    columns = valid()
    del columns["head_area"], columns["trunk_induration"]
    error = refusal(lambda: pasi_batch(columns))
    assert str(error) == (
        "head_area is missing (a column with an area score per row, "
        "or head_area_pct with the affected area in %); "
        "trunk_induration is missing (a column with a grade of induration per row)"
    )
    assert [p.kind for p in error.problems] == ["missing", "missing"]


def test_out_of_range_values_are_listed_by_row():
    columns = valid()
    columns["head_erythema"] = np.array([1, 5])
    columns["head_area"] = np.array([7, 1])
    error = refusal(lambda: pasi_batch(columns))
    assert str(error) == (
        "row 1: head_area=7 is outside 0–6 (an area score); "
        "row 2: head_erythema=5 is outside 0–4 (a grade of erythema)"
    )


def test_a_bad_percentage_column_is_named_by_its_own_name():
    columns = valid()
    del columns["head_area"]
    columns["head_area_pct"] = np.array([5.0, 101.0])
    error = refusal(lambda: pasi_batch(columns))
    assert str(error) == "row 2: head_area_pct=101.0 is outside 0–100 (a percentage of the region)"


def test_percentage_checks_with_one_value_none_and_zero_beside_a_bad_one():
    # an empty column scores nothing; a single bad value is still found; 0 % is a valid area
    # (score 0) even when another row is bad
    assert area_scores_from_percent(np.array([], dtype=float)).tolist() == []
    error = refusal(lambda: area_scores_from_percent(np.array([101.0])))
    assert str(error) == "row 1: area_pct=101.0 is outside 0–100 (a percentage of the region)"
    error = refusal(lambda: area_scores_from_percent(np.array([0.0, 0.5, 101.0])))
    assert [p.row for p in error.problems] == [3]


def test_two_bad_columns_of_one_region_are_both_named():
    columns = valid()
    columns["head_erythema"] = np.array([1.0, 2.0])
    columns["head_induration"] = np.array([1.0, 2.0])
    error = refusal(lambda: pasi_batch(columns))
    assert [p.field for p in error.problems] == ["head_erythema", "head_induration"]


def test_a_grade_of_zero_beside_a_bad_row_is_not_reported():
    columns = valid()
    columns["head_erythema"] = np.array([0, 5])
    error = refusal(lambda: pasi_batch(columns))
    assert [(p.field, p.row) for p in error.problems] == [("head_erythema", 2)]


def test_columns_of_different_lengths_are_refused():
    columns = valid()
    columns["head_erythema"] = np.ones(3, np.int8)
    error = refusal(lambda: pasi_batch(columns))
    assert str(error) == "columns=[2, 3]: columns of one common length"
    assert (error.field, error.problems[0].kind) == ("columns", "invalid")


def test_problems_without_a_row_come_before_row_problems():
    columns = valid(1)
    columns["head_erythema"] = np.array([5])
    del columns["trunk_area"]
    error = refusal(lambda: pasi_batch(columns))
    assert [(p.field, p.row) for p in error.problems] == [
        ("trunk_area", None),
        ("head_erythema", 1),
    ]
