"""Rows grouped by patient and day with one sort: hash-prefix collisions, hash collisions, and the
segment-reduction endpoints agreeing with a plain-Python reference on random cohorts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from psotrack.endpoints import (
    Assessments,
    FlareRule,
    LossOfResponseRule,
    _segments,
    derive_flares,
    derive_patient_endpoints,
    prepare_assessments,
)
from psotrack.endpoints._validate import label_codes, validate_assessments
from psotrack.errors import ValidationError


def _random_cohort(patients: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    days = np.array([-14, 0, 14, 28, 56, 84, 112])
    patient = np.repeat(np.arange(patients), days.size)
    day = np.tile(days, patients)
    tenths = rng.integers(0, 200, patient.size).astype(float)
    tenths[rng.random(patient.size) < 0.15] = np.nan
    tenths[(patient % 17 == 0) & (day == 0)] = 0.0  # baseline PASI 0: not evaluable
    frame = pl.DataFrame(
        {
            "patient_id": [f"p{i}" for i in patient],
            "arm": np.where(patient % 2 == 0, "A", "B"),
            "visit": [f"D{d}" for d in day],
            "day": day,
            "pasi": tenths / 10,
        }
    ).with_columns(
        pl.col("pasi").fill_nan(None),
        # Some rows without an arm (the patient's arm is then read from another row).
        pl.when(pl.Series(rng.random(patient.size) < 0.3)).then(None).otherwise(pl.col("arm")),
    )
    kept = pl.Series(rng.random(patient.size) >= 0.2)  # visits not held at all
    return frame.filter(kept).sample(fraction=1.0, shuffle=True, seed=seed)


Visit = tuple[int, int]  # (day, PASI tenths)


def _improved(base: int, value: int, percent: int) -> bool:
    return (base - value) * 100 >= percent * base


def _first_day(post: list[Visit], base: int, percent: int) -> int | None:
    return next((d for d, v in post if _improved(base, v, percent)), None)


def _durability(
    base: int, post: list[Visit], loss: LossOfResponseRule, stop_day: int, percent: int
) -> list[object]:
    """``base`` … ``relapse_day`` of one evaluable patient, straight from the definitions."""
    firsts = [_first_day(post, base, t) for t in (50, 75, 90, 100)]
    sustained = firsts[1] is not None and all(
        _improved(base, v, 75) for d, v in post if d > firsts[1]
    )
    reached = _first_day(post, base, loss.reached)
    lost = None
    if reached is not None:
        later = [d for d, v in post if d > reached and not _improved(base, v, loss.lost_below)]
        lost = min(later, default=None)
    best_pchg = min(((v - base) * 100 / base for _, v in post), default=None)
    relapse = None
    on_therapy = [v for d, v in post if d <= stop_day]
    best = min(on_therapy, default=base)
    if best < base:
        given_back = [
            d for d, v in post if d > stop_day and (v - best) * 100 >= (base - best) * percent
        ]
        relapse = min(given_back, default=None)
    return [base / 10, best_pchg, *firsts, sustained, lost, relapse]


def _flares(post: list[Visit], rule: FlareRule) -> tuple[int | None, int]:
    best: int | None = None
    first, count, previous = None, 0, False
    for day, value in post:
        rise = 0 if best is None else value - best
        flare = (
            best is not None
            and rise >= max(rule.min_rise_tenths, 1)
            and rise * 100 >= best * rule.rise_percent
        )
        count += flare and not previous
        first = day if flare and first is None else first
        previous = flare
        best = value if best is None else min(best, value)
    return first, count


def _reference(
    frame: pl.DataFrame, loss: LossOfResponseRule, stop_day: int, percent: int, flare: FlareRule
) -> pl.DataFrame:
    """The endpoints' definitions in plain Python, one patient at a time (independent of the
    segment reductions): baseline = last PASI on or before day 0, thresholds in tenths."""
    arms: dict[str, str | None] = {}
    visits: dict[str, list[tuple[int, int | None]]] = {}
    for patient, arm, day, pasi in frame.select("patient_id", "arm", "day", "pasi").iter_rows():
        arms[patient] = arm if arm is not None else arms.get(patient)
        visits.setdefault(patient, []).append((day, None if pasi is None else round(pasi * 10)))
    rows = []
    for patient in sorted(visits):
        ordered = sorted(visits[patient])
        post = [(d, v) for d, v in ordered if d > 0 and v is not None]
        before = [v for d, v in ordered if d <= 0 and v is not None]
        base = before[-1] if before and before[-1] > 0 else None
        endpoints: list[object] = [None] * 9
        if base is not None:
            endpoints = _durability(base, post, loss, stop_day, percent)
        elif before:  # a baseline of 0 is shown; only its relative endpoints are empty
            endpoints[0] = 0.0
        rows.append((patient, arms[patient], *endpoints, *_flares(post, flare)))
    schema = {
        "patient_id": pl.String,
        "arm": pl.String,
        "base": pl.Float64,
        "best_pchg": pl.Float64,
    }
    schema |= {f"first_pasi{t}_day": pl.Int64 for t in (50, 75, 90, 100)}
    schema |= {"pasi75_sustained": pl.Boolean, "loss_of_response_day": pl.Int64}
    schema |= {"relapse_day": pl.Int64, "first_flare_day": pl.Int64, "flare_count": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


@pytest.mark.parametrize(
    ("seed", "loss", "stop_day", "percent", "flare"),
    [
        (1, LossOfResponseRule(), 56, 50, FlareRule()),
        (2, LossOfResponseRule(90, 75), 28, 40, FlareRule(25, 5)),
        (3, LossOfResponseRule(50, 50), 84, 50, FlareRule(100, 1)),
    ],
)
def test_segment_endpoints_equal_a_plain_python_reference(
    seed: int, loss: LossOfResponseRule, stop_day: int, percent: int, flare: FlareRule
) -> None:
    frame = _random_cohort(300, seed)
    expected = _reference(frame, loss, stop_day, percent, flare)
    prepared = prepare_assessments(frame)
    assert prepared.segments is not None
    for source in (prepared, Assessments(prepared.frame)):  # the latter rebuilds its segments
        found = derive_patient_endpoints(
            source, loss_rule=loss, stop_day=stop_day, relapse_percent=percent, flare_rule=flare
        )
        assert_frame_equal(found, expected)
    flares = ["patient_id", "arm", "first_flare_day", "flare_count"]
    assert_frame_equal(derive_flares(frame, flare), expected.select(flares))
    plain = derive_patient_endpoints(frame, loss_rule=loss)
    assert_frame_equal(plain, expected.drop("relapse_day", "first_flare_day", "flare_count"))
    # The data exercise every endpoint.
    for name in ("first_pasi75_day", "loss_of_response_day", "relapse_day", "first_flare_day"):
        assert 0 < found[name].null_count() < found.height, name
    assert found["base"].null_count() > 0 and (found["flare_count"] > 1).any()
    assert found["arm"].null_count() == 0


def test_patients_sharing_a_hash_prefix_are_separated_and_ordered_by_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Same top 40 bits, different low bits: the packed sort interleaves their rows by day,
    # and the second hash then shows the segment holds two patients.
    shared = {"a": np.uint64(0xABCDEF0123 << 24 | 5), "b": np.uint64(0xABCDEF0123 << 24 | 9)}
    real = _segments._hash

    def prefix_twins(frame: pl.DataFrame, seed: int) -> np.ndarray:
        if seed != _segments._SEEDS[0]:
            return real(frame, seed)
        return np.array([shared[p] for p in frame["patient_id"]], dtype=np.uint64)

    monkeypatch.setattr(_segments, "_hash", prefix_twins)
    frame = pl.DataFrame({"patient_id": ["b", "a", "b", "a", "a"], "day": [28, 28, 0, 0, 14]})
    found = _segments.patient_segments(frame)
    assert found.order.tolist() == [3, 4, 1, 2, 0]  # a on days 0, 14, 28, then b on 0, 28
    assert found.starts.tolist() == [0, 3]
    assert found.day.tolist() == [0, 14, 28, 0, 28]
    assert found.code.tolist() == [1, 0, 1, 0, 0]


def test_prefix_twins_are_separated_even_when_the_second_hash_collides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Found in review: the merge check looked only at the 32-bit second hash, so two patients
    # sharing the sort prefix and that hash would have been merged; the full first hash tells.
    shared = {"a": np.uint64(0xABCDEF0123 << 24 | 5), "b": np.uint64(0xABCDEF0123 << 24 | 9)}

    def twins(frame: pl.DataFrame, seed: int) -> np.ndarray:
        if seed != _segments._SEEDS[0]:
            return np.zeros(frame.height, dtype=np.uint64)
        return np.array([shared[p] for p in frame["patient_id"]], dtype=np.uint64)

    monkeypatch.setattr(_segments, "_hash", twins)
    frame = pl.DataFrame({"patient_id": ["b", "a", "b", "a", "a"], "day": [28, 28, 0, 0, 14]})
    found = _segments.patient_segments(frame)
    assert found.starts.tolist() == [0, 3]
    assert found.day.tolist() == [0, 14, 28, 0, 28]


def test_a_full_hash_collision_falls_back_to_exact_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _segments._hash

    def colliding(frame: pl.DataFrame, seed: int) -> np.ndarray:
        values = real(frame, seed)
        return np.zeros_like(values) if seed == _segments._SEEDS[0] else values

    monkeypatch.setattr(_segments, "_hash", colliding)
    frame = pl.DataFrame(
        {"patient_id": ["x", "y", "x", "y"], "visit": ["W0", "W0", "W4", "W4"]}
        | {"day": [0, 0, 28, 28], "pasi": [10.0, 8.0, 2.5, 8.0]}
    )
    out = derive_patient_endpoints(frame)
    assert out.select("patient_id", "first_pasi75_day").rows() == [("x", 28), ("y", None)]
    # Two patients merged by the first hash would have looked like a repeated visit.
    validate_assessments(frame)


def test_repeated_visit_and_day_are_still_found_with_many_visit_labels() -> None:
    # More than 64 distinct labels: the bit-set test steps aside for the exact comparison.
    labels = [f"V{i}" for i in range(70)]
    frame = pl.DataFrame(
        {"patient_id": ["a"] * 71, "visit": [*labels, "V3"], "day": list(range(71)), "pasi": 1.0}
    )
    with pytest.raises(ValidationError) as caught:
        validate_assessments(frame)
    assert [(p.field, p.row) for p in caught.value.problems] == [("visit", 4), ("visit", 71)]


def test_a_huge_day_range_uses_the_general_sort() -> None:
    # Days spanning 2⁴⁵ leave no room for the hash prefix in a packed 64-bit key.
    frame = pl.DataFrame(
        {"patient_id": ["q", "p", "q", "p", "p"], "visit": ["W0", "W0", "L", "L", "S"]}
        | {"day": [0, 0, 1 << 45, 1 << 45, -7], "pasi": [10.0, 8.0, 2.5, 1.0, 9.0]}
    )
    found = _segments.patient_segments(frame)
    assert sorted(found.day.tolist()) == sorted(frame["day"].to_list())
    assert sorted(found.day[found.starts].tolist()) == [-7, 0]  # each patient's first day
    # Through the checked path such days never arrive: a study day is within ±36 500 (issue 14).
    with pytest.raises(ValidationError) as caught:
        derive_patient_endpoints(frame)
    assert [(p.field, p.row) for p in caught.value.problems] == [("day", 3), ("day", 4)]


def test_an_arm_change_is_found_among_more_than_64_arms() -> None:
    arms = [f"arm{i}" for i in range(70)]
    frame = pl.DataFrame(
        {
            "patient_id": [f"p{i}" for i in range(70)] + ["p5"],
            "arm": [*arms, "arm6"],
            "visit": ["W0"] * 70 + ["W4"],
            "day": [0] * 70 + [28],
            "pasi": 5.0,
        }
    )
    with pytest.raises(ValidationError) as caught:
        validate_assessments(frame)
    assert [(p.field, p.row) for p in caught.value.problems] == [("arm", 6), ("arm", 71)]
    validate_assessments(frame.with_columns(pl.col("arm").replace({"arm6": None})))


@pytest.mark.parametrize("count", [1, 13, 64])
def test_label_codes_tell_labels_apart_and_mark_missing(count: int) -> None:
    names = [f"visit {i}" for i in range(count)]
    labels = pl.Series([*names, None, *reversed(names)], dtype=pl.String)
    codes = label_codes(labels)
    assert codes is not None
    first, missing, second = codes[:count], codes[count], codes[count + 1 :]
    assert missing == 255
    assert len(set(first.tolist())) == count and max(first.tolist()) < 64  # distinct, 0–63
    assert second.tolist() == first.tolist()[::-1]  # equal labels, equal codes
    assert label_codes(pl.Series([f"v{i}" for i in range(65)])) is None


def test_an_empty_table_gives_no_patients() -> None:
    schema = {"patient_id": pl.String, "visit": pl.String, "day": pl.Int64, "pasi": pl.Float64}
    out = derive_patient_endpoints(pl.DataFrame(schema=schema))
    assert out.height == 0
    assert out.columns[:4] == ["patient_id", "arm", "base", "best_pchg"]
