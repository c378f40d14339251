"""Posterior calibration: likelihood and prior against hand arithmetic, the sampler's bookkeeping.

Known answers: the binomial log likelihood of 8/17 written out with math.comb; a range as
mean ± 2 SD of a normal (70–90 % → N(0.8, 0.05²)); the prior's density at its centre
−ln(σ√(2π)) per parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from psotrack.errors import ValidationError
from psotrack.model.calibration import FIT_GROUPS, PRIOR, Measure, load_targets
from psotrack.model.posterior import (
    PRIOR_SD_LOG,
    PRIOR_SD_LOGIT,
    _group_targets,
    check_sampler,
    from_fit_scale,
    log_likelihood,
    log_prior,
    sample_posterior,
    to_fit_scale,
)

TARGETS = {t.id: t for t in load_targets()}


def test_count_likelihood_is_the_binomial_of_the_published_count() -> None:
    p = 94 / 300
    expected = math.log(math.comb(17, 8)) + 8 * math.log(p) + 9 * math.log(1 - p)
    got = log_likelihood([TARGETS["ucmsc_pasi40"]], {"ucmsc_pasi40": Measure(94, 300)})
    assert got == pytest.approx(expected)


def test_a_population_without_responders_is_kept_off_zero() -> None:
    # 0/300 is read as 1/600, so 3/17 is unlikely but not impossible.
    p = 1 / 600
    expected = math.log(math.comb(17, 3)) + 3 * math.log(p) + 14 * math.log(1 - p)
    got = log_likelihood([TARGETS["ucmsc_pga01"]], {"ucmsc_pga01": Measure(0, 300)})
    assert got == pytest.approx(expected)


def test_range_likelihood_reads_the_range_as_two_sd_either_side() -> None:
    target = TARGETS["anti_il17_pasi75"]  # 70–90 %: mean 0.8, SD 0.05
    at_centre = log_likelihood([target], {target.id: Measure(240, 300)})
    assert at_centre == pytest.approx(-math.log(0.05 * math.sqrt(2 * math.pi)))
    at_edge = log_likelihood([target], {target.id: Measure(270, 300)})  # 0.9 = 2 SD out
    assert at_centre - at_edge == pytest.approx(2.0)


def test_a_published_rate_reads_its_band_as_two_sd_either_side() -> None:
    target = TARGETS["anti_il17_early_decline"]  # 0.11/day ± 30 %: mean 0.11, SD 0.0165
    sd = 0.11 * 0.3 / 2
    at_centre = log_likelihood([target], {target.id: Measure(value=0.11)})
    assert at_centre == pytest.approx(-math.log(sd * math.sqrt(2 * math.pi)))
    at_edge = log_likelihood([target], {target.id: Measure(value=0.143)})  # 2 SD out
    assert at_centre - at_edge == pytest.approx(2.0)


def test_a_relapse_median_not_reached_counts_as_the_follow_up() -> None:
    target = TARGETS["anti_il17_relapse_median"]  # 143 days ± 30 %, follow-up 364 days
    sd = 143 * 0.3 / 2
    expected = -math.log(sd * math.sqrt(2 * math.pi)) - 0.5 * ((364 - 143) / sd) ** 2
    not_reached = Measure(count=None, total=250, value=None, relapses=40)
    assert log_likelihood([target], {target.id: not_reached}) == pytest.approx(expected)
    reached = log_likelihood([target], {target.id: Measure(total=250, value=143.0, relapses=200)})
    assert reached > log_likelihood([target], {target.id: not_reached})


def test_prior_is_log_normal_around_the_assumed_values() -> None:
    names = ["paracrine_ec50", "blocker_il17_emax"]
    centre = [to_fit_scale(k, PRIOR[k]) for k in names]
    expected = -math.log(PRIOR_SD_LOG * math.sqrt(2 * math.pi))
    expected -= math.log(PRIOR_SD_LOGIT * math.sqrt(2 * math.pi))
    assert log_prior(names, centre) == pytest.approx(expected)
    # One SD (a factor 2 on the EC50) lowers the log density by one half.
    moved = [centre[0] + math.log(2.0), centre[1]]
    assert log_prior(names, centre) - log_prior(names, moved) == pytest.approx(0.5)
    for name, value in (("blocker_il17_emax", 0.6), ("paracrine_half_life", 1.44)):
        assert from_fit_scale(name, to_fit_scale(name, value)) == pytest.approx(value)


def test_sampler_settings_are_refused_all_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        check_sampler(walkers=3, steps=5, burn=5, draws=0)
    assert [p.field for p in caught.value.problems] == ["walkers", "burn", "draws"]


def test_groups_must_name_fitted_count_or_range_targets() -> None:
    groups = {"bad": (("paracrine_ec50", "no_such_parameter"), ("ucmsc_treg_up", "missing"))}
    with pytest.raises(ValidationError) as caught:
        _group_targets(groups, load_targets())
    fields = [p.field for p in caught.value.problems]
    assert fields == ["no_such_parameter", "ucmsc_treg_up", "missing"]


def test_posterior_bookkeeping_and_seeding_on_a_tiny_population() -> None:
    calls: list[int] = []
    groups = {"anti_il17": FIT_GROUPS["anti_il17"]}  # the cheaper arm (12 weeks)
    post = sample_posterior(
        n=12, seed=4, walkers=4, steps=1, burn=0, on_evaluation=lambda: calls.append(1),
        groups=groups,
    )  # fmt: skip
    names = list(FIT_GROUPS["anti_il17"][0])
    assert list(post.names) == names
    # emcee evaluates every walker at the start and once per step: 4 · (1 + 1).
    assert post.evaluations == len(calls) == 4 * 2
    assert post.draws.shape == (4 * 1, len(names))
    assert (post.n, post.seed) == (12, 4)
    assert all(0.0 <= a <= 1.0 for a in post.acceptance.values())
    summary = post.summary()
    assert summary["parameter"].to_list() == names
    assert (summary["low"] <= summary["median"]).all() and (
        summary["median"] <= summary["high"]
    ).all()
    median = dict(zip(summary["parameter"], summary["median"], strict=True))
    assert post.typical().blocker_il17_ec50 == pytest.approx(median["blocker_il17_ec50"])
    assert len(post.thinned(2)) == 2 and set(post.thinned(2)[0]) == set(names)
    again = sample_posterior(n=12, seed=4, walkers=4, steps=1, burn=0, groups=groups)
    assert np.array_equal(post.draws, again.draws)  # same seed, same draws
