"""Responder flags at the edges the mutation run found unpinned (docs/mutation.md): a PGA of 2 is
not "clear or almost clear", and response thresholds run from 1 % to 100 % inclusive."""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints import derive_responders
from psotrack.errors import ValidationError


def test_pga_2_is_not_clear_or_almost_clear_even_after_a_two_grade_improvement() -> None:
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "a"],
            "visit": ["W0", "W4", "W8"],
            "day": [0, 28, 56],
            "pasi": [12.0, 6.0, 3.0],
            "pga": [4, 2, 1],
        }
    )
    out = derive_responders(rows).filter(pl.col("day") > 0).sort("day")
    # W4: PGA 4 → 2 improves by 2 grades but 2 is not 0/1; W8: PGA 1 after a 3-grade improvement.
    assert out["pga01"].to_list() == [0, 1]
    assert out["pga01_2grade"].to_list() == [0, 1]


def test_thresholds_1_and_100_percent_are_allowed() -> None:
    rows = pl.DataFrame(
        {
            "patient_id": ["a", "a", "a"],
            "visit": ["W0", "W4", "W8"],
            "day": [0, 28, 56],
            "pasi": [10.0, 9.9, 0.0],
        }
    )
    out = derive_responders(rows, thresholds=(1, 100)).filter(pl.col("day") > 0).sort("day")
    # 10 → 9.9 is exactly a 1 % improvement; 10 → 0 is 100 %.
    assert out["pasi1"].to_list() == [1, 1]
    assert out["pasi100"].to_list() == [0, 1]


@pytest.mark.parametrize("threshold", [0, 101])
def test_thresholds_outside_1_to_100_are_refused(threshold: int) -> None:
    rows = pl.DataFrame({"patient_id": ["a"], "visit": ["W0"], "day": [0], "pasi": [10.0]})
    with pytest.raises(ValidationError, match=f"threshold={threshold}"):
        derive_responders(rows, thresholds=(threshold,))
