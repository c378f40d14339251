"""Responder rates under NRI, observed and LOCF; the public WWW data set against plain Python."""

from __future__ import annotations

import csv

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


# Hand-computed tables for ROWS. Patient e (arm Y) has baseline 0, so no percentage improvement
# exists: ITT counts him as a non-responder wherever the missing-data rule counts him, the
# "evaluable" rule leaves him out. a 10 → 2.5 (75 %, responder) then missed; b 10 → 5 (50 %) →
# 1 (90 %); c 8 → 2 (75 %) → 1.9 (76 %); d 8 → missed → missed. W4 is day 28, W8 day 56 (modal).
HAND_RATES = {
    # NRI: every patient of the arm at every visit.
    ("nri", "itt"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 3, 1), ("X", "W8", 56, 2, 1),
                     ("Y", "W8", 56, 3, 1)],
    ("nri", "evaluable"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 2, 1), ("X", "W8", 56, 2, 1),
                           ("Y", "W8", 56, 2, 1)],
    # Observed: patients with a PASI at the visit (e has one at W4, PASI 0).
    ("observed", "itt"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 2, 1), ("X", "W8", 56, 1, 1),
                          ("Y", "W8", 56, 1, 1)],
    ("observed", "evaluable"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 1, 1),
                                ("X", "W8", 56, 1, 1), ("Y", "W8", 56, 1, 1)],
    # LOCF: a's W8 is carried from W4 (2.5 of 10 = 75 %), e's W4 0 to W8; d has no
    # post-baseline value: left out under both rules.
    ("locf", "itt"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 2, 1), ("X", "W8", 56, 2, 2),
                      ("Y", "W8", 56, 2, 1)],
    ("locf", "evaluable"): [("X", "W4", 28, 2, 1), ("Y", "W4", 28, 1, 1), ("X", "W8", 56, 2, 2),
                            ("Y", "W8", 56, 1, 1)],
}  # fmt: skip


@pytest.mark.parametrize(("missing", "denominator"), list(HAND_RATES))
def test_rates_under_each_missing_and_denominator_rule(missing: str, denominator: str) -> None:
    out = derive_response_rates(ROWS, missing=missing, denominator=denominator)  # type: ignore[arg-type]
    assert _table(out) == HAND_RATES[(missing, denominator)]
    assert set(out["missing"].to_list()) == {missing}
    assert set(out["denominator"].to_list()) == {denominator}


def test_nri_is_itt_by_default_with_exact_intervals() -> None:
    out = derive_response_rates(ROWS, threshold=75, missing="nri")
    assert _table(out) == HAND_RATES[("nri", "itt")]
    assert out.columns[-3:] == ["missing", "denominator", "ci"]
    assert set(out["denominator"].to_list()) == {"itt"} and set(out["ci"].to_list()) == {"exact"}
    y_w4 = out.row(1, named=True)
    expected = proportion_interval(1, 3, "exact")
    assert (y_w4["rate"], y_w4["ci_low"], y_w4["ci_high"]) == (1 / 3, expected.low, expected.high)


def test_observed_interval_method_is_applied() -> None:
    out = derive_response_rates(ROWS, missing="observed", ci="wilson", denominator="evaluable")
    assert out["ci_low"].to_list()[0] == proportion_interval(1, 2, "wilson").low


def test_itt_keeps_patients_without_any_baseline_and_an_arm_of_only_them() -> None:
    # f and g (arm Z) have no PASI on or before day 0 at all; f is seen at W4 with PASI 1.
    # ITT: arm Z is 0 of 2 at W4 (NRI); "evaluable": arm Z does not appear.
    extra = pl.DataFrame(
        {
            "patient_id": ["f", "f", "g"],
            "arm": ["Z"] * 3,
            "visit": ["W0", "W4", "W0"],
            "day": [0, 28, 0],
            "pasi": [None, 1.0, None],
        }
    )
    rows = pl.concat([ROWS, extra])
    itt = derive_response_rates(rows, missing="nri").filter(pl.col("arm") == "Z")
    assert _table(itt) == [("Z", "W4", 28, 2, 0), ("Z", "W8", 56, 2, 0)]
    assert itt["rate"].to_list() == [0.0, 0.0]
    evaluable = derive_response_rates(rows, missing="nri", denominator="evaluable")
    assert "Z" not in evaluable["arm"].to_list()


