"""The flare rule is stated once (``endpoints._durability.flare_decision``): a single visit's
decision (:meth:`FlareRule.flares`, used by the safety flag and the status sentence) is what the
cohort engine (:func:`derive_flares`) decides for that visit, for every pair of PASI values on a
grid and for rules other than the default."""

import itertools

import polars as pl
import pytest

from psotrack.endpoints import FlareRule, derive_flares
from psotrack.services.assessments import FLARE_RULE as FLAG_RULE
from psotrack.services.status import FLARE_RULE as SENTENCE_RULE

VALUES = [0, 1, 2, 3, 9, 10, 14, 15, 16, 39, 40, 59, 60, 61, 119, 120, 121, 480, 719, 720]


@pytest.mark.parametrize(
    "rule",
    [FlareRule(), FlareRule(rise_percent=25), FlareRule(rise_percent=100, min_rise_tenths=5)],
)
def test_one_visit_is_decided_as_the_engine_decides_it(rule):
    pairs = list(itertools.product(VALUES, VALUES))
    frame = pl.DataFrame(
        {
            "patient_id": [f"p{k}" for k in range(len(pairs)) for _ in range(3)],
            "visit": ["W0", "best", "latest"] * len(pairs),
            "day": [0, 28, 56] * len(pairs),
            "pasi": [v / 10 for best, latest in pairs for v in (72.0 * 10, best, latest)],
        }
    )
    engine = derive_flares(frame, rule)
    flared = dict(zip(engine["patient_id"], engine["flare_count"] > 0, strict=True))
    for k, (best, latest) in enumerate(pairs):
        assert rule.flares(latest, best) == flared[f"p{k}"], (rule, best, latest)


def test_hand_computed_edges_of_the_default_rule():
    # 50 % above the best, and above it: 6.0 over 4.0 flares, 5.9 does not; from 0 any rise.
    assert FlareRule().flares(60, 40) and not FlareRule().flares(59, 40)
    assert FlareRule().flares(1, 0) and not FlareRule().flares(0, 0)
    assert not FlareRule().flares(30, 40)


def test_the_safety_flag_and_the_status_sentence_use_the_same_rule():
    assert SENTENCE_RULE is FLAG_RULE
    assert FLAG_RULE == FlareRule()
