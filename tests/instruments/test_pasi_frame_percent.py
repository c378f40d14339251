"""A Polars frame may give each region's area as a percentage (``<region>_area_pct``).

Pinned after the mutation run (docs/mutation.md): ``pasi_frame`` picked the percentage column
only when the score column was absent, and nothing tested either branch. Area bands
(Fredriksson & Pettersson 1978; reference instruments.md): 0 % → 0, < 10 % → 1, 10–29 % → 2,
30–49 % → 3, 50–69 % → 4, 70–89 % → 5, 90–100 % → 6.
"""

from decimal import Decimal

import polars as pl

from psotrack.instruments.pasi import REGIONS, SIGNS
from psotrack.instruments.pasi_batch import pasi_frame

SIGN_COLUMNS = {f"{r}_{s}": [2] for r in REGIONS for s in SIGNS}  # E + I + D = 6 everywhere


def test_percentages_are_banded_into_area_scores():
    # areas 5 % → 1, 10 % → 2, 35 % → 3, 95 % → 6; PASI = 6·(0.1·1 + 0.2·2 + 0.3·3 + 0.4·6)
    # = 6·3.8 = 22.8
    pct = {"head_area_pct": [5.0], "upper_limbs_area_pct": [10.0], "trunk_area_pct": [35.0]}
    frame = pl.DataFrame({"id": ["p1"], **SIGN_COLUMNS, **pct, "lower_limbs_area_pct": [95.0]})
    out = pasi_frame(frame)
    assert out["pasi"].to_list() == [Decimal("22.8")]
    assert out.columns == [*frame.columns, "pasi"]


def test_a_score_column_wins_over_a_percentage_column_of_the_same_region():
    # head_area = 1 is used, not head_area_pct = 95 (→ 6); the other regions as percentages:
    # areas 1, 2 (10 %), 3 (35 %), 6 (95 %) → 22.8 as above; with the percentage it would be
    # 6·(0.6 + 0.4 + 0.9 + 2.4) = 25.8
    frame = pl.DataFrame(
        {
            **SIGN_COLUMNS,
            "head_area": [1],
            "head_area_pct": [95.0],
            "upper_limbs_area_pct": [10.0],
            "trunk_area_pct": [35.0],
            "lower_limbs_area_pct": [95.0],
        }
    )
    assert pasi_frame(frame)["pasi"].to_list() == [Decimal("22.8")]
