"""The review's findings about the MSC time course and the missing null scenario, as tests.

Reproductions on the model before cell kinetics (issue 18): one 1.5 × 10⁶ cells/kg IV infusion
lowers the median PASI by about 27 % at day 3 and 42 % at day 7, 37 % of virtual patients halve
their PASI within a week, no MSC Emax may be 0, and the control arm never moves.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from psotrack.errors import ValidationError
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import Population, build_population, simulate_arm

ONE_INFUSION = "uc-msc-iv:1.5e6/kg"
DAYS = [0, 3, 7, 14, 28]


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(300, seed=7)


def _relative_pasi(population: Population, arm: str) -> npt.NDArray[np.float64]:
    frame = simulate_arm(population, arm, DAYS, seed=8).sort("patient_id", "day")
    pasi = frame["pasi"].to_numpy().reshape(-1, len(DAYS))
    return np.asarray(pasi / pasi[:, :1], dtype=np.float64)


def test_review_one_infusion_acts_within_days(population: Population) -> None:
    # Review (seed 7, n = 300 here): −26 % at day 3, −44 % at day 7, 37 % halve within a week.
    relative = _relative_pasi(population, ONE_INFUSION)
    median = np.median(relative, axis=0) - 1
    assert -0.35 < median[1] < -0.20
    assert -0.50 < median[2] < -0.35
    assert 0.30 < np.mean(relative[:, 2] <= 0.5) < 0.45


def test_review_msc_emax_of_zero_is_refused() -> None:
    for name in ("msc_treg_emax", "msc_th17_emax", "msc_dc_emax", "msc_cytokine_emax"):
        with pytest.raises(ValidationError):
            ModelParameters(**{name: 0.0})  # type: ignore[arg-type]


def test_review_control_arm_never_moves(population: Population) -> None:
    relative = _relative_pasi(population, "control")
    assert np.all(relative == 1.0)
