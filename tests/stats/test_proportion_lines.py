"""Responder-rate intervals: the line a person reads, the refusal lines and Wald's clipping.

Pinned after a mutation run over stats/ (docs/mutation.md).
"""

import math

import pytest

from psotrack.errors import ValidationError
from psotrack.stats.proportions import difference_interval, proportion_interval


def test_difference_summary_of_a_published_example():
    # Newcombe RG, Stat Med 1998;17:873–890, Table II: 56/70 vs 48/80, difference 0.8 − 0.6 =
    # 0.200, hybrid score interval 0.0524 to 0.3339
    line = difference_interval(56, 70, 48, 80).summary()
    assert line == "56/70 vs 48/80: difference +0.200 (95 % CI +0.052 to +0.334, newcombe)"


def test_wald_interval_is_clipped_to_minus_one_to_one():
    # 9/10 vs 0/10: d = 0.9, half-width 1.959964 × √(0.9 · 0.1 / 10) = 0.18594, so the upper
    # limit 1.086 is clipped to 1 and the lower is 0.71406; the mirror case clips at −1
    up = difference_interval(9, 10, 0, 10, method="wald")
    assert (up.low, up.high) == (pytest.approx(0.71406, abs=5e-6), 1.0)
    assert up.summary() == "9/10 vs 0/10: difference +0.900 (95 % CI +0.714 to +1.000, wald)"
    down = difference_interval(0, 10, 9, 10, method="wald")
    assert (down.low, down.high) == (-1.0, pytest.approx(-0.71406, abs=5e-6))


def test_rate_summary_names_its_level_and_method():
    # 8/17 = 0.471; Wilson 90 % limits 0.290–0.660 (as statsmodels computes, see
    # test_proportions.py); the line carries the level and the method
    line = proportion_interval(8, 17, "wilson", 0.9).summary()
    assert line == "8/17 = 0.471 (90 % CI 0.290–0.660, wilson)"


def refusal(call) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value


def test_every_problem_of_a_rate_in_one_line():
    error = refusal(lambda: proportion_interval(9, 0, "probit", 0.0))  # type: ignore[arg-type]
    assert str(error) == (
        "n=0: 1 or more (no interval without patients); "
        "responders=9 is outside 0–0 (the patients counted); "
        "level=0.0 is outside 0–1, exclusive (e.g. 0.95); "
        "method='probit': exact, wilson or jeffreys"
    )
    assert [p.kind for p in error.problems] == ["invalid", "range", "range", "invalid"]
    error = refusal(lambda: proportion_interval(True, "4", level="0.95"))  # type: ignore[arg-type]
    assert str(error) == (
        "n='4' is not a whole number of patients; "
        "responders=True is not a whole number of patients; "
        "level='0.95' is not a number between 0 and 1 (e.g. 0.95)"
    )
    assert str(refusal(lambda: proportion_interval(5, 4))) == (
        "responders=5 is outside 0–4 (the patients counted)"
    )


def test_every_problem_of_a_difference_in_one_line():
    error = refusal(lambda: difference_interval(1, 5, True, 0, method="x", level=2))  # type: ignore[arg-type]
    assert str(error) == (
        "second_n=0: 1 or more (no interval without patients); "
        "second_responders=True is not a whole number of patients; "
        "level=2 is outside 0–1, exclusive (e.g. 0.95); "
        "method='x': newcombe or wald"
    )
    error = refusal(lambda: difference_interval(6, 5, 1, 5))
    assert str(error) == "first_responders=6 is outside 0–5 (the patients counted)"


def test_newcombe_at_90_percent_uses_both_wilson_intervals_at_that_level():
    # Wilson at 90 % (z = 1.6448536) by its formula for 20/30 and 10/30, then Newcombe's hybrid:
    # low = d − √((p₁ − l₁)² + (u₂ − p₂)²), high = d + √((u₁ − p₁)² + (p₂ − l₂)²)
    z = 1.6448536269514722

    def wilson(x, n):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half

    (l1, u1), (l2, u2) = wilson(20, 30), wilson(10, 30)
    p1, p2 = 20 / 30, 10 / 30
    d = difference_interval(20, 30, 10, 30, level=0.9)
    assert (d.first.level, d.second.level) == (0.9, 0.9)
    assert (d.second.low, d.second.high) == (pytest.approx(l2), pytest.approx(u2))
    assert d.low == pytest.approx(p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    assert d.high == pytest.approx(p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def test_difference_refusals_have_their_kinds():
    error = refusal(lambda: difference_interval(1, 5, True, 0, method="x", level=2))  # type: ignore[arg-type]
    assert [p.kind for p in error.problems] == ["invalid", "type", "range", "invalid"]
    error = refusal(lambda: difference_interval("1", 5.0, 6, 5))  # type: ignore[arg-type]
    assert str(error) == (
        "first_n=5.0 is not a whole number of patients; "
        "first_responders='1' is not a whole number of patients; "
        "second_responders=6 is outside 0–5 (the patients counted)"
    )
    assert [p.kind for p in error.problems] == ["type", "type", "range"]


def test_wilson_limits_are_exactly_0_and_1_at_none_and_all():
    # At x = n the Wilson upper limit is 1 (and at x = 0 the lower is 0); computed in floating
    # point, 10/10 at 95 % would come out as 0.9999999999999999.
    assert proportion_interval(10, 10, "wilson").high == 1.0
    assert proportion_interval(13, 13, "wilson").high == 1.0
    assert proportion_interval(0, 10, "wilson").low == 0.0
