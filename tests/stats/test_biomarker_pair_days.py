"""derive_biomarker_pairs: the follow-up day must be a whole study day after day 0.

Pinned after a mutation run over stats/ (docs/mutation.md): the refusal's field, value and kind.
"""

import polars as pl
import pytest

from psotrack.errors import ValidationError
from psotrack.stats.biomarker_pairs import derive_biomarker_pairs

LONG = pl.DataFrame({"patient_id": [1, 1], "day": [0, 28], "value": [1.0, 2.0]})


@pytest.mark.parametrize("day", ["28", True, 28.0])
def test_a_day_that_is_not_a_whole_number_is_refused(day):
    with pytest.raises(ValidationError) as info:
        derive_biomarker_pairs(LONG, day)
    assert str(info.value) == f"follow_up_day={day!r} is not a whole study day"
    assert (info.value.field, info.value.value) == ("follow_up_day", day)
    assert info.value.problems[0].kind == "type"


@pytest.mark.parametrize("day", [0, -7])
def test_baseline_days_are_not_a_follow_up(day):
    with pytest.raises(ValidationError) as info:
        derive_biomarker_pairs(LONG, day)
    assert (info.value.field, info.value.value, info.value.problems[0].kind) == (
        "follow_up_day",
        day,
        "invalid",
    )
    assert info.value.problems[0].allowed == "a day after 0 (post-baseline)"


def test_day_28_pairs_the_baseline_with_day_28():
    assert derive_biomarker_pairs(LONG, 28).rows() == [(1, 1.0, 2.0)]


def test_a_sample_on_day_1_is_not_the_baseline():
    # day 0 is the first treatment: the day-1 sample is post-baseline, so the baseline is the
    # day-0 value 3.0 (and day 1 can itself be the follow-up)
    long = pl.DataFrame({"patient_id": [1, 1, 1], "day": [0, 1, 28], "value": [3.0, 9.0, 4.0]})
    assert derive_biomarker_pairs(long, 28).rows() == [(1, 3.0, 4.0)]
    assert derive_biomarker_pairs(long, 1).rows() == [(1, 3.0, 9.0)]


def test_a_nan_value_is_a_missing_one():
    # NaN on day 0 is no measurement: the baseline falls back to day −7; NaN on day 28 leaves
    # no follow-up
    long = pl.DataFrame(
        {"patient_id": [1, 1, 1], "day": [-7, 0, 28], "value": [3.0, float("nan"), 4.0]}
    )
    assert derive_biomarker_pairs(long, 28).rows() == [(1, 3.0, 4.0)]
    no_follow_up = long.with_columns(value=pl.Series([3.0, 2.0, float("nan")]))
    assert derive_biomarker_pairs(no_follow_up, 28).rows() == [(1, 2.0, None)]
