"""The `psotrack evidence` command: the published table, JSON/CSV output, a cohort beside it.

Counts from Cheng L, et al. Signal Transduct Target Ther 2022;7:263 (8/17 PASI 40, 3/17 PGA 0/1)
and Yao D, et al. Ann Transl Med 2021;9:1653 (2/7 PASI 50 at one year).
"""

import json

import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from psotrack.cli import main

RULE = "all enrolled in the denominator"
SIDE = ["--endpoint", "PASI50", "--time-point", "1 year", "--missing", RULE, "--visit", "W52"]


@pytest.fixture
def rates_csv(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(
        "arm,visit,day,n,responders,rate,ci_low,ci_high\n"
        "MSC,W24,168,12,3,0.25,0.055,0.572\n"
        "MSC,W52,364,12,6,0.5,0.211,0.789\n",
        encoding="utf-8",
    )
    return path


def test_json_lists_the_cheng_rows_with_version_and_caveat(capsys):
    assert main(["evidence", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == "1.0.0"
    assert "not evidence that any therapy works" in out["caveat"]
    cheng = {r["endpoint"]: r for r in out["rows"] if r["study_id"] == "cheng2022"}
    assert (cheng["PASI40"]["responders"], cheng["PASI40"]["denominator"]) == (8, 17)
    assert (cheng["PGA01"]["responders"], cheng["PGA01"]["denominator"]) == (3, 17)
    low, high = proportion_confint(8, 17, method="beta")
    assert cheng["PASI40"]["ci_low"] == pytest.approx(low, abs=1e-12)
    assert cheng["PASI40"]["ci_high"] == pytest.approx(high, abs=1e-12)
    assert cheng["PASI40"]["doi"] == "10.1038/s41392-022-01059-y"


def test_table_output_shows_version_caveat_counts_and_intervals(capsys):
    assert main(["evidence"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "version 1.0.0" in out
    assert "not evidence that any therapy works" in out
    assert "descriptive comparison only" in out
    assert "8/17 = 47.1 %" in out and "23.0–72.2 %" in out
    assert "3/17 = 17.6 %" in out
    assert "efficacy" not in out.lower() and "effective" not in out.lower()


def test_csv_output_holds_counts_and_version(tmp_path, capsys):
    path = tmp_path / "evidence.csv"
    assert main(["evidence", "--csv", str(path), "--json"]) == 0
    frame = pl.read_csv(path)
    pasi40 = frame.filter(pl.col("endpoint") == "PASI40").row(0, named=True)
    assert (pasi40["responders"], pasi40["denominator"]) == (8, 17)
    assert set(frame["table_version"].cast(pl.String)) == {"1.0.0"}


def test_cohort_laid_beside_the_same_measurement(rates_csv, capsys):
    assert main(["evidence", "--cohort", str(rates_csv), *SIDE, "--json"]) == 0
    side = json.loads(capsys.readouterr().out)["side_by_side"]
    assert [(r["source"], r["responders"], r["n"]) for r in side] == [
        ("published", 2, 7),
        ("cohort", 6, 12),
    ]
    low, high = proportion_confint(6, 12, method="beta")
    assert side[1]["ci_low"] == pytest.approx(low, abs=1e-12)
    assert side[1]["ci_high"] == pytest.approx(high, abs=1e-12)


def test_cohort_table_output_says_descriptive_only(rates_csv, capsys):
    assert main(["evidence", "--cohort", str(rates_csv), *SIDE]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Descriptive only: no test, no pooling" in out
    assert "6/12 = 50.0 %" in out and "2/7 = 28.6 %" in out


def test_mismatched_endpoint_exits_2_and_writes_nothing(rates_csv, tmp_path, capsys):
    out_path = tmp_path / "side.csv"
    args = ["evidence", "--cohort", str(rates_csv), "--endpoint", "PASI75"]
    args += ["--time-point", "1 year", "--missing", RULE, "--csv", str(out_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "endpoint='PASI75'" in err and "compare only the same endpoint" in err
    assert not out_path.exists()


def test_cohort_needs_endpoint_time_point_and_missing_rule(rates_csv, capsys):
    assert main(["evidence", "--cohort", str(rates_csv)]) == 2
    err = capsys.readouterr().err
    assert "--endpoint is missing" in err and "--missing is missing" in err


def test_cohort_options_without_cohort_are_refused(capsys):
    assert main(["evidence", "--endpoint", "PASI50"]) == 2
    assert "used only with --cohort" in capsys.readouterr().err


def test_unreadable_cohort_file_exits_2(tmp_path, capsys):
    assert main(["evidence", "--cohort", str(tmp_path / "none.csv"), *SIDE]) == 2
    assert "a readable cohort rates CSV" in capsys.readouterr().err


def test_unknown_study_exits_2(capsys):
    assert main(["evidence", "--study", "nobody2020"]) == 2
    assert "cheng2022" in capsys.readouterr().err


def test_cohort_file_counted_under_another_rule_exits_2(tmp_path, capsys):
    # A `psotrack endpoints responders` file records missing=nri (evaluable patients in the
    # denominator): not the published "all enrolled in the denominator".
    path = tmp_path / "rates.csv"
    path.write_text(
        "arm,visit,day,n,responders,rate,ci_low,ci_high,missing,ci,endpoint\n"
        "MSC,W52,364,12,6,0.5,0.211,0.789,nri,exact,PASI50\n",
        encoding="utf-8",
    )
    assert main(["evidence", "--cohort", str(path), *SIDE]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "'nri'" in err and RULE in err
