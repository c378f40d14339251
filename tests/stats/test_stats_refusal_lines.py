"""Every refusal of stats/ as the one line a person reads: field, value and what is allowed.

The lines are part of the product (house rule), so they are pinned whole, with row numbers
(1-based, as in the files people read them from) and kinds. Written after the mutation sample
of issue 14 (docs/mutation.md) found most of them unasserted.
"""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.stats.biomarker_pairs import derive_biomarker_pairs
from psotrack.stats.biomarkers import biomarker_change
from psotrack.stats.longitudinal import MixedModelResult, fit_pasi_trajectory
from psotrack.stats.survival import kaplan_meier
from tests.refusals import kinds, line

# --- biomarker pairs ---------------------------------------------------------------------------


def test_pairs_must_be_a_frame_with_the_columns() -> None:
    assert line(lambda: biomarker_change([1, 2])) == "pairs='list' is not a Polars DataFrame"  # type: ignore[arg-type]
    frame = pl.DataFrame({"patient_id": [1], "baseline": [1.0]})
    assert line(lambda: biomarker_change(frame)) == (
        "follow_up is missing (a column of ['patient_id', 'baseline'])"
    )
    assert line(lambda: biomarker_change(frame, responder="r", pasi_pchg="p")) == (
        "follow_up is missing (a column of ['patient_id', 'baseline']); "
        "r is missing (a column of ['patient_id', 'baseline']); "
        "p is missing (a column of ['patient_id', 'baseline'])"
    )


def test_pair_values_numbers_ids_and_repeats() -> None:
    frame = pl.DataFrame(
        {
            "patient_id": [1, None, 1],
            "baseline": ["a", "b", "c"],
            "follow_up": [1.0, float("inf"), float("-inf")],
        }
    )
    call = lambda: biomarker_change(frame)  # noqa: E731
    assert line(call) == (
        "baseline='String' is not numeric; "
        "row 2: follow_up=inf: a finite number; "
        "row 3: follow_up=-inf: a finite number; "
        "row 2: patient_id is missing (a value on every row); "
        "row 3: patient_id=1: one row per patient_id"
    )
    assert kinds(call) == ["type", "invalid", "invalid", "missing", "invalid"]
    flags = pl.DataFrame({"patient_id": [1, 2], "baseline": [True, False], "follow_up": [1.0, 2]})
    assert line(lambda: biomarker_change(flags)) == "baseline='Boolean' is not numeric"
    nulls = pl.DataFrame({"patient_id": [1, 2], "baseline": [None, None], "follow_up": [1.0, 2]})
    assert biomarker_change(nulls).overall.n_dropped == 2  # an all-empty column is allowed


def test_pair_options_and_responder_flags() -> None:
    frame = pl.DataFrame(
        {
            "patient_id": [1, 2, 3, 4],
            "baseline": [1.0, 2.0, 3.0, 4.0],
            "follow_up": [1.0, 2.0, 3.0, 4.0],
            "r": [0.5, 2.0, None, 1.0],
            "pc": ["a", "b", "c", "d"],
        }
    )
    assert line(lambda: biomarker_change(frame, zero_method="x")) == (  # type: ignore[arg-type]
        "zero_method='x': wilcox, pratt or zsplit"
    )
    assert line(lambda: biomarker_change(frame, responder="r")) == (
        "row 1: r=0.5: true/false or 1/0; row 2: r=2.0: true/false or 1/0"
    )
    assert kinds(lambda: biomarker_change(frame, responder="r")) == ["invalid", "invalid"]
    words = frame.with_columns(r=pl.Series(["1", "0", None, "yes"]))
    assert line(lambda: biomarker_change(words, responder="r")) == (
        "row 1: r='1': true/false or 1/0; row 2: r='0': true/false or 1/0; "
        "row 4: r='yes': true/false or 1/0"
    )
    assert line(lambda: biomarker_change(frame, pasi_pchg="pc")) == "pc='String' is not numeric"


def test_long_measurements_for_pairs() -> None:
    long = pl.DataFrame({"patient_id": [1, 1, None], "day": [0, 0, 3], "value": [1.0, 2, 3]})
    assert line(lambda: derive_biomarker_pairs(long, 28)) == (
        "row 3: patient_id is missing (a value on every row); "
        "row 2: day=0: one row per patient_id and day"
    )
    assert line(lambda: derive_biomarker_pairs("x", 28)) == (  # type: ignore[arg-type]
        "measurements='str' is not a Polars DataFrame"
    )
    # Reworded with this test (was "follow_up_day=0 is outside a day after 0 (post-baseline)").
    assert line(lambda: derive_biomarker_pairs(long, 0)) == (
        "follow_up_day=0: a day after 0 (post-baseline)"
    )
    assert line(lambda: derive_biomarker_pairs(long, True)) == (
        "follow_up_day=True is not a whole study day"
    )
    days = pl.DataFrame({"patient_id": [1], "day": ["0"], "value": [1.0]})
    assert line(lambda: derive_biomarker_pairs(days, 28)) == "day='String' is not numeric"


# --- mixed model --------------------------------------------------------------------------------


