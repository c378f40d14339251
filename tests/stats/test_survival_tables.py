"""Kaplan–Meier: the per-group summary row, the stacked table, and what each refusal says.

Pinned after a mutation run over stats/ (docs/mutation.md). The tiny data set and its hand
computation are those of test_survival.py: times 1, 2, 2, 3, 4 with events 1, 1, 0, 1, 0 give
S = 0.8, 0.6, 0.3, 0.3, median 3, lower limit 1, upper limit not reached. Row numbers in the
messages are not pinned here (issue 14 asks for them to become 1-based).
"""

import polars as pl
import pytest

from psotrack.errors import ValidationError
from psotrack.stats.survival import kaplan_meier

TINY = pl.DataFrame({"time": [1, 2, 2, 3, 4], "event": [1, 1, 0, 1, 0]})
# A: events at 1 and 3; B: events at 2 and 4 (the log-rank case of test_survival.py)
TWO = pl.DataFrame({"time": [1, 3, 2, 4], "event": [1, 1, 1, 1], "arm": list("AABB")})


def test_summary_of_one_curve():
    assert kaplan_meier(TINY).summary().to_dicts() == [
        {
            "endpoint": "time to event",
            "group": "all",
            "n": 5,
            "events": 3,
            "median": 3.0,
            "median_ci_low": 1.0,
            "median_ci_high": None,
            "level": 0.95,
            "logrank_p": None,
        }
    ]


def test_summary_columns_keep_their_types_when_nothing_was_reached():
    schema = kaplan_meier(TINY).summary().schema
    assert schema["median_ci_high"] == pl.Float64 and schema["logrank_p"] == pl.Float64
    assert schema["n"] == pl.Int64 and schema["endpoint"] == pl.String


@pytest.mark.parametrize("level", [0, 1, 1.5, "0.95", True])
def test_levels_outside_zero_to_one_are_refused(level):
    with pytest.raises(ValidationError) as info:
        kaplan_meier(TINY, level=level)
    assert info.value.field == "level"


def test_a_nan_time_is_reported_as_missing_with_its_value():
    frame = pl.DataFrame({"time": [1.0, float("nan")], "event": [1, 0]})
    with pytest.raises(ValidationError) as info:
        kaplan_meier(frame)
    problem = info.value.problems[0]
    assert (problem.field, problem.kind, problem.allowed) == (
        "time",
        "missing",
        "a time for every patient",
    )
    assert problem.value != problem.value  # NaN, as given


def test_summary_and_table_of_two_groups():
    result = kaplan_meier(TWO, group="arm", endpoint="time to relapse")
    rows = result.summary().to_dicts()
    # each arm: 2 patients, 2 events; S falls to 0.5 at its first event → medians 1 and 2
    assert [(r["group"], r["n"], r["events"], r["median"]) for r in rows] == [
        ("A", 2, 2, 1.0),
        ("B", 2, 2, 2.0),
    ]
    # the band of each arm reaches 0.5 at its first event and 0 at its second
    assert [(r["median_ci_low"], r["median_ci_high"]) for r in rows] == [(1.0, 3.0), (2.0, 4.0)]
    assert {r["endpoint"] for r in rows} == {"time to relapse"}
    assert result.logrank is not None
    assert [r["logrank_p"] for r in rows] == [result.logrank.p_value] * 2
    table = result.table()
    assert table.columns[:3] == ["group", "time", "at_risk"]
    assert table["group"].to_list() == ["A"] * 3 + ["B"] * 3
    assert table["time"].to_list() == [0.0, 1.0, 3.0, 0.0, 2.0, 4.0]


def test_survival_at_an_event_time_includes_that_event():
    curve = kaplan_meier(TINY).curve()
    assert curve.survival_at(1.0) == pytest.approx(0.8, abs=1e-12)
    assert curve.survival_at(3.0) == pytest.approx(0.3, abs=1e-12)


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


def test_asking_for_a_group_that_is_not_there():
    error = refusal(lambda: kaplan_meier(TINY).curve("X"))
    assert str(error) == "group='X': one of ['all']"
    assert error.problems[0].kind == "invalid"


def test_frame_level_refusals():
    error = refusal(lambda: kaplan_meier("x"))  # type: ignore[arg-type]
    assert str(error) == "events='str' is not a Polars DataFrame"
    error = refusal(lambda: kaplan_meier(pl.DataFrame({"time": [1.0]}), level=95))
    assert str(error) == (
        "event is missing (a column of ['time']); level=95: 0–1, exclusive (e.g. 0.95)"
    )
    assert [p.kind for p in error.problems] == ["missing", "invalid"]
    error = refusal(lambda: kaplan_meier(pl.DataFrame({"time": [], "event": []})))
    assert str(error) == "events=0: at least one patient (the frame is empty)"
    assert error.problems[0].kind == "invalid"
    for column, dtype in ((["1"], "String"), ([True], "Boolean")):
        error = refusal(lambda c=column: kaplan_meier(pl.DataFrame({"time": c, "event": [1]})))
        assert str(error) == f"time='{dtype}' is not a numeric time (days or weeks)"
        assert error.problems[0].kind == "type"


def test_row_level_refusals_say_what_each_value_should_be():
    frame = pl.DataFrame(
        {
            "time": [1.0, -2.0, None, float("inf")],
            "event": [1, 2, 0, None],
            "arm": ["a", None, "b", "b"],
        }
    )
    error = refusal(lambda: kaplan_meier(frame, group="arm"))
    assert [(p.field, p.value, p.allowed, p.kind) for p in error.problems] == [
        ("time", -2.0, "a finite time ≥ 0", "invalid"),
        ("time", None, "a time for every patient", "missing"),
        ("time", float("inf"), "a finite time ≥ 0", "invalid"),
        ("event", 2, "0 (censored) or 1 (event)", "invalid"),
        ("event", None, "0 (censored) or 1 (event)", "invalid"),
        ("arm", None, "a group for every patient", "missing"),
    ]
