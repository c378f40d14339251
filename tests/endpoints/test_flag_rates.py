"""PGA 0/1 and DLQI 0/1 rates per visit under NRI, observed and LOCF, worked out by hand."""

from __future__ import annotations

import polars as pl
import pytest

from psotrack.endpoints.rates import derive_flag_rates
from psotrack.errors import ValidationError

ROWS = pl.DataFrame(
    {
        "patient_id": ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d"],
        "arm": ["X"] * 9 + ["Y"],
        "visit": ["W0", "W4", "W8"] * 3 + ["W0"],
        "day": [0, 28, 56, 0, 28, 56, 0, 28, 56, 0],
        "pasi": [10.0, 5.0, None, 10.0, 4.0, 1.0, 8.0, None, None, 9.0],
        "pga": [3, 1, None, 4, 2, 0, 3, None, None, 3],
        "dlqi": [12, 1, 0, 15, 2, None, 9, None, None, 20],
    }
)

# a: PGA 3 → 1 (success at W4) → missed; b: 4 → 2 → 0 (success at W8); c: only baseline;
# d (arm Y): only baseline. Grid: W4 day 28, W8 day 56.
HAND_PGA = {
    # NRI: every patient of the arm (X: a, b, c = 3; Y: d = 1).
    "nri": [("X", "W4", 28, 3, 1), ("Y", "W4", 28, 1, 0), ("X", "W8", 56, 3, 1),
            ("Y", "W8", 56, 1, 0)],
    # Observed: W4 a and b have a PGA (a is 0/1); W8 only b (0).
    "observed": [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 0, 0), ("X", "W8", 56, 1, 1),
                 ("Y", "W8", 56, 0, 0)],
    # LOCF: a's W4 success is carried to W8, b's W8 is 0: 2 of 2; c and d have nothing to carry.
    "locf": [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 0, 0), ("X", "W8", 56, 2, 2),
             ("Y", "W8", 56, 0, 0)],
}  # fmt: skip


@pytest.mark.parametrize("missing", list(HAND_PGA))
def test_pga_rates_under_each_missing_rule(missing: str) -> None:
    out = derive_flag_rates(ROWS, "pga01", missing=missing)  # type: ignore[arg-type]
    assert out.select("arm", "visit", "day", "n", "responders").rows() == HAND_PGA[missing]
    assert set(out["missing"].to_list()) == {missing}
    assert set(out["denominator"].to_list()) == {"itt"}


def test_dlqi_rates_pooled_with_exact_interval() -> None:
    # DLQI ≤ 1: W4 a (1) yes, b (2) no; W8 a (0) yes. NRI over all four patients.
    out = derive_flag_rates(ROWS, "dlqi01", by=None)
    assert out.select("arm", "visit", "n", "responders").rows() == [
        ("all", "W4", 4, 1),
        ("all", "W8", 4, 1),
    ]
    # Clopper–Pearson 1/4: lower = 1 − 0.975^(1/4) = 0.006309…, upper = 0.805879… (beta quantile).
    low, high = out.select("ci_low", "ci_high").row(0)
    assert low == pytest.approx(0.0063094, abs=1e-6)
    assert high == pytest.approx(0.8058796, abs=1e-6)
    assert out["rate"][0] == 0.25


def test_empty_denominator_has_no_rate() -> None:
    out = derive_flag_rates(ROWS, "pga01", missing="observed")
    y = out.filter(pl.col("arm") == "Y")
    assert y["rate"].to_list() == [None, None]


def test_bad_flag_and_missing_column_are_refused() -> None:
    with pytest.raises(ValidationError, match="flag"):
        derive_flag_rates(ROWS, "pasi75")
    with pytest.raises(ValidationError, match="dlqi"):
        derive_flag_rates(ROWS.drop("dlqi"), "dlqi01")
    with pytest.raises(ValidationError, match="missing"):
        derive_flag_rates(ROWS, "pga01", missing="worst")  # type: ignore[arg-type]