def test_mixed_model_inputs() -> None:
    assert line(lambda: fit_pasi_trajectory("x")) == "visits='str' is not a Polars DataFrame"  # type: ignore[arg-type]
    assert line(lambda: fit_pasi_trajectory(pl.DataFrame({"patient_id": [1]}))) == (
        "pasi is missing (a column of ['patient_id']); week is missing (a column of ['patient_id'])"
    )
    spaced = pl.DataFrame({"patient_id": [1], "pasi": [1.0], "week": [1], "my arm": ["a"]})
    assert line(lambda: fit_pasi_trajectory(spaced, arm="my arm", level=2)) == (
        "column='my arm': a plain identifier name; level=2: 0–1, exclusive (e.g. 0.95)"
    )
    text = pl.DataFrame({"patient_id": [1], "pasi": ["1"], "week": [True]})
    assert line(lambda: fit_pasi_trajectory(text)) == (
        "pasi='String' is not numeric; week='Boolean' is not numeric"
    )
    assert kinds(lambda: fit_pasi_trajectory(text)) == ["type", "type"]
    holes = pl.DataFrame(
        {
            "patient_id": [1, None],
            "pasi": [1.0, 2],
            "week": [None, float("inf")],
            "arm": ["a", None],
        }
    )
    assert line(lambda: fit_pasi_trajectory(holes, arm="arm")) == (
        "row 1: week=None: a finite time for every visit; "
        "row 2: patient_id is missing (an identifier); "
        "row 2: week=inf: a finite time for every visit; "
        "row 2: arm is missing (an arm for every visit)"
    )
    one = pl.DataFrame({"patient_id": [1, 1, 2], "pasi": [1.0, 2, None], "week": [0, 1, 0]})
    assert line(lambda: fit_pasi_trajectory(one)) == (
        "patient_id=1: at least 2 patients with an observed pasi"
    )


@pytest.mark.parametrize("level", [0, 1, 1.5, True, "0.95"])
def test_mixed_model_level_is_strictly_between_0_and_1(level: object) -> None:
    frame = pl.DataFrame({"patient_id": [1, 2], "pasi": [1.0, 2.0], "week": [0, 0]})
    assert line(lambda: fit_pasi_trajectory(frame, level=level)) == (  # type: ignore[arg-type]
        f"level={level!r}: 0–1, exclusive (e.g. 0.95)"
    )


def test_asking_for_a_term_the_model_lacks() -> None:
    result = MixedModelResult(
        formula="pasi ~ week",
        re_formula="1",
        fixed_effects=pl.DataFrame({"term": ["Intercept", "week"], "estimate": [20.0, -2.0]}),
        intercept_variance=3.0,
        slope_variance=None,
        intercept_slope_covariance=None,
        residual_variance=0.25,
        n_patients=6,
        n_observations=30,
        n_dropped=0,
        converged=True,
        log_likelihood=-10.0,
        reml=True,
        level=0.95,
        warnings=(),
    )
    assert result.estimate("week") == -2.0
    assert result.estimate("Intercept") == 20.0
    assert line(lambda: result.estimate("arm")) == "term='arm': one of ['Intercept', 'week']"


# --- Kaplan–Meier --------------------------------------------------------------------------------


def test_survival_inputs() -> None:
    assert line(lambda: kaplan_meier("x")) == "events='str' is not a Polars DataFrame"  # type: ignore[arg-type]
    assert line(lambda: kaplan_meier(pl.DataFrame({"t": [1]}), group="g", level=1)) == (
        "time is missing (a column of ['t']); event is missing (a column of ['t']); "
        "g is missing (a column of ['t']); level=1: 0–1, exclusive (e.g. 0.95)"
    )
    empty = pl.DataFrame({"time": [], "event": []})
    assert line(lambda: kaplan_meier(empty)) == (
        "events=0: at least one patient (the frame is empty)"
    )
    text = pl.DataFrame({"time": ["1"], "event": [1]})
    assert line(lambda: kaplan_meier(text)) == "time='String' is not a numeric time (days or weeks)"
    flags = pl.DataFrame({"time": [True], "event": [1]})
    assert line(lambda: kaplan_meier(flags)) == (
        "time='Boolean' is not a numeric time (days or weeks)"
    )


def test_survival_rows() -> None:
    frame = pl.DataFrame(
        {
            "time": [None, -1.0, float("inf"), 2.0],
            "event": [1, None, 2, 1],
            "g": ["a", None, "b", "c"],
        }
    )
    call = lambda: kaplan_meier(frame, group="g")  # noqa: E731
    assert line(call) == (
        "row 1: time is missing (a time for every patient); "
        "row 2: time=-1.0: a finite time ≥ 0; "
        "row 3: time=inf: a finite time ≥ 0; "
        "row 2: event=None: 0 (censored) or 1 (event); "
        "row 3: event=2: 0 (censored) or 1 (event); "
        "row 2: g is missing (a group for every patient)"
    )
    assert kinds(call) == ["missing", "invalid", "invalid", "invalid", "invalid", "missing"]
    words = pl.DataFrame({"time": [1.0, 2.0], "event": ["1", "0"]})
    assert line(lambda: kaplan_meier(words)) == (
        "row 1: event='1': 0 (censored) or 1 (event); row 2: event='0': 0 (censored) or 1 (event)"
    )


def test_asking_for_a_group_that_was_not_fitted() -> None:
    km = kaplan_meier(
        pl.DataFrame({"time": [1.0, 2.0], "event": [1, 1], "arm": ["A", "C"]}), group="arm"
    )
    assert line(lambda: km.curve("B")) == "group='B': one of ['A', 'C']"
    assert km.curve("C").n == 1
