"""Tests of the ODE right-hand side: published steady states (Shmarov 2022) and vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root

from psotrack.model import states as s
from psotrack.model.equations import SiteInputs, rhs
from psotrack.model.parameters import ModelParameters
from psotrack.model.solver import PUBLISHED_STEADY_STATES, published_state

CORE = list(range(s.VASCULAR + 1))


def _untreated_core(p: ModelParameters):  # type: ignore[no-untyped-def]
    inputs = SiteInputs.untreated(1)

    def f(x: np.ndarray) -> np.ndarray:
        y = np.zeros((1, s.N_STATES))
        y[0, CORE] = x
        return rhs(0.0, y, p, inputs)[0, CORE]

    return f


@pytest.mark.parametrize(("kind", "total"), [("healthy", 80_000), ("plaque", 266_000)])
def test_untreated_steady_states_match_the_published_ones(kind: str, total: int) -> None:
    # Shmarov 2022 (and models.md): about 80 000 cells/mm² healthy, 266 000 in a plaque.
    p = ModelParameters()
    guess = published_state(kind, p)[0, CORE] * 1.05  # start 5 % away, let scipy find it
    solution = root(_untreated_core(p), guess, method="hybr", tol=1e-12)
    assert solution.success
    found = dict(zip(s.STATES, solution.x, strict=False))
    ref = PUBLISHED_STEADY_STATES[kind]
    for name in ("dc", "il23", "il17", "tnf", "signal", "stem", "transit", "differentiated"):
        assert found[name] == pytest.approx(ref[name], rel=1e-5)
    assert found["th17"] + found["th1"] == pytest.approx(ref["t_cells"], rel=1e-5)
    assert found["treg"] == pytest.approx(p.treg_level)
    cells = sum(found[k] for k in ("dc", "th17", "th1", "stem", "transit", "differentiated"))
    assert cells == pytest.approx(total, rel=0.005)


def test_healthy_stem_and_transit_match_the_authors_uvb_reference_values() -> None:
    # steady_state_8_4.m uses (SC − 3947.2) and (TA − 22224) as healthy reference levels.
    healthy = PUBLISHED_STEADY_STATES["healthy"]
    assert healthy["stem"] == pytest.approx(3947.2, abs=0.1)
    assert healthy["transit"] == pytest.approx(22224, abs=1)


def test_rows_are_independent_and_equal_to_single_row_evaluation() -> None:
    rng = np.random.default_rng(3)
    p = ModelParameters().broadcast(4)
    y = published_state("plaque", p, 4) * rng.uniform(0.5, 1.5, (4, s.N_STATES))
    inputs = SiteInputs(
        np.ones(4),
        np.array([0, 1, 0, 1.0]),
        np.array([1, 0, 0, 0.0]),
        np.zeros(4),
        np.zeros(4),
        np.zeros(4),
    )
    together = rhs(0.0, y, p, inputs)
    for i in range(4):
        alone = rhs(0.0, y[i : i + 1], p.row(i), inputs.take([i]))
        # Not bit-for-bit: numpy may take a SIMD path for 4 rows and a scalar one for 1 row
        # (exp, pow), which can differ in the last bits on some CPUs, and production − loss
        # cancels digits. A row mixed up with another differs at O(1); 1e-12 is far from both.
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-12, atol=1e-9)


def test_therapy_lowers_keratinocyte_growth_at_the_plaque() -> None:
    p = ModelParameters()
    y = published_state("plaque", p)
    y[0, s.PARACRINE_SYSTEMIC] = 2.0
    treated = rhs(0.0, y, p, SiteInputs.untreated(1))[0]
    assert treated[s.TREG] > 0  # Treg induction raised above turnover
    assert treated[s.TH17] < 0 and treated[s.DC] < 0 and treated[s.IL17] < 0