def test_pooled_rates_and_empty_denominator() -> None:
    # Pooled: a, b, c, d, e. W4 responders a and c; W8 b and c; e counts only under ITT.
    pooled = derive_response_rates(ROWS, by=None, missing="nri")
    assert pooled.select("arm", "visit", "n", "responders").rows() == [
        ("all", "W4", 5, 2),
        ("all", "W8", 5, 2),
    ]
    evaluable = derive_response_rates(ROWS, by=None, missing="nri", denominator="evaluable")
    assert evaluable.select("n", "responders").rows() == [(4, 2), (4, 2)]
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
    with pytest.raises(ValidationError, match="denominator='all': itt or evaluable"):
        derive_response_rates(ROWS, denominator="all")  # type: ignore[arg-type]


def _with_lost_baselines(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every 50th subject's baseline missing and the next one's 0 (the file has neither)."""
    changed = []
    for index, record in enumerate(records):
        lost = {0: "NA", 1: "0.0"}.get(index % 50)
        changed.append({**record, "BASELINE": lost} if lost else record)
    return changed


def _plain_python_rates(
    records: list[dict[str, str]], missing: str, denominator: str
) -> dict[tuple[str, str], tuple[int, int]]:
    """Independent computation: integer tenths, per arm and visit, straight from the CSV."""
    visits = [name for name in records[0] if name.startswith("WEEK")]
    result: dict[tuple[str, str], tuple[int, int]] = {}
    for record in records:
        base = 0 if record["BASELINE"] == "NA" else round(float(record["BASELINE"]) * 10)
        if base == 0 and denominator == "evaluable":
            continue
        for visit in visits:
            n, x = result.get((record["TRT"], visit), (0, 0))
            if record[visit] == "NA":
                if missing == "nri":
                    n += 1
            else:
                value = round(float(record[visit]) * 10)
                n += 1
                # No evaluable baseline (ITT): counted, never a responder.
                x += int(base > 0 and (base - value) * 100 >= 75 * base)
            result[(record["TRT"], visit)] = (n, x)
    return result


@pytest.mark.parametrize("denominator", ["itt", "evaluable"])
@pytest.mark.parametrize("missing", ["nri", "observed"])
def test_www_sustained_response_rates_match_plain_python(missing: str, denominator: str) -> None:
    with DATA.open(newline="") as handle:
        records = _with_lost_baselines(list(csv.DictReader(handle)))
    wide = pl.DataFrame(records).with_columns(
        pl.exclude("USUBJID", "TRT").replace("NA", None).cast(pl.Float64)
    )
    out = derive_response_rates(
        wide_to_long(wide),
        threshold=75,
        missing=missing,  # type: ignore[arg-type]
        denominator=denominator,  # type: ignore[arg-type]
    )
    expected = _plain_python_rates(records, missing, denominator)
    got = {(row[0], row[1]): (row[3], row[4]) for row in _table(out)}
    assert got == expected
    assert len(got) == 3 * 8
    assert out["day"].to_list() == sorted(out["day"].to_list())
    assert out.filter(pl.col("visit") == "WEEK52")["day"].to_list() == [364] * 3
    # 900 subjects, 36 without an evaluable baseline (18 missing, 18 zero): under NRI the two
    # denominators differ by exactly them.
    total = sum(n for (_, visit), (n, _) in got.items() if visit == "WEEK52")
    if missing == "nri":
        assert total == (900 if denominator == "itt" else 864)


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
