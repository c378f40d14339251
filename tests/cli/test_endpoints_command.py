"""The `psotrack endpoints` commands: header contracts, hand-computed rows, the public data set.

Known answers: 7.6 → 1.9 is exactly a 75 % improvement and 10.0 → 1.0 exactly 90 % (issue 3);
rates on WWW_SustainedResponse.csv are recounted here with the csv module and integer tenths,
and intervals recomputed with statsmodels' Clopper–Pearson (``method="beta"``).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from psotrack.cli import main
from tests.public_data import WWW_SUSTAINED_RESPONSE

PUBLIC = WWW_SUSTAINED_RESPONSE
needs_public = pytest.mark.skipif(not PUBLIC.is_file(), reason="public data set not present")

ROWS_HEADER = "patient_id,arm,visit,day,pasi,base,chg,pchg,base_note,pasi50,pasi75,pasi90,pasi100"
PATIENTS_HEADER = (
    "patient_id,arm,base,best_pchg,first_pasi50_day,first_pasi75_day,first_pasi90_day,"
    "first_pasi100_day,pasi75_sustained,loss_of_response_day"
)
RATES_HEADER = "arm,visit,day,n,responders,rate,ci_low,ci_high,missing,denominator,ci,endpoint"

# Shuffled rows. a: 7.6 → 1.9 (PASI 75 exactly) then 4.0 (47 %: loss at 56). b: 10.0 → 1.0 (PASI
# 90 exactly), missed day 56. c: no baseline (screening and day 0 missing): not evaluable.
# d: screening 12.0 carried as baseline (day 0 missed), 3.0 at 28 (75 %), 6.0 at 56 (50 %).
LONG = """patient_id,arm,visit,day,pasi
b,B,W8,56,NA
a,A,W4,28,1.9
c,A,W0,0,
d,B,W4,28,3.0
a,A,W0,0,7.6
b,B,W4,28,1.0
c,A,W4,28,2.0
a,A,W8,56,4.0
d,B,SCR,-14,12.0
b,B,W0,0,10.0
d,B,W0,0,NA
d,B,W8,56,6.0
"""


def _run(*args: object) -> int:
    return main([str(a) for a in args])


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _header(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture
def long_csv(tmp_path: Path) -> Path:
    path = tmp_path / "long.csv"
    path.write_text(LONG, encoding="utf-8")
    return path


def test_derive_adds_change_and_exact_threshold_flags(long_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    assert _run("endpoints", "derive", "--input", long_csv, "--output", out) == 0
    assert _header(out) == ROWS_HEADER
    rows = {(r["patient_id"], r["day"]): r for r in _read(out)}
    assert len(rows) == 12
    a28 = rows[("a", "28")]
    assert (a28["base"], a28["chg"], a28["pchg"]) == ("7.6", "-5.7", "-75.0")
    assert (a28["pasi50"], a28["pasi75"], a28["pasi90"], a28["pasi100"]) == ("1", "1", "0", "0")
    b28 = rows[("b", "28")]
    assert (b28["pasi75"], b28["pasi90"], b28["pasi100"]) == ("1", "1", "0")
    # Missed visit, baseline row and the not-evaluable patient carry no flags.
    assert rows[("b", "56")]["pasi"] == "" and rows[("b", "56")]["pasi75"] == ""
    assert rows[("a", "0")]["pasi75"] == "" and rows[("a", "0")]["base"] == "7.6"
    assert rows[("c", "28")]["base"] == "" and rows[("c", "28")]["pasi50"] == ""
    # Screening value is d's baseline because day 0 was missed.
    assert rows[("d", "56")]["base"] == "12.0" and rows[("d", "56")]["pasi50"] == "1"
    assert rows[("d", "56")]["pasi75"] == "0"


def test_derive_and_patients_print_a_zero_baseline_and_its_absolute_change(
    tmp_path: Path,
) -> None:
    # z: baseline 0.0, then 1.5 at day 28 (+1.5 points); the percentage is empty, with the reason.
    # c: no baseline at all: base and chg empty, with the reason.
    source = tmp_path / "zero.csv"
    source.write_text(
        "patient_id,visit,day,pasi\nz,W0,0,0.0\nz,W4,28,1.5\nc,W4,28,2.0\n", encoding="utf-8"
    )
    rows_out, patients_out = tmp_path / "rows.csv", tmp_path / "patients.csv"
    assert _run("endpoints", "derive", "--input", source, "--output", rows_out) == 0
    rows = {(r["patient_id"], r["day"]): r for r in _read(rows_out)}
    z28 = rows[("z", "28")]
    assert (z28["base"], z28["chg"], z28["pchg"], z28["pasi75"]) == ("0.0", "1.5", "", "")
    assert z28["base_note"] == "baseline PASI 0: no percent change or relative response"
    assert (rows[("z", "0")]["base"], rows[("z", "0")]["chg"]) == ("0.0", "")
    c28 = rows[("c", "28")]
    assert (c28["base"], c28["chg"], c28["pchg"]) == ("", "", "")
    assert c28["base_note"] == "no PASI on or before day 0: no change from baseline"
    assert _run("endpoints", "patients", "--input", source, "--output", patients_out) == 0
    patients = {r["patient_id"]: r for r in _read(patients_out)}
    assert (patients["z"]["base"], patients["z"]["best_pchg"]) == ("0.0", "")
    assert patients["c"]["base"] == ""


def test_patients_one_row_each_with_empty_where_none(long_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "patients.csv"
    assert _run("endpoints", "patients", "--input", long_csv, "--output", out) == 0
    assert _header(out) == PATIENTS_HEADER
    rows = {r["patient_id"]: r for r in _read(out)}
    assert list(rows) == ["a", "b", "c", "d"]
    assert rows["a"]["best_pchg"] == "-75.0"
    assert (rows["a"]["first_pasi75_day"], rows["a"]["first_pasi90_day"]) == ("28", "")
    assert (rows["a"]["pasi75_sustained"], rows["a"]["loss_of_response_day"]) == ("0", "56")
    assert (rows["b"]["first_pasi90_day"], rows["b"]["pasi75_sustained"]) == ("28", "1")
    assert rows["c"]["base"] == "" and rows["c"]["pasi75_sustained"] == ""
    assert rows["c"]["first_pasi50_day"] == "" and rows["c"]["arm"] == "A"
    assert (rows["d"]["first_pasi75_day"], rows["d"]["loss_of_response_day"]) == ("28", "")
    assert rows["d"]["pasi75_sustained"] == "0"


@pytest.mark.parametrize(
    ("missing", "denominator", "expected"),
    [
        # Evaluable: a (A), b and d (B). W8: a 4.0/7.6 no; b missed; d 6.0/12.0 = 50 % no.
        (
            "nri",
            "evaluable",
            {("A", "W4"): (1, 1), ("B", "W4"): (2, 2), ("A", "W8"): (1, 0), ("B", "W8"): (2, 0)},
        ),
        # ITT adds c (arm A, no baseline) as a non-responder at every visit.
        (
            "nri",
            "itt",
            {("A", "W4"): (2, 1), ("B", "W4"): (2, 2), ("A", "W8"): (2, 0), ("B", "W8"): (2, 0)},
        ),
        (
            "observed",
            "evaluable",
            {("A", "W4"): (1, 1), ("B", "W4"): (2, 2), ("A", "W8"): (1, 0), ("B", "W8"): (1, 0)},
        ),
        # Observed ITT: c has a PASI at W4 (2.0) only, so counts there as a non-responder.
        (
            "observed",
            "itt",
            {("A", "W4"): (2, 1), ("B", "W4"): (2, 2), ("A", "W8"): (1, 0), ("B", "W8"): (1, 0)},
        ),
        # LOCF carries b's 1.0 from W4 into W8: a responder.
        (
            "locf",
            "evaluable",
            {("A", "W4"): (1, 1), ("B", "W4"): (2, 2), ("A", "W8"): (1, 0), ("B", "W8"): (2, 1)},
        ),
        # LOCF ITT: c's W4 2.0 is carried to W8, still without a baseline: a non-responder.
        (
            "locf",
            "itt",
            {("A", "W4"): (2, 1), ("B", "W4"): (2, 2), ("A", "W8"): (2, 0), ("B", "W8"): (2, 1)},
        ),
    ],
)
def test_responders_denominators_follow_the_missing_and_denominator_rules(
    long_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    missing: str,
    denominator: str,
    expected: dict[tuple[str, str], tuple[int, int]],
) -> None:
    out = tmp_path / "rates.csv"
    args = ["--input", long_csv, "--missing", missing, "--by", "arm", "--output", out]
    assert _run("endpoints", "responders", *args, "--denominator", denominator) == 0
    assert _header(out) == RATES_HEADER
    rows = _read(out)
    assert [r["day"] for r in rows] == ["28", "28", "56", "56"]
    got = {(r["arm"], r["visit"]): (int(r["n"]), int(r["responders"])) for r in rows}
    assert got == expected
    assert {(r["missing"], r["denominator"]) for r in rows} == {(missing, denominator)}
    assert {(r["ci"], r["endpoint"]) for r in rows} == {("exact", "PASI75")}
    printed = " ".join(capsys.readouterr().err.split())
    assert f"missing: {missing}; denominator: {denominator}," in printed


def test_responders_nri_denominator_is_itt_by_default_and_says_so(
    long_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rates.csv"
    args = ["--input", long_csv, "--missing", "nri", "--by", "arm", "--output", out]
    assert _run("endpoints", "responders", *args) == 0
    rows = _read(out)
    assert {r["denominator"] for r in rows} == {"itt"}
    # c (arm A) has no baseline: in the denominator as a non-responder, 1 of 2 at W4.
    a_w4 = next(r for r in rows if (r["arm"], r["visit"]) == ("A", "W4"))
    assert (a_w4["n"], a_w4["responders"], a_w4["rate"]) == ("2", "1", "0.5")
    printed = " ".join(capsys.readouterr().err.split())
    assert "denominator: itt, every enrolled patient (ITT)" in printed
    assert "no evaluable baseline counts as a non-responder" in printed


def test_responders_without_by_pool_everyone_with_wilson(long_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "rates.csv"
    args = ["--input", long_csv, "--missing", "nri", "--ci", "wilson", "--output", out]
    assert _run("endpoints", "responders", "--threshold", "90", *args) == 0
    w4 = next(r for r in _read(out) if r["visit"] == "W4")
    # W4 PASI 90: b only (10.0 → 1.0) of a, b, c, d (c without a baseline counts under the
    # default ITT denominator). Wilson 95 %: see statsmodels below.
    assert (w4["arm"], w4["n"], w4["responders"], w4["endpoint"]) == ("all", "4", "1", "PASI90")
    low, high = proportion_confint(1, 4, method="wilson")
    assert float(w4["ci_low"]) == pytest.approx(low, abs=5e-7)
    assert float(w4["ci_high"]) == pytest.approx(high, abs=5e-7)


BAD_INPUTS = [
    ("patient_id,visit,day,pasi,weight\na,W0,0,7.6,80\n", "weight"),
    ("patient_id,visit,day,pasi\na,W0,0,7.6\na,W4,28,abc\n", "row 2: pasi='abc' is not a number"),
    ("patient_id,visit,day,pasi\na,W0,0,7.6\na,W4,28,-1.0\n", "row 2: pasi=-1.0 is outside 0–72"),
    ("patient_id,visit,day,pasi\na,W0,0,7.6\na,W0,0,7.6\n", "row 2: visit='W0'"),
]


@pytest.mark.parametrize("command", ["derive", "patients", "responders"])
@pytest.mark.parametrize(("text", "reason"), BAD_INPUTS)
def test_bad_input_exits_2_with_row_and_reason_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, reason: str
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    extra = ["--missing", "nri"] if command == "responders" else []
    assert _run("endpoints", command, "--input", source, "--output", out, *extra) == 2
    assert reason in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_bad_input_leaves_an_existing_output_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("patient_id,visit,day,pasi\na,W0,0,7.6\na,W4,28,73\n", encoding="utf-8")
    out = tmp_path / "rows.csv"
    out.write_text("old\n", encoding="utf-8")
    assert _run("endpoints", "derive", "--input", source, "--output", out) == 2
    assert "row 2: pasi=73.0 is outside 0–72" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "rows.csv"]


def test_bad_options_exit_2(
    long_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rates.csv"
    args = ["--input", long_csv, "--output", out]
    assert _run("endpoints", "responders", *args, "--missing", "worst") == 2
    assert _run("endpoints", "responders", *args, "--missing", "nri", "--ci", "wald") == 2
    assert _run("endpoints", "responders", *args, "--missing", "nri", "--threshold", "0") == 2
    assert _run("endpoints", "responders", *args, "--missing", "nri", "--by", "site") == 2
    assert _run("endpoints", "responders", *args, "--missing", "nri", "--denominator", "all") == 2
    assert _run("endpoints", "derive", *args, "--days", "W0=0") == 2
    assert _run("endpoints", "derive", "--input", tmp_path / "none.csv", "--output", out) == 2
    err = capsys.readouterr().err
    assert "--missing='worst'" in err and "--ci='wald'" in err and "--by='site'" in err
    assert "--denominator='all': itt or evaluable" in err
    assert not out.exists()


def test_wide_with_days_option_and_wide_row_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text("USUBJID,TRT,BASELINE,M3,M6\nS1,X,7.6,1.9,NA\nS2,X,10.0,5.0,1.0\n")
    out = tmp_path / "patients.csv"
    args = ["--input", wide, "--wide", "--output", out]
    assert _run("endpoints", "patients", *args) == 2  # M3 has no day in its name
    assert "M3" in capsys.readouterr().err and not out.exists()
    assert _run("endpoints", "patients", *args, "--days", "M3=91,M6=182") == 0
    rows = {r["patient_id"]: r for r in _read(out)}
    assert (rows["S1"]["first_pasi75_day"], rows["S1"]["pasi75_sustained"]) == ("91", "1")
    assert (rows["S2"]["first_pasi50_day"], rows["S2"]["first_pasi90_day"]) == ("91", "182")
    assert _run("endpoints", "patients", *args, "--days", "M3=ninety") == 2
    wide.write_text("USUBJID,TRT,BASELINE,WEEK4\nS1,X,7.6,1.9\nS2,X,10.0,x\n")
    assert _run("endpoints", "patients", *args) == 2
    assert "row 2: pasi='x' is not a number (visit column WEEK4)" in capsys.readouterr().err


def _public_counts(threshold: int) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Independent count per (arm, visit): evaluable patients, observed, responders."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in _read(PUBLIC):
        base = row["BASELINE"]
        if base in ("", "NA") or Decimal(base) == 0:
            continue
        base_t = int(Decimal(base) * 10)
        for visit, value in row.items():
            if visit in ("USUBJID", "TRT", "BASELINE"):
                continue
            tally = counts[(row["TRT"], visit)]
            tally[0] += 1
            if value not in ("", "NA"):
                tally[1] += 1
                tally[2] += (base_t - int(Decimal(value) * 10)) * 100 >= threshold * base_t
    return {key: (n, observed, hits) for key, (n, observed, hits) in counts.items()}


@needs_public
@pytest.mark.parametrize("missing", ["nri", "observed"])
def test_public_rates_match_an_independent_count(tmp_path: Path, missing: str) -> None:
    out = tmp_path / "rates.csv"
    args = ["--input", PUBLIC, "--wide", "--missing", missing, "--by", "arm", "--output", out]
    assert _run("endpoints", "responders", *args) == 0
    assert _header(out) == RATES_HEADER
    rows = _read(out)
    expected = _public_counts(75)
    assert len(rows) == len(expected) == 24
    days = [int(r["day"]) for r in rows]
    assert days == sorted(days) and days[0] == 7 and days[-1] == 364
    for row in rows:
        n, observed, hits = expected[(row["arm"], row["visit"])]
        assert int(row["n"]) == (n if missing == "nri" else observed)
        assert int(row["responders"]) == hits
        low, high = proportion_confint(hits, int(row["n"]), method="beta")
        assert float(row["rate"]) == pytest.approx(hits / int(row["n"]), abs=5e-7)
        assert float(row["ci_low"]) == pytest.approx(low, abs=5e-7)
        assert float(row["ci_high"]) == pytest.approx(high, abs=5e-7)


@needs_public
def test_public_derive_and_patients_headers_and_sizes(tmp_path: Path) -> None:
    rows_out, patients_out = tmp_path / "rows.csv", tmp_path / "patients.csv"
    assert _run("endpoints", "derive", "--input", PUBLIC, "--wide", "--output", rows_out) == 0
    assert _run("endpoints", "patients", "--input", PUBLIC, "--wide", "--output", patients_out) == 0
    assert _header(rows_out) == ROWS_HEADER
    assert _header(patients_out) == PATIENTS_HEADER
    rows, patients = _read(rows_out), _read(patients_out)
    assert (len(rows), len(patients)) == (900 * 9, 900)
    # SUBJECT 001 (first data row): 27.0 → 8.8 at week 8 (67 %), 4.2 at week 16 (84 %),
    # 1.0 at week 24 (96 %), 0.0 from week 32.
    first = patients[0]
    assert first["patient_id"] == "SUBJECT 001"
    assert [first[f"first_pasi{t}_day"] for t in (50, 75, 90, 100)] == ["56", "112", "168", "224"]
    assert (first["best_pchg"], first["pasi75_sustained"]) == ("-100.0", "1")
    week16 = next(r for r in rows if r["patient_id"] == "SUBJECT 001" and r["visit"] == "WEEK16")
    assert (week16["chg"], week16["pchg"], week16["pasi75"], week16["pasi90"]) == (
        "-22.8",
        "-84.44",
        "1",
        "0",
    )
