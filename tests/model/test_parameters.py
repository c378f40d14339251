"""Tests of the model parameters: published values (Shmarov 2022, psor.v8.4) and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from psotrack.errors import ValidationError
from psotrack.model.parameters import ModelParameters


def test_published_values_are_those_of_shmarov_2022_steady_state_system() -> None:
    # Source: pzuliani/psoriasis matlab/steady_state_8_4.m (psor.v8.4 with values substituted).
    p = ModelParameters()
    assert p.t_cell_recruitment == 55.0
    assert p.t_cell_clearance == pytest.approx(1.5136)
    assert p.cytokine_clearance == 36.5
    assert p.dc_basal_influx == 1880.0
    assert p.dc_activation_max == 6000.0
    assert p.dc_activation_half == 3e12
    assert p.sc_crowding == 1.8135e-05
    assert p.ta_crowding == 3.7321e-06
    assert p.d_crowding == 5.05e-07
    assert p.d_shedding == 0.0047529
    # The Th17/Th1 split keeps Shmarov's 0.5 cytokine per T cell per day.
    assert p.th17_fraction * p.il17_production == 0.5


def test_paracrine_decay_is_ln2_over_half_life() -> None:
    assert ModelParameters(paracrine_half_life=2.0).paracrine_decay == pytest.approx(
        math.log(2) / 2
    )


def test_every_bad_parameter_is_reported_with_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        ModelParameters(dc_clearance=0.0, treg_turnover=-1.0, th17_fraction=1.5)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["dc_clearance", "th17_fraction", "treg_turnover"]
    assert "dc_clearance=0.0 is outside > 0" in str(caught.value)


def test_array_parameters_are_checked_row_by_row() -> None:
    with pytest.raises(ValidationError, match="t_cell_recruitment=nan"):
        ModelParameters(t_cell_recruitment=np.array([55.0, np.nan]))
    with pytest.raises(ValidationError, match="one common length"):
        ModelParameters(t_cell_recruitment=np.ones(2), dc_basal_influx=np.ones(3))


def test_broadcast_and_row_round_trip() -> None:
    p = ModelParameters().broadcast(3)
    assert np.asarray(p.d_shedding).shape == (3,)
    assert p.row(2) == ModelParameters()
