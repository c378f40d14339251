"""Primary non-response to a blocker (issue 18, docs/model.md §5.3) and the IL-12 share ψ."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from psotrack.errors import ValidationError
from psotrack.model import states as s
from psotrack.model.calibration import with_typical
from psotrack.model.equations import SiteInputs, blocker_constants, responds_to_blocker, rhs
from psotrack.model.parameters import ModelParameters
from psotrack.model.population import build_population, response_draws
from psotrack.model.solver import Dosing, published_state, simulate, simulate_reference
from psotrack.model.therapies import build_inputs, parse_schedule
from psotrack.model.trigger import NO_TRIGGER

ARM = "anti-il17 x5 q1w then x2 q4w"
DAYS = np.arange(0.0, 127.0, 7.0)
#: The immune–skin states (the drug acts on them; its own antibody states do not depend on it).
CORE = list(range(s.VASCULAR + 1))


def _arm(rows: int, schedule: str = ARM) -> tuple[SiteInputs, Dosing]:
    return build_inputs([parse_schedule(schedule)] * rows)


def _row(dosing: Dosing, i: int) -> Dosing:
    return Dosing(dosing.days, dosing.amounts[:, i : i + 1])


def test_the_rule_is_draw_below_share() -> None:
    # u < f: a non-responder; u = f or above responds; a share of 0 leaves everyone responding.
    draws = np.array([0.0, 0.119, 0.12, 0.5, 1.0])
    assert responds_to_blocker(draws, 0.12).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    assert responds_to_blocker(draws, 0.0).tolist() == [1.0] * 5
    assert responds_to_blocker(draws, 1.0).tolist() == [0.0] * 4 + [1.0]


def test_each_drug_uses_its_own_share() -> None:
    p = replace(
        ModelParameters(),
        blocker_il17_nonresponse=0.3,
        blocker_il23_nonresponse=0.0,
        blocker_p40_nonresponse=0.6,
        blocker_response_draw=0.5,
    )
    emax = {
        arm: blocker_constants(p, build_inputs([parse_schedule(arm)])[0], 1).emax[0]
        for arm in ("anti-il17", "anti-il23", "anti-p40")
    }
    # u = 0.5: above the IL-17 share 0.3 and the p19 share 0 (responds), below the p40 share 0.6.
    expected = {"anti-il17": p.blocker_il17_emax, "anti-il23": p.blocker_il23_emax, "anti-p40": 0}
    assert emax == expected


def test_a_share_of_zero_reproduces_the_trajectories_without_the_mixture() -> None:
    # Share 0: every draw responds, so a patient who would be a non-responder at the default
    # share (u = 0.01 < 0.12) follows exactly the trajectory of a patient with u = 1.
    base = replace(ModelParameters(), blocker_il17_nonresponse=0.0)
    y0 = published_state("plaque", base, 2)
    inputs, dosing = _arm(2)
    p = replace(base.broadcast(2), blocker_response_draw=np.array([0.01, 1.0]))
    both = simulate(p, y0, DAYS, inputs, dosing)
    np.testing.assert_array_equal(both[:, 0], both[:, 1])
    # ... and the drug acted (so the comparison is not between two untreated plaques).
    assert both[-1, 0, s.DIFFERENTIATED] < 0.5 * y0[0, s.DIFFERENTIATED]


def test_a_non_responder_on_the_drug_follows_the_untreated_plaque() -> None:
    # Emax 0: the antibody is absorbed and eliminated but neutralises nothing, so the
    # immune–skin states are those of no therapy; both integrators.
    p = replace(ModelParameters(), blocker_response_draw=0.05)  # below the IL-17 share 0.12
    y0 = published_state("plaque", p)
    inputs, dosing = _arm(1)
    treated = simulate(p, y0, DAYS, inputs, dosing)[:, 0]
    untreated = simulate(p, y0, DAYS, SiteInputs.untreated(1))[:, 0]
    np.testing.assert_array_equal(treated[:, CORE], untreated[:, CORE])
    assert treated[1, s.BLOCKER_CENTRAL] > 0
    reference = simulate_reference(p, y0[0], DAYS, inputs, dosing)
    untreated_ref = simulate_reference(p, y0[0], DAYS, SiteInputs.untreated(1))
    # LSODA restarts at each dose day on the treated arm: the same states to its tolerance.
    np.testing.assert_allclose(reference[:, CORE], untreated_ref[:, CORE], rtol=1e-6)


def test_fast_and_reference_solvers_agree_with_a_mixed_population() -> None:
    # One non-responder and one responder on the same arm, integrated together (vectorised) and
    # one by one (LSODA, rtol 1e-8): within 1 % of each state's range (tests/model/test_solver.py
    # holds its own sample to 0.2 %).
    p = replace(ModelParameters().broadcast(2), blocker_response_draw=np.array([0.05, 0.7]))
    y0 = published_state("plaque", p, 2)
    inputs, dosing = _arm(2)
    fast = simulate(p, y0, DAYS, inputs, dosing)
    for i in range(2):
        ref = simulate_reference(p.row(i), y0[i], DAYS, inputs.take([i]), _row(dosing, i))
        scale = np.abs(ref[:, CORE]).max(axis=0)
        assert (np.abs(fast[:, i, CORE] - ref[:, CORE]).max(axis=0) / scale).max() < 1e-2
    # The responder cleared, the non-responder did not.
    assert fast[-1, 1, s.DIFFERENTIATED] < 0.5 * fast[-1, 0, s.DIFFERENTIATED]


def test_the_population_draws_the_share_within_binomial_bounds() -> None:
    pop = build_population(200, seed=5, trigger=NO_TRIGGER)
    draws = np.asarray(pop.parameters.blocker_response_draw)
    # The draws are the documented stream, independent of the other draws of the population.
    np.testing.assert_array_equal(draws, response_draws(5, 200))
    assert ((draws >= 0) & (draws < 1)).all()
    share = ModelParameters().blocker_il17_nonresponse
    inputs = build_inputs([parse_schedule("anti-il17")] * 200)[0]
    nonresponders = int(np.sum(blocker_constants(pop.parameters, inputs, 200).emax == 0))
    # Binomial(200, 0.12): the central 99.9 % (scipy) holds the count.
    low, high = stats.binom.ppf([0.0005, 0.9995], 200, share)
    assert low <= nonresponders <= high
    assert low > 0  # bounds that can fail: a count of 0 (no mixture) lies outside them


def test_with_typical_sets_a_share_that_was_zero_for_every_patient() -> None:
    pop = build_population(12, seed=2, trigger=NO_TRIGGER)
    moved = with_typical(pop, replace(ModelParameters(), blocker_p40_nonresponse=0.25))
    np.testing.assert_array_equal(np.asarray(moved.parameters.blocker_p40_nonresponse), [0.25] * 12)
    np.testing.assert_array_equal(
        np.asarray(moved.parameters.blocker_response_draw),
        np.asarray(pop.parameters.blocker_response_draw),
    )


@pytest.mark.parametrize("name", ["blocker_il17_nonresponse", "blocker_response_draw"])
def test_shares_and_draws_outside_zero_to_one_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        ModelParameters(**{name: 1.5})
    assert getattr(ModelParameters(**{name: 0.0}), name) == 0.0


@pytest.mark.parametrize("psi", [0.0, 0.5, 1.0])
def test_the_il12_share_scales_what_p40_removes_from_th1_recruitment(psi: float) -> None:
    # Hand-computed: Th1 recruitment × (1 − ψ·B), B = Emax·C/(EC50 + C) = 0.8·2/(1 + 2);
    # untreated the share changes nothing.
    p = replace(ModelParameters(), il12_th1_share=psi, blocker_p40_ec50=1.0, blocker_p40_emax=0.8)
    y = published_state("plaque", p)
    y[0, s.BLOCKER_CENTRAL] = 2.0
    loss = p.t_cell_clearance * y[0, s.TH1]
    untreated = rhs(0.0, y, p, SiteInputs.untreated(1))[0]
    p40 = rhs(0.0, y, p, build_inputs([parse_schedule("anti-p40")])[0])[0]
    blockade = 0.8 * 2.0 / (1.0 + 2.0)
    assert p40[s.TH1] + loss == pytest.approx((untreated[s.TH1] + loss) * (1 - psi * blockade))
    other = replace(p, il12_th1_share=1.0 - psi)
    np.testing.assert_array_equal(rhs(0.0, y, other, SiteInputs.untreated(1))[0], untreated)
