"""Responder rates under NRI, observed and LOCF; the public WWW data set against plain Python."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from psotrack.endpoints import derive_response_rates, wide_to_long
from psotrack.errors import ValidationError
from psotrack.stats import proportion_interval
from tests.public_data import WWW_SUSTAINED_RESPONSE

DATA = WWW_SUSTAINED_RESPONSE

ROWS = pl.DataFrame(
    {
        "patient_id": ["a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d", "d", "e", "e"],
        "arm": ["X"] * 6 + ["Y"] * 8,
        "visit": ["W0", "W4", "W8"] * 4 + ["W0", "W4"],
        "day": [0, 28, 56, 0, 29, 56, 0, 28, 56, 0, 28, 57, 0, 28],
        "pasi": [10.0, 2.5, None, 10.0, 5.0, 1.0, 8.0, 2.0, 1.9, 8.0, None, None, 0.0, 0.0],
    }
)


def _table(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    return frame.select("arm", "visit", "day", "n", "responders").rows()


def test_nri_denominator_is_every_evaluable_patient() -> None:
    out = derive_response_rates(ROWS, threshold=75, missing="nri")
    # e has baseline 0: left out of every denominator; W4 day is the modal 28, W8 the modal 56
    assert _table(out) == [
        ("X", "W4", 28, 2, 1),
        ("Y", "W4", 28, 2, 1),
        ("X", "W8", 56, 2, 1),
        ("Y", "W8", 56, 2, 1),
    ]
    first = out.row(0, named=True)
    expected = proportion_interval(1, 2, "exact")
    assert (first["rate"], first["ci_low"], first["ci_high"]) == (0.5, expected.low, expected.high)
    assert set(out["missing"].to_list()) == {"nri"} and set(out["ci"].to_list()) == {"exact"}


def test_observed_denominator_counts_patients_with_a_value() -> None:
    out = derive_response_rates(ROWS, missing="observed", ci="wilson")
    assert _table(out) == [
        ("X", "W4", 28, 2, 1),
        ("Y", "W4", 28, 1, 1),
        ("X", "W8", 56, 1, 1),
        ("Y", "W8", 56, 1, 1),
    ]
    assert out["ci_low"].to_list()[0] == proportion_interval(1, 2, "wilson").low


def test_locf_carries_the_last_post_baseline_value() -> None:
    out = derive_response_rates(ROWS, missing="locf")
    # a's W8 is carried from W4 (2.5 of 10 = 75 %); d has no post-baseline value: left out
    assert _table(out) == [
        ("X", "W4", 28, 2, 1),
        ("Y", "W4", 28, 1, 1),
        ("X", "W8", 56, 2, 2),
        ("Y", "W8", 56, 1, 1),
    ]


def test_pooled_rates_and_empty_denominator() -> None:
    pooled = derive_response_rates(ROWS, by=None, missing="nri")
    assert pooled.select("arm", "visit", "n", "responders").rows() == [
        ("all", "W4", 4, 2),
        ("all", "W8", 4, 2),
    ]
    nobody = ROWS.with_columns(
        pl.when(pl.col("day") > 50).then(None).otherwise("pasi").alias("pasi")
    )
    out = derive_response_rates(nobody, missing="observed", by=None).filter(pl.col("visit") == "W8")
    assert out.select("n", "rate", "ci_low").row(0) == (0, None, None)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValidationError, match="missing"):
        derive_response_rates(ROWS, missing="worst")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="by"):
        derive_response_rates(ROWS, by="site")


def _plain_python_rates(path: Path, missing: str) -> dict[tuple[str, str], tuple[int, int]]:
    """Independent computation: integer tenths, per arm and visit, straight from the CSV."""
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    visits = [name for name in records[0] if name.startswith("WEEK")]
    result: dict[tuple[str, str], tuple[int, int]] = {}
    for record in records:
        if record["BASELINE"] == "NA" or round(float(record["BASELINE"]) * 10) == 0:
            continue
        base = round(float(record["BASELINE"]) * 10)
        for visit in visits:
            n, x = result.get((record["TRT"], visit), (0, 0))
            if record[visit] == "NA":
                if missing == "nri":
                    n += 1
            else:
                value = round(float(record[visit]) * 10)
                n += 1
                x += int((base - value) * 100 >= 75 * base)
            result[(record["TRT"], visit)] = (n, x)
    return result


@pytest.mark.parametrize("missing", ["nri", "observed"])
def test_www_sustained_response_rates_match_plain_python(missing: str) -> None:
    wide = pl.read_csv(DATA, null_values="NA")
    out = derive_response_rates(wide_to_long(wide), threshold=75, missing=missing)  # type: ignore[arg-type]
    expected = _plain_python_rates(DATA, missing)
    got = {(row[0], row[1]): (row[3], row[4]) for row in _table(out)}
    assert got == expected
    assert len(got) == 3 * 8
    assert out["day"].to_list() == sorted(out["day"].to_list())
    assert out.filter(pl.col("visit") == "WEEK52")["day"].to_list() == [364] * 3


# Regression (review): the arm recorded only on the W0 row applies to the patient's later visits,
# and patients with no arm at all form an empty-arm group instead of vanishing in a join.
ARM_ON_W0_ONLY = pl.DataFrame(
    {
        "patient_id": ["a", "a", "b", "b", "c", "c"],
        "arm": ["X", None, "X", "X", None, None],
        "visit": ["W0", "W4"] * 3,
        "day": [0, 28, 0, 28, 0, 28],
        # a: 10 → 2 (80 %, PASI 75); b: 10 → 5 (50 %); c: 10 → 1 (90 %), no arm anywhere
        "pasi": [10.0, 2.0, 10.0, 5.0, 10.0, 1.0],
    }
)


@pytest.mark.parametrize("missing", ["nri", "observed", "locf"])
def test_rows_take_the_patients_arm(missing: str) -> None:
    out = derive_response_rates(ARM_ON_W0_ONLY, missing=missing)  # type: ignore[arg-type]
    assert _table(out) == [(None, "W4", 28, 1, 1), ("X", "W4", 28, 2, 1)]


# Regression (review): a pre-treatment row whose label is, by its modal day, a post-baseline
# visit is not a post-baseline value. UNS is day 30 for b and c (modal) but day −3 for a.
LABEL_BEFORE_TREATMENT = pl.DataFrame(
    {
        "patient_id": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
        "visit": ["UNS", "W0", "W4", "W0", "W4", "UNS", "W0", "W4", "UNS"],
        "day": [-3, 0, 28, 0, 28, 30, 0, 28, 30],
        "pasi": [2.0, 10.0, 8.0, 10.0, 8.0, 8.0, 10.0, 8.0, 2.5],
    }
)


@pytest.mark.parametrize(
    ("missing", "uns"),
    [
        # a has no post-baseline UNS value: counted as a non-responder only under NRI
        ("nri", ("all", "UNS", 30, 3, 1)),
        ("observed", ("all", "UNS", 30, 2, 1)),
        # LOCF: a's W4 (8 of 10, no response) is carried to UNS, never the day −3 PASI 2
        ("locf", ("all", "UNS", 30, 3, 1)),
    ],
)
def test_pre_treatment_row_is_not_a_response(missing: str, uns: tuple[object, ...]) -> None:
    out = derive_response_rates(LABEL_BEFORE_TREATMENT, missing=missing, by=None)  # type: ignore[arg-type]
    assert _table(out) == [("all", "W4", 28, 3, 0), uns]
