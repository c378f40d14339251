"""The `psotrack simulate` commands: files written atomically, labelled simulated, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from psotrack.cli import main

ARM = "uc-msc-iv:1.5e6/kg x4 q2w"


def _trial(output: Path, *extra: str) -> int:
    args = ["simulate", "trial", "--arm", ARM, "--arm", "control", "--n", "15", "--weeks", "4"]
    return main([*args, "--seed", "1", "--output", str(output), *extra])


def test_trial_writes_every_file_labelled_simulated(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _trial(out, "--replicates", "4") == 0
    names = {p.name for p in out.iterdir()}
    assert names == {
        "trajectories.parquet",
        "trajectories.csv",
        "rates.csv",
        "power.csv",
        "rates.png",
        "README.txt",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left behind
    parquet = pl.read_parquet(out / "trajectories.parquet")
    csv = pl.read_csv(out / "trajectories.csv")
    assert parquet.height == csv.height == 2 * 15 * 5 and parquet["simulated"].all()
    rates = pl.read_csv(out / "rates.csv")
    assert rates.columns[:8] == [
        "arm",
        "visit",
        "day",
        "n",
        "responders",
        "rate",
        "ci_low",
        "ci_high",
    ]
    assert set(rates["endpoint"]) == {"PASI50", "PASI75", "PASI90"}
    power = pl.read_csv(out / "power.csv")
    assert power["replicates"].to_list() == [4] and 0 <= power["power"][0] <= 1
    assert (out / "rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "SIMULATED DATA" in readme and "not a result about" in readme


def test_same_seed_writes_the_same_trajectories(tmp_path: Path) -> None:
    assert _trial(tmp_path / "a") == 0 and _trial(tmp_path / "b") == 0
    first = pl.read_parquet(tmp_path / "a" / "trajectories.parquet")
    assert first.equals(pl.read_parquet(tmp_path / "b" / "trajectories.parquet"))
    assert not (tmp_path / "a" / "power.csv").exists()


def test_bad_arm_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", "trial", "--arm", "uc-msc-iv:lots", "--output", str(tmp_path / "x")])
    assert code == 2
    assert "schedule" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_non_empty_output_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine", encoding="utf-8")
    assert _trial(tmp_path / "run") == 2
    assert "output" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["keep.txt"]


def test_calibrate_prints_each_target_beside_the_published_figure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps long cells at its default 80 columns
    assert main(["simulate", "calibrate", "--n", "40", "--placebo-n", "40"]) == 0
    printed = capsys.readouterr().out
    for text in ("ucmsc_pasi40", "8/17", "ucmsc_pga01", "3/17", "anti_il23_pasi75", "targets met"):
        assert text in printed


def test_calibrate_marks_roles_and_counts_met_targets_by_role(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    assert main(["simulate", "calibrate", "--n", "20", "--placebo-n", "30"]) == 0
    printed = capsys.readouterr().out
    assert "/30 " in printed  # the placebo rows count the untreated arm's own 30 patients
    assert "untreated (placebo) arm: its own population of 30 patients" in printed
    assert "yao_admsc_pasi50" in printed and "held out" in printed
    assert re.search(r"fitted: \d+/15 targets met; held out: \d/1 targets met", printed)
    assert "0.077–0.143/day" in printed  # the anti-IL-17 first-order rate band, 0.11 ± 30 %
    assert "100–186 days" in printed  # the anti-IL-17 relapse median band, 143 days ± 30 %
    assert "sampling noise only" in printed  # without --fit the intervals are binomial only


def test_calibrate_fit_honours_n_and_seed_and_propagates_the_posterior(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Review of issue 18: --fit ignored --n and --seed (it always fitted n = 300, seed 7).
    monkeypatch.setenv("COLUMNS", "220")
    argv = ["simulate", "calibrate", "--fit", "--n", "12", "--seed", "5", "--walkers", "4"]
    argv += ["--steps", "1", "--burn", "0", "--draws", "2", "--placebo-n", "12"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "posterior: n = 12 virtual patients, seed 5, 4 walkers × 1 steps" in printed
    assert "32 model evaluations" in printed  # 4 groups × 4 walkers × (1 + 1)
    assert "95 % propagated" in printed and "paracrine_ec50" in printed


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (["--walkers", "3"], "walkers=3"),
        (["--steps", "5", "--burn", "5"], "burn=5"),
        (["--draws", "0"], "draws=0"),
        (["--plot", "ridge.txt"], "plot='ridge.txt'"),
        (["--n", "5"], "n=5"),
        (["--placebo-n", "5"], "placebo_n=5"),
    ],
)
def test_calibrate_refuses_bad_settings_in_one_line(
    capsys: pytest.CaptureFixture[str], options: list[str], field: str
) -> None:
    assert main(["simulate", "calibrate", *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0] and "Traceback" not in err[0]


def test_null_adds_a_null_arm_and_a_false_positive_rate(tmp_path: Path) -> None:
    out = tmp_path / "null"
    assert _trial(out, "--replicates", "4", "--null") == 0
    trajectories = pl.read_parquet(out / "trajectories.parquet")
    null_arm = f"{ARM} (null: MSC Emax 0)"
    assert trajectories["arm"].unique().sort().to_list() == sorted([ARM, null_arm, "control"])
    # A product without effect moves like the control arm (trigger, reading noise).
    null = trajectories.filter(pl.col("arm") == null_arm)
    assert null["patient_id"].n_unique() == 15 and null["simulated"].all()
    power = pl.read_csv(out / "power.csv")
    assert power["arm"].to_list() == [ARM]
    assert power["false_positive_rate"].to_list() == [0.0]
    assert power["reference_rate"].to_list() == [0.0]
    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert f"--arm '{ARM}' --arm 'control' --null" in readme
