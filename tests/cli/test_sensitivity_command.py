"""`psotrack simulate sensitivity`: files written whole, labelled simulated, bad input exit 2."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from psotrack.cli import main


def _run(output: Path, *extra: str) -> int:
    args = ["simulate", "sensitivity", "--n", "6", "--samples", "2", "--seed", "3"]
    return main([*args, "--output", str(output), *extra])


def test_writes_sobol_bistability_and_a_self_contained_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _run(out) == 0
    assert {p.name for p in out.iterdir()} == {
        "sobol.csv",
        "samples.csv",
        "bistability.csv",
        "report.html",
        "README.txt",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder left
    sobol = pl.read_csv(out / "sobol.csv")
    assert sobol["simulated"].all() and set(sobol["output"]) == {
        "pasi75_w12",
        "pasi40_m6",
        "relapse_days",
    }
    samples = pl.read_csv(out / "samples.csv")
    assert samples.height == sobol["samples"][0] and samples["simulated"].all()
    bistability = pl.read_csv(out / "bistability.csv")
    assert bistability.height == 6 and bistability["simulated"].all()
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("SIMULATED") >= 3
    assert page.count("data:image/svg+xml;base64,") == 4  # three index charts and the map
    assert "http://" not in page.replace("http://www.w3.org", "")  # nothing fetched from outside
    stable = int(bistability["stable_healthy_state"].sum())
    assert f"{stable} of 6 virtual patients" in page
    assert "SIMULATED" in (out / "README.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("option", "value"), [("--samples", "3"), ("--samples", "1"), ("--n", "1"), ("--n", "x")]
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code = main(["simulate", "sensitivity", "--output", str(tmp_path / "x"), option, value])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert option in err and len(err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_content_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine", encoding="utf-8")
    assert _run(tmp_path / "run") == 2
    assert "output" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["keep.txt"]
