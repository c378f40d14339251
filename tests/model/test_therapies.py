"""Tests of therapy schedules: the arm parser and the dose jumps built from it."""

from __future__ import annotations

import numpy as np
import pytest

from psotrack.errors import ValidationError
from psotrack.model.therapies import (
    Doses,
    build_inputs,
    parse_schedule,
)


def test_control_has_no_therapy() -> None:
    arm = parse_schedule(" Control ")
    assert (arm.cell_therapy, arm.blocker, arm.topical) == (None, None, 0.0)


def test_iv_cells_three_doses_four_weeks_apart() -> None:
    cell = parse_schedule("uc-msc-iv:1e6/kg x3 q4w").cell_therapy
    assert cell is not None
    assert (cell.source, cell.route, cell.cells_per_kg) == ("uc-msc", "iv", 1e6)
    assert cell.doses == Doses(amount=1.0, count=3, every=28.0, start=0.0)
    assert cell.doses.days() == [0.0, 28.0, 56.0]


def test_perilesional_with_start_and_day_interval() -> None:
    cell = parse_schedule("ad-msc-pl:1.5e6/kg x4 q15d @2w").cell_therapy
    assert cell is not None and cell.route == "perilesional"
    assert cell.doses.days() == [14.0, 29.0, 44.0, 59.0]
    assert cell.doses.amount == pytest.approx(1.5)


def test_combined_blocker_and_topical() -> None:
    arm = parse_schedule("anti-il23:0.5 x3 q12w + topical")
    assert arm.blocker is not None and arm.blocker.target == "il23"
    assert arm.blocker.doses.days() == [0.0, 84.0, 168.0]
    assert arm.topical == 0.2
    assert parse_schedule("topical:0.35").topical == 0.35


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty arm"),
        ("xyz-msc-iv:1e6/kg", "unknown cell source 'xyz-msc'"),
        ("uc-msc-iv:1e9/kg", "outside 1e4–1e8 cells/kg"),
        ("uc-msc-iv:1e6/kg x3", "needs x<count> ≥ 1 and an interval"),
        ("uc-msc-im:1e6/kg", "cannot read 'uc-msc-im:1e6/kg'"),
        ("anti-il17 + anti-il23", "one blocker per arm"),
        ("topical:1.5", "outside"),
    ],
)
def test_bad_text_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_schedule(text)
    assert caught.value.field == "schedule"
    assert "e.g. 'control'" in str(caught.value)


def test_build_inputs_routes_doses_into_the_right_pools() -> None:
    arms = [parse_schedule(t) for t in ("uc-msc-iv:2e6/kg x2 q1w", "ad-msc-pl:1e6/kg", "control")]
    inputs, dosing = build_inputs(arms, injected=[True, True, False])
    assert dosing.days.tolist() == [0.0, 7.0]
    # Pools: live cells in the lung (IV), live cells in the perilesional depot, antibody depot.
    np.testing.assert_allclose(dosing.amounts[0, 0], [2.0, 0.0, 0.0])  # IV: lung
    np.testing.assert_allclose(dosing.amounts[0, 1], [0.0, 1.0, 0.0])  # perilesional: depot
    np.testing.assert_allclose(dosing.amounts[:, 2], 0.0)
    np.testing.assert_allclose(dosing.amounts[1, 0], [2.0, 0.0, 0.0])
    assert inputs.local_exposure.tolist() == [1.0, 1.0, 0.0]


def test_topical_above_the_equations_limit_is_refused_by_the_parser():
    # Found while documenting: 0.995 parsed, then failed later under another field name.
    from psotrack.errors import ValidationError
    from psotrack.model.therapies import parse_schedule

    assert parse_schedule("topical:0.99").topical == 0.99
    with pytest.raises(ValidationError, match="outside"):
        parse_schedule("topical:0.995")
