"""NAPSI: per-nail matrix + bed, finger and toe subtotals, named nails, strict validation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psotrack.errors import ValidationError
from psotrack.instruments.napsi import FINGERNAILS, NAIL_NAMES, TOENAILS, NailScore, napsi


def test_known_totals_and_recorded_nails():
    # hand computed: R1 2+1 = 3, L3 0+4 = 4 → fingers 7; RT1 4+4 = 8 → toes 8; total 15
    result = napsi({"L3": NailScore(0, 4), "RT1": NailScore(4, 4), "R1": NailScore(2, 1)})
    assert (result.fingers_total, result.toes_total, result.total) == (7, 8, 15)
    assert result.nails_scored == ("R1", "L3", "RT1")  # fixed anatomical order
    assert result.includes_toenails and result.maximum == 24
    assert result.nails[0].name == "right thumb"
    assert [row["nail"] for row in result.summary()][-3:] == ["fingers", "toes", "total"]


def test_all_ten_fingernails_at_maximum_is_80():
    result = napsi({nail: NailScore(4, 4) for nail in FINGERNAILS})
    assert result.total == 80 and result.maximum == 80 and not result.includes_toenails


def test_all_twenty_nails_at_maximum_is_160():
    result = napsi({nail: NailScore(4, 4) for nail in NAIL_NAMES})
    assert (result.fingers_total, result.toes_total, result.total) == (80, 80, 160)


def test_nail_names():
    assert len(FINGERNAILS) == 10 and len(TOENAILS) == 10
    assert FINGERNAILS["L5"] == "left little finger"
    assert TOENAILS["RT1"] == "right great toe"


def test_every_problem_listed():
    with pytest.raises(ValidationError) as info:
        napsi({"R6": NailScore(1, 1), "R1": NailScore(5, True), "L2": (1, 1)})  # type: ignore[dict-item]
    fields = [p.field for p in info.value.problems]
    assert fields == ["nail", "R1_matrix", "R1_bed", "L2"]
    assert "R1_matrix=5 is outside 0–4" in str(info.value)


@pytest.mark.parametrize("bad", ["2", 2.5, float("nan"), -1, None])
def test_bad_quadrant_counts(bad):
    with pytest.raises(ValidationError, match="L1_bed="):
        napsi({"L1": NailScore(0, bad)})


def test_no_nails_is_an_error():
    with pytest.raises(ValidationError, match="nails is missing"):
        napsi({})


@given(
    st.dictionaries(
        st.sampled_from(list(NAIL_NAMES)),
        st.builds(NailScore, st.integers(0, 4), st.integers(0, 4)),
        min_size=1,
    )
)
def test_totals_in_range_and_subtotals_add_up(nails):
    result = napsi(nails)
    assert result.fingers_total + result.toes_total == result.total
    assert 0 <= result.total <= result.maximum == 8 * len(nails) <= 160
    assert set(result.nails_scored) == set(nails)
