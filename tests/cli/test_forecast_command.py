"""`psotrack forecast`: label, classification, CSV written atomically, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from psotrack.cli import main

SCHEDULE = "uc-msc-iv:1.5e6/kg x3 q4w"
HEADER = "patient_id,visit,day,pasi"


def _csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "patient.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _forecast(path: Path, *extra: str) -> int:
    args = ["forecast", "--input", str(path), "--schedule", SCHEDULE, "--particles", "100"]
    return main([*args, "--seed", "2", *extra])


def test_prints_label_course_observed_points_and_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Readings near the expected median of the cell-therapy course after its refit (docs/model.md
    # section 9.3: median 5.2 at day 14 and 3.0 at day 28 for a baseline of 20).
    path = _csv(tmp_path, "P7,W0,0,20.0", "P7,W2,14,6.0", "P7,W4,28,3.0")
    assert _forecast(path) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "SIMULATED forecast from a model; not a prediction of any therapy's effect"
    assert "course (simulated): on the expected course: day 28 PASI change -85.0 %" in out
    assert "W2       14   6.0    -70.0" in out
    table = [line.split() for line in lines if line[:4].strip().isdigit()]
    assert [int(row[0]) for row in table] == list(range(5, 17))


def test_writes_the_table_as_csv_and_json_matches_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "P7,W0,0,20.0", "P7,W2,14,6.0", "P7,W4,28,3.0")
    output = tmp_path / "forecast.csv"
    assert _forecast(path, "--output", str(output), "--weeks", "6", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    written = pl.read_csv(output)
    assert written.columns == [
        "week", "day", "median", "p10", "p90",
        "expected_p10", "expected_median", "expected_p90", "simulated",
    ]  # fmt: skip
    assert written["week"].to_list() == [5, 6, 7, 8, 9, 10] and written["simulated"].all()
    assert [row["median"] for row in report["forecast"]] == written["median"].to_list()
    assert report["simulated"] is True and report["course"] == "on"
    assert report["patient_id"] == "P7" and "not a prediction" in report["label"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast.csv", "patient.csv"]


def test_same_seed_same_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, "P7,W0,0,20.0", "P7,W2,14,12.0")
    assert _forecast(path, "--json") == 0
    first = capsys.readouterr().out
    assert _forecast(path, "--json") == 0
    assert capsys.readouterr().out == first


def test_two_patients_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "P7,W0,0,20.0", "P8,W2,14,12.0")
    output = tmp_path / "forecast.csv"
    assert _forecast(path, "--output", str(output)) == 2
    err = capsys.readouterr().err
    assert "patient_id='P7, P8': one patient per table (found 2)" in err
    assert not output.exists()


def test_bad_rows_exit_2_with_row_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(
        tmp_path,
        "P7,W0,0,20.0,5.0",
        "P7,W2,x,12.0,5.0",
        "P7,W4,28,99,abc",
        header=HEADER + ",treg_pct",
    )
    assert _forecast(path) == 2
    err = capsys.readouterr().err
    assert "row 3: treg_pct='abc'" in err
    path = _csv(tmp_path, "P7,W0,0,20.0", "P7,W2,x,12.0", "P7,W4,28,99")
    assert _forecast(path) == 2
    err = capsys.readouterr().err
    assert "row 2: day='x' is not a whole number" in err
    assert "row 3: pasi=99.0 is outside 0–72" in err


def test_bad_schedule_and_missing_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "P7,W0,0,20.0")
    args = ["forecast", "--input", str(path), "--schedule", "uc-msc-iv:lots"]
    assert main(args) == 2
    assert "schedule" in capsys.readouterr().err
    missing = ["forecast", "--input", str(tmp_path / "none.csv"), "--schedule", SCHEDULE]
    assert main(missing) == 2


def test_a_patient_past_the_model_is_warned_and_gets_no_band(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # PASI rising 20 → 40 in four weeks after cell therapy: the predictive check fails.
    path = _csv(tmp_path, "P7,W0,0,20.0", "P7,W2,14,30.0", "P7,W4,28,40.0")
    assert _forecast(path) == 0
    out = capsys.readouterr().out
    assert "warning: the model cannot explain this patient" in out
    assert "withheld" in out
    assert _forecast(path, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["band_withheld"] is True and report["predictive_p"] < 0.01
    assert "cannot explain" in report["warning"]
    assert all(row["median"] is None for row in report["forecast"])
