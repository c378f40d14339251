"""Bad assessment tables are refused with the row, the field and what is allowed."""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints import derive_responders, validate_assessments, wide_to_long
from psotrack.errors import ValidationError


def _frame(**changes: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "patient_id": ["a", "a", "b"],
        "visit": ["W0", "W4", "W0"],
        "day": [0, 28, 0],
        "pasi": [10.0, 5.0, 7.6],
    }
    columns.update(changes)
    return pl.DataFrame(columns, strict=False)


def _problems(frame: pl.DataFrame, **options: bool) -> list[tuple[int | None, str, object]]:
    with pytest.raises(ValidationError) as caught:
        validate_assessments(frame, **options)
    return [(p.row, p.field, p.value) for p in caught.value.problems]


def test_missing_and_unknown_columns() -> None:
    assert _problems(_frame().drop("day")) == [(None, "day", None)]
    assert _problems(_frame(site=["X", "X", "Y"])) == [(None, "column", "site")]
    assert validate_assessments(_frame(site=["X", "X", "Y"]), allow_unknown=True).height == 3


def test_non_numeric_pasi_names_the_row() -> None:
    frame = _frame(pasi=["10.0", "five", ""])
    assert _problems(frame) == [(2, "pasi", "five")]
    with pytest.raises(ValidationError, match="row 2: pasi='five' is not a number"):
        derive_responders(frame)


def test_negative_out_of_range_and_off_grid_pasi() -> None:
    assert _problems(_frame(pasi=[10.0, -0.1, 72.1])) == [(2, "pasi", -0.1), (3, "pasi", 72.1)]
    assert _problems(_frame(pasi=[10.05, 5.0, 7.6])) == [(1, "pasi", 10.05)]
    # a float that is a tenth up to rounding noise is accepted as that tenth
    valid = validate_assessments(_frame(pasi=[0.1 + 0.2, 5.0, 7.6]))
    assert valid["pasi"].to_list() == [0.3, 5.0, 7.6]


def test_duplicate_patient_visit_and_patient_day_rows() -> None:
    visit_twice = _frame(visit=["W0", "W0", "W0"])
    assert _problems(visit_twice) == [(1, "visit", "W0"), (2, "visit", "W0")]
    day_twice = _frame(day=[0, 0, 0])
    assert _problems(day_twice) == [(1, "day", 0), (2, "day", 0)]


def test_missing_day_bad_scores_and_two_arms() -> None:
    assert _problems(_frame(day=[0, None, 0])) == [(2, "day", None)]
    # Text that reads as missing is a missing day too (it was read as no day at all).
    assert _problems(_frame(day=["0", "NA", " "])) == [(2, "day", "NA"), (3, "day", " ")]
    assert _problems(_frame(day=[0, 28.5, 0])) == [(2, "day", 28.5)]
    assert _problems(_frame(pga=[2, 7, 1])) == [(2, "pga", 7)]
    assert _problems(_frame(dlqi=[2, 31, 1])) == [(2, "dlqi", 31)]
    assert _problems(_frame(arm=["X", "Y", "Y"])) == [(1, "arm", "X"), (2, "arm", "Y")]


def test_wide_bad_visit_column_is_refused() -> None:
    wide = pl.DataFrame({"USUBJID": ["S1"], "TRT": ["A"], "BASELINE": [7.6], "MONTH3": [1.9]})
    with pytest.raises(ValidationError, match="MONTH3"):
        wide_to_long(wide)
    out = wide_to_long(wide, days={"MONTH3": 91})
    assert out["day"].to_list() == [0, 91]
    assert wide_to_long(wide, days=[0, 90])["day"].to_list() == [0, 90]
    with pytest.raises(ValidationError, match="days"):
        wide_to_long(wide, days=[0])
    with pytest.raises(ValidationError, match="id_column"):
        wide_to_long(wide.rename({"USUBJID": "who"}))
