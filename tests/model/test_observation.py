"""Tests of the observation model: grades, area, PASI through pasi_batch, labelled labs."""

from __future__ import annotations

import numpy as np
import pytest

from psotrack.model import states as s
from psotrack.model.observation import (
    grades,
    observation_frame,
    observe_labs,
    observe_pasi,
    sign_severity,
)
from psotrack.model.parameters import ModelParameters
from psotrack.model.solver import published_state

P = ModelParameters()
AREA = np.array([[5.0, 20.0, 40.0, 60.0]])  # area scores 1, 2, 3, 4


def test_published_plaque_grades_three_and_healthy_skin_zero() -> None:
    for kind, expected in (("plaque", 3), ("healthy", 0)):
        severity = sign_severity(published_state(kind, P))
        for name in ("erythema", "induration", "desquamation"):
            assert grades(severity[name]).tolist() == [expected]


def test_grades_round_half_up_and_clip_to_0_4() -> None:
    assert grades(np.array([-1.0, 0.1, 0.5 / 3, 0.49, 1.0, 9.0])).tolist() == [0, 0, 1, 1, 3, 4]


def test_pasi_of_the_published_plaque_by_hand() -> None:
    # Each region: E + I + D = 9; PASI = 9 × (0.1·1 + 0.2·2 + 0.3·3 + 0.4·4) = 27.0.
    y = published_state("plaque", P)
    assert observe_pasi(y, np.array([1.0]), AREA).tolist() == [27.0]


def test_area_shrinks_to_zero_as_the_plaque_thins() -> None:
    y = published_state("healthy", P)
    assert observe_pasi(y, np.array([1.0]), AREA).tolist() == [0.0]


def test_labs_at_the_nominal_plaque_without_noise() -> None:
    labs = observe_labs(published_state("plaque", P), None)
    assert labs["treg_pct"][0] == pytest.approx(5.0)
    assert labs["th17_pct"][0] == pytest.approx(1.5, rel=1e-5)
    assert labs["il17_pg_ml"][0] == pytest.approx(10.0, rel=1e-5)


def test_lab_noise_is_seeded_log_normal_with_the_documented_cv() -> None:
    y = np.repeat(published_state("plaque", P), 20_000, axis=0)
    first = observe_labs(y, np.random.default_rng(5))
    again = observe_labs(y, np.random.default_rng(5))
    np.testing.assert_array_equal(first["il17_pg_ml"], again["il17_pg_ml"])
    assert np.median(first["il17_pg_ml"]) == pytest.approx(10.0, rel=0.02)
    assert np.std(np.log(first["il17_pg_ml"])) == pytest.approx(np.sqrt(np.log1p(0.04)), rel=0.03)


def test_frame_is_tidy_and_labelled_simulated() -> None:
    trajectory = np.stack([published_state("plaque", P), published_state("healthy", P)])
    frame = observation_frame(
        trajectory, np.array([0.0, 7.0]), np.array([1]), np.array([1.0]), AREA
    )
    assert frame["pasi"].to_list() == [27.0, 0.0]
    assert frame["day"].to_list() == [0.0, 7.0]
    assert frame["simulated"].all()
    assert {"treg_pct", "th17_pct", "il17_pg_ml", "trunk_area_pct"} <= set(frame.columns)
    assert s.N_STATES == len(s.STATE_INFO)
