"""`psotrack simulate trial --match-baseline`: every arm's baselines inside the real range."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from psotrack.cli import main


def _baselines(output: Path, *extra: str) -> pl.Series:
    args = ["simulate", "trial", "--arm", "control", "--arm", "uc-msc-iv:1.5e6/kg x4 q2w"]
    args += ["--n", "30", "--weeks", "1", "--min-pasi", "0", "--seed", "3"]
    assert main([*args, "--output", str(output), *extra]) == 0
    frame = pl.read_csv(output / "trajectories.csv")
    return frame.filter(pl.col("day") == 0)["pasi"]


def test_matched_trial_baselines_lie_in_the_public_data_range(tmp_path: Path) -> None:
    # The 900 public baselines run from 10.0 to 34.1; matching never keeps one outside.
    matched = _baselines(tmp_path / "matched", "--match-baseline")
    assert matched.len() == 60 and matched.min() >= 10.0 and matched.max() <= 34.1
    plain = _baselines(tmp_path / "plain")
    assert plain.min() < 10.0 or plain.max() > 34.1  # without it, the model's own spread
