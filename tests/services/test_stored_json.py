"""What an assessment stores of its responses: the plain JSON that a JSON round trip gives.

``stored_json`` copies plain values directly (for speed) and sends anything else through the JSON
text; both ways must equal the independent reference ``json.loads(json.dumps(x, allow_nan=False))``
and refuse exactly what it refuses.
"""

import json
import math
from decimal import Decimal
from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.services.assessments import stored_json


class Grade(IntEnum):
    TWO = 2


def reference(value):
    return json.loads(json.dumps(value, allow_nan=False))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.just(Grade.TWO),
    st.just(Decimal("1.5")),
)
KEYS = st.one_of(st.text(max_size=3), st.integers(0, 3), st.booleans(), st.none())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(KEYS, inner, max_size=3),
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=3), VALUES, max_size=4))
def test_stored_json_is_the_json_round_trip(responses):
    try:
        expected = reference(responses)
    except (TypeError, ValueError):
        with pytest.raises(ValidationError) as refused:
            stored_json(responses)
        assert refused.value.problems[0].field == "responses"
        return
    stored = stored_json(responses)
    assert stored == expected
    assert json.dumps(stored) == json.dumps(expected)  # same types too (1 vs 1.0, list vs tuple)


def test_plain_responses_are_copies_not_the_entered_objects():
    region = {"erythema": 2, "area": 3}
    responses = {"head": region, "notes": ("a", 1.5)}
    stored = stored_json(responses)
    assert stored == {"head": {"erythema": 2, "area": 3}, "notes": ["a", 1.5]}
    region["erythema"] = 4
    assert stored["head"]["erythema"] == 2


@pytest.mark.parametrize(
    "responses",
    [{"x": math.nan}, {"x": math.inf}, {"x": [Decimal("1")]}, {"x": {1j: 2}}, {"x": object()}],
)
def test_values_that_would_not_survive_the_database_are_refused(responses):
    with pytest.raises(ValidationError):
        stored_json(responses)
