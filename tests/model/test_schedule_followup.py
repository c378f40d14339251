"""Schedule bugs of issue 18: exponents with "+", and arms whose first dose is after follow-up."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from psotrack.cli import main
from psotrack.errors import ValidationError
from psotrack.model.forecast import forecast_patient
from psotrack.model.therapies import parse_schedule
from psotrack.model.trial import power_estimate, simulate_trial


@pytest.mark.parametrize(
    "text",
    ["uc-msc-iv:1.5e+06/kg x4 q2w", "UC-MSC-IV:1.5E+06/kg x4 q2w", "uc-msc-iv:1.5e6/kg x4 q2w"],
)
def test_an_exponent_with_plus_is_a_number_not_a_separator(text: str) -> None:
    cell = parse_schedule(text).cell_therapy
    assert cell is not None
    assert cell.cells_per_kg == 1.5e6
    assert cell.doses.days() == [0.0, 14.0, 28.0, 42.0]


@pytest.mark.parametrize(
    "text",
    [
        "anti-il17 x7 q4w + topical:0.2",
        "anti-il17 x7 q4w+topical:0.2",
        "uc-msc-iv:1e+6/kg x2 q2w + anti-il17 x7 q4w + topical:0.2",
        "uc-msc-iv:1e+6/kg x2 q2w+anti-il17 x7 q4w+topical:0.2",
    ],
)
def test_plus_still_joins_components(text: str) -> None:
    arm = parse_schedule(text)
    assert arm.blocker is not None and arm.blocker.doses.count == 7
    assert arm.topical == 0.2
    if arm.cell_therapy is not None:
        assert arm.cell_therapy.cells_per_kg == 1e6


def test_a_plus_that_joins_nothing_is_still_refused() -> None:
    with pytest.raises(ValidationError, match="cannot read"):
        parse_schedule("uc-msc-iv:1e+/kg")


def test_trial_refuses_an_arm_whose_first_dose_is_after_the_last_visit() -> None:
    arms = ["control", "uc-msc-iv:1e6/kg @30w"]  # day 210; 26 weeks end on day 182
    with pytest.raises(ValidationError) as caught:
        simulate_trial(arms, 2, 26, 1)
    (problem,) = caught.value.problems
    assert str(problem) == (
        "arm='uc-msc-iv:1e6/kg @30w': the first uc-msc-iv dose is on day 210, "
        "not before the last visit on day 182 (26 weeks of follow-up), so it would change nothing"
    )
    with pytest.raises(ValidationError, match="anti-il23 dose is on day 28"):
        power_estimate(["control", "anti-il23 x2 q4w @4w"], 2, 3, 1, 1)
    # A first dose on the last visit day follows that visit's assessment: refused too.
    with pytest.raises(ValidationError, match="ad-msc-pl dose is on day 28, not before"):
        simulate_trial(["ad-msc-pl:1e6/kg @4w"], 2, 4, 1)


def test_doses_partly_after_follow_up_are_allowed() -> None:
    # Doses on days 0, 28, 56: the trial ends on day 28, the last dose is never simulated.
    frame = simulate_trial(["uc-msc-iv:1e6/kg x3 q4w"], 2, 4, 1).trajectories
    assert frame["day"].max() == 28 and frame["simulated"].all()


def test_cli_trial_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "trial", "--arm", "control", "--arm", "anti-il17 @10w", "--n", "2"]
    assert main([*args, "--weeks", "8", "--output", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (
        "error: arm='anti-il17 @10w': the first anti-il17 dose is on day 70, "
        "not before the last visit on day 56 (8 weeks of follow-up), so it would change nothing"
    )
    assert not (tmp_path / "out").exists()


def test_forecast_refuses_a_schedule_starting_after_its_last_week(tmp_path: Path) -> None:
    patient = pl.DataFrame(
        {"patient_id": ["P1"] * 2, "visit": ["W0", "W2"], "day": [0, 14], "pasi": [20.0, 18.0]}
    )
    with pytest.raises(ValidationError, match=r"on day 140, not before the last visit on day 98"):
        forecast_patient(patient, "uc-msc-iv:1e6/kg @20w", weeks=12, particles=50)
    path = tmp_path / "p.csv"
    patient.write_csv(path)
    args = ["forecast", "--input", str(path), "--schedule", "uc-msc-iv:1e6/kg @20w"]
    assert main([*args, "--weeks", "12", "--particles", "50"]) == 2
