"""On-track forecast: band calibration on held-out simulated visits, reproducibility, classes.

Known truth for the calibration test: virtual patients drawn from the population (a seed other
than the forecast's particles), simulated on the schedule, read with the documented PASI noise;
their first visits are given to the forecast and their later readings held out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from psotrack.errors import ValidationError
from psotrack.model.forecast import (
    LABEL,
    _best_fit_z,
    _classify,
    _match_baseline,
    _systematic_resample,
    draw_prior,
    forecast_patient,
    observe_with_noise,
    pasi_noise_sd,
    patient_record,
)
from psotrack.model.observation import observe_pasi
from psotrack.model.population import Population, build_population, simulate_sites

SCHEDULE = "uc-msc-iv:1.5e6/kg x3 q4w"


def _patient(days: list[int], pasi: list[float], **labs: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["P1"] * len(days),
            "visit": [f"W{d // 7}" if d % 7 == 0 else f"D{d}" for d in days],
            "day": days,
            "pasi": [float(p) for p in pasi],
            **{name: pl.Series(values, dtype=pl.Float64) for name, values in labs.items()},
        }
    )


@pytest.fixture(scope="module")
def prior() -> Population:
    return draw_prior(200, seed=99)


def test_reading_noise_sd_is_one_plus_a_tenth_of_pasi() -> None:
    assert pasi_noise_sd([0.0, 8.8, 20.0]) == pytest.approx([1.0, 1.88, 3.0])


def test_noisy_readings_are_tenths_in_range_with_the_documented_sd() -> None:
    readings = observe_with_noise(np.full(40_000, 20.0), np.random.default_rng(1))
    assert np.allclose(readings * 10, np.round(readings * 10))
    assert readings.std() == pytest.approx(3.0, rel=0.03)
    assert readings.mean() == pytest.approx(20.0, abs=0.05)
    edges = observe_with_noise(np.array([0.0] * 1000 + [72.0] * 1000), np.random.default_rng(2))
    assert edges.min() == 0.0 and edges.max() == 72.0


def test_systematic_resampling_known_answers() -> None:
    rng = np.random.default_rng(0)
    assert _systematic_resample(np.array([0.0, 1.0, 0.0]), rng).tolist() == [1, 1, 1]
    assert sorted(_systematic_resample(np.full(4, 0.25), rng).tolist()) == [0, 1, 2, 3]
    half = _systematic_resample(np.array([0.5, 0.0, 0.5, 0.0]), rng).tolist()
    assert sorted(half) == [0, 0, 2, 2]


def test_baseline_matched_within_an_area_score_step(prior: Population) -> None:
    for target in (4.0, 12.5, 30.0):
        area, matched = _match_baseline(prior, np.full(len(prior), target))
        assert area.max() <= 100.0
        # the largest single area-score step is lower limbs 0.4 × 12 grade points = 4.8 PASI,
        # within what the particle can reach: its signs at area score 6 everywhere (PASI 24 for
        # a particle with grade sum 4, 1 + 2 + 1; the trigger's screening leaves a few that mild)
        ceiling = observe_pasi(
            prior.baseline_state, prior.baseline_induration, np.full((len(prior), 4), 100.0)
        )
        reachable = np.minimum(target, ceiling)
        assert np.median(np.abs(matched - target)) < 1.0
        assert np.abs(matched - reachable).max() <= 4.8
        recomputed = observe_pasi(prior.baseline_state, prior.baseline_induration, area)
        assert np.array_equal(recomputed, matched)


@pytest.fixture(scope="module")
def held_out(prior: Population) -> tuple[float, float, int]:
    """Coverage of the 80 % band on 40 simulated patients' held-out weeks 5–16, and how many of
    them the predictive check calls unexplained.

    The true patients are built with the default trigger and follow their own stimulus paths
    (``simulate_sites``), as every trial's virtual patients do: the realistic case, and the one
    the deterministic prior of before failed (42.5 % coverage, 11 of 40 unexplained)."""
    n = 40
    truth = build_population(n, seed=11)
    assert truth.trigger.sigma > 0
    days = np.arange(0, 17 * 7, 7)
    states, _ = simulate_sites(truth, SCHEDULE, days.astype(float))
    true = np.stack(
        [observe_pasi(y, truth.baseline_induration, truth.baseline_area) for y in states]
    )
    readings = observe_with_noise(true, np.random.default_rng(5))
    hits = latent_hits = total = unexplained = 0
    for i in range(n):
        given = [0, 2, 4]
        frame = _patient([7 * w for w in given], [readings[w, i] for w in given])
        result = forecast_patient(frame, SCHEDULE, weeks=12, seed=i, prior=prior)
        unexplained += result.unexplained
        if result.band_withheld:
            continue  # no band to cover anything; counted by the false-alarm test
        weeks = result.table["week"].to_numpy()
        assert weeks.tolist() == list(range(5, 17))
        low, high = result.table["p10"].to_numpy(), result.table["p90"].to_numpy()
        hits += int(np.sum((low <= readings[weeks, i]) & (readings[weeks, i] <= high)))
        latent_hits += int(np.sum((low <= true[weeks, i]) & (true[weeks, i] <= high)))
        total += weeks.size
    return hits / total, latent_hits / total, unexplained


def test_80_percent_band_covers_about_80_percent_of_held_out_visits(
    held_out: tuple[float, float, int],
) -> None:
    coverage, latent, _ = held_out
    print(f"coverage of held-out readings {coverage:.3f}; of true PASI {latent:.3f}")
    # Measured 2026-12-03 with these seeds: 374/468 = 0.799 of readings, 0.838 of true PASI
    # (1 of 40 patients unexplained, its band withheld); with deterministic particles 0.425.
    # 468 readings in 39 patients, correlated within a patient: the binomial SE of a true 0.80
    # lies between 1.8 points (independent readings) and 6.4 points (39 independent patients),
    # so 0.70–0.90 is at least 1.5 SE of the worst case either side. On patients simulated
    # without the trigger the same bands are wider than needed (0.919 of 480 readings): not
    # tested, the trigger being the model's untreated course (docs/model.md section 11).
    assert 0.70 <= coverage <= 0.90
    assert latent >= coverage  # the band is for readings, which scatter around the truth


def test_predictive_check_rarely_flags_patients_who_follow_the_model(
    held_out: tuple[float, float, int],
) -> None:
    # Threshold 0.01: about 0.4 of 40 expected; measured 1 here (1 of 100 and 2 of 100 with
    # 3 and 12 readings in docs/model.md §11). Binomial(40, 0.01) exceeds 2 with probability 0.008.
    assert held_out[2] <= 2


def test_same_seed_same_forecast_and_another_seed_differs() -> None:
    frame = _patient([0, 14, 28], [20.0, 12.0, 16.0])
    first = forecast_patient(frame, SCHEDULE, particles=100, seed=3)
    again = forecast_patient(frame, SCHEDULE, particles=100, seed=3)
    other = forecast_patient(frame, SCHEDULE, particles=100, seed=4)
    assert first.table.equals(again.table) and first.course == again.course
    assert first.effective_sample_size == again.effective_sample_size
    assert not first.table.equals(other.table)


def test_table_is_ordered_labelled_and_simulated(prior: Population) -> None:
    result = forecast_patient(_patient([0, 14, 30], [20.0, 12.0, 16.0]), SCHEDULE, prior=prior)
    table = result.table
    assert table["week"].to_list() == list(range(5, 17))  # the 12 weeks after day 30
    assert table["day"].to_list() == [7 * w for w in range(5, 17)]
    assert (table["p10"] <= table["median"]).all() and (table["median"] <= table["p90"]).all()
    assert (table["expected_p10"] <= table["expected_p90"]).all()
    assert table["simulated"].all() and result.label == LABEL
    assert "not a prediction" in LABEL
    assert 1.0 <= result.effective_sample_size <= len(prior)
    assert result.observed["change_pct"].to_list() == pytest.approx([0.0, -40.0, -20.0])


def test_fast_improver_is_ahead_and_non_improver_is_behind(prior: Population) -> None:
    # After the cell-therapy refit (docs/model.md section 9.3) the expected course of a baseline
    # of 20 falls fast (10th percentile of readings 5.3 at day 7, 0 from day 21; measured
    # 2026-12-03), so "ahead" is tested where the 10th percentile is above 0: PASI 4 at day 7
    # (−80 %) lies below it. A flat course (no change in five weeks) is behind.
    fast = forecast_patient(_patient([0, 7], [20, 4]), SCHEDULE, prior=prior)
    days = [0, 7, 14, 21, 28, 35]
    flat = forecast_patient(_patient(days, [20, 20, 20, 20, 20, 20]), SCHEDULE, prior=prior)
    assert fast.course == "ahead" and fast.latest_day == 7
    assert fast.expected_change_pct is not None and fast.latest_change_pct is not None
    assert fast.latest_change_pct == pytest.approx(-80.0)
    assert fast.latest_change_pct < fast.expected_change_pct[0]
    assert flat.course == "behind" and flat.latest_change_pct == 0.0
    assert flat.expected_change_pct is not None and flat.expected_change_pct[1] < 0.0


@pytest.mark.parametrize(
    ("latest", "course"), [(10.9, "ahead"), (11.0, "on"), (15.0, "on"), (15.1, "behind")]
)
def test_classification_against_the_expected_band_edges(latest: float, course: str) -> None:
    # Hand-built expected course at days 0 and 14: 10th–90th percentile 11.0–15.0 at day 14,
    # i.e. −45 % to −25 % of the baseline 20; the band's edges count as on course.
    record = patient_record(_patient([0, 14], [20.0, latest]))
    expected = np.array([[18.0, 20.0, 22.0], [11.0, 13.0, 15.0]])
    found, day, change, band = _classify(record, 20.0, np.array([0, 14]), expected)
    assert (found, day) == (course, 14)
    assert change == pytest.approx(100 * (latest - 20) / 20)
    assert band == pytest.approx((-45.0, -25.0))


def test_typical_patient_is_on_course_and_baseline_only_is_unassessable(
    prior: Population,
) -> None:
    # Readings near the expected median of a baseline of 20 (6 at day 14 and 3 at day 28 against
    # a median of 5.2 and 3.0; measured 2026-12-03 after the cell-therapy refit, which moved the
    # earlier typical 12 and 16 above the 90th percentile).
    typical = forecast_patient(_patient([0, 14, 28], [20, 6, 3]), SCHEDULE, prior=prior)
    assert typical.course == "on"
    alone = forecast_patient(_patient([-3, 0], [21, 20]), SCHEDULE, prior=prior)
    assert alone.course == "unassessable" and alone.latest_day is None
    assert alone.table["week"].to_list()[0] == 1


def test_labs_enter_the_likelihood(prior: Population) -> None:
    days, pasi = [0, 14, 28], [20.0, 12.0, 16.0]
    without = forecast_patient(_patient(days, pasi), SCHEDULE, prior=prior)
    with_labs = forecast_patient(
        _patient(days, pasi, treg_pct=[5.0, None, 9.0], il17=[10.0, None, 4.0]),
        SCHEDULE,
        prior=prior,
    )
    assert with_labs.effective_sample_size < without.effective_sample_size


def test_two_patients_are_rejected_naming_them() -> None:
    frame = _patient([0, 14], [20.0, 12.0]).with_columns(pl.Series("patient_id", ["A", "B"]))
    with pytest.raises(ValidationError) as caught:
        patient_record(frame)
    assert "A, B" in str(caught.value) and "one patient" in str(caught.value)


def test_bad_rows_and_arguments_are_rejected() -> None:
    with pytest.raises(ValidationError, match="row 2: pasi"):
        patient_record(_patient([0, 14], [20.0, 80.0]))
    with pytest.raises(ValidationError, match="row 2: treg_pct"):
        patient_record(_patient([0, 14], [20.0, 12.0], treg_pct=[5.0, -1.0]))
    with pytest.raises(ValidationError, match="baseline PASI"):
        patient_record(_patient([7, 14], [20.0, 12.0]))
    frame = _patient([0, 14], [20.0, 12.0])
    with pytest.raises(ValidationError, match="particles"):
        forecast_patient(frame, SCHEDULE, particles=10)
    with pytest.raises(ValidationError, match="weeks"):
        forecast_patient(frame, SCHEDULE, weeks=0, particles=50)
    with pytest.raises(ValidationError, match="schedule"):
        forecast_patient(frame, "uc-msc-iv:lots", particles=50)


def test_a_latest_baseline_of_zero_is_refused_not_divided_by():
    # Found while documenting the model: PASI 12 at day -14, then 0 at day 0, crashed with
    # ZeroDivisionError; a relative forecast has no baseline here.
    import polars as pl

    from psotrack.errors import ValidationError
    from psotrack.model.forecast import patient_record

    frame = pl.DataFrame(
        {
            "patient_id": ["p"] * 3,
            "visit": ["S", "W0", "W4"],
            "day": [-14, 0, 28],
            "pasi": [12.0, 0.0, 1.0],
        }
    )
    with pytest.raises(ValidationError, match=r"pasi=0\.0"):
        patient_record(frame)


def test_perilesional_expected_course_improves_less_than_iv_at_the_same_dose():
    # Cell kinetics (issue 18): per unit of cells the uninjected plaques of a perilesional course
    # see 0.43 unit·days of systemic activity (10 % spillover of the depot's 4.3) against 0.72
    # under IV (docs/model.md section 5.6), and they hold four fifths of the affected skin
    # (INJECTED_AREA_SHARE 0.2). With the refit's long-lived pool (half-life 25 d, EC50 4.36;
    # section 9.3) the systemic activity decides the whole-body course, so the IV course sits
    # below the perilesional one: at week 4 expected median 1.6 against 4.2 (measured
    # 2026-12-03; before the refit, with a 6-day pool, the local effect won: 11.2 against 11.5
    # at week 12). By week 12 both are near 0 (0.2 and 0.6), so week 4 is compared.
    import polars as pl

    from psotrack.model.forecast import forecast_patient

    frame = pl.DataFrame(
        {"patient_id": ["p"] * 2, "visit": ["W0", "W2"], "day": [0, 14], "pasi": [18.0, 16.0]}
    )

    def expected_median(schedule: str) -> float:
        table = forecast_patient(frame, schedule, particles=200, seed=1).table
        return float(table.filter(pl.col("week") == 4)["expected_median"][0])

    assert expected_median("ad-msc-iv:1.5e6/kg x4 q2w") < expected_median(
        "ad-msc-pl:1.5e6/kg x4 q2w"
    )


def test_best_fit_z_is_the_best_particles_rms_z_known_answer() -> None:
    # Baseline 20 on day 0; readings 12 on day 14 and 8 on day 28. Particle 0 predicts 10 then 4:
    # z = (12 − 10)/(1 + 1.0) = 1 and (8 − 4)/(1 + 0.4) = 2.857…, RMS = √((1 + 8.1633)/2) = 2.1405.
    # Particle 1 predicts 16 then 16: z = −4/2.6 and −8/2.6, RMS = 2.6312. The best is particle 0.
    record = patient_record(_patient([0, 14, 28], [20.0, 12.0, 8.0]))
    pasi = np.array([[20.0, 20.0], [10.0, 16.0], [4.0, 16.0]])
    assert _best_fit_z(record, np.array([0, 14, 28]), pasi) == pytest.approx(2.1405, abs=1e-4)
    alone = patient_record(_patient([0], [20.0]))
    assert _best_fit_z(alone, np.array([0]), pasi[:1]) is None


def test_warning_only_when_the_model_cannot_explain_the_patient(prior: Population) -> None:
    days = [0, 28, 56, 84]
    # Near the expected median of a baseline of 20 (3.0, 0.7 and 0.3 at days 28, 56 and 84 after
    # the cell-therapy refit; the earlier 12, 9, 8 is now fitted by 2.6 particles and warned).
    typical = forecast_patient(_patient(days, [20, 3, 1, 0.5]), SCHEDULE, prior=prior)
    assert typical.predictive_p is not None and typical.predictive_p > 0.01
    assert typical.warning is None and not typical.band_withheld
    # PASI trebling to the scale's maximum after cell therapy: no virtual patient does that.
    rising = forecast_patient(_patient(days, [20, 40, 60, 72]), SCHEDULE, prior=prior)
    assert rising.best_fit_z is not None and rising.best_fit_z > 3
    assert rising.predictive_p is not None and rising.predictive_p < 1e-6
    assert rising.warning is not None and "cannot explain this patient" in rising.warning
    assert rising.band_withheld and rising.table.select("median", "p10", "p90").null_count().row(
        0
    ) == (12, 12, 12)
    assert rising.table["expected_median"].null_count() == 0  # the population's course stays
    alone = forecast_patient(_patient([0], [20]), SCHEDULE, prior=prior)
    assert alone.best_fit_z is None and alone.predictive_p is None and alone.warning is None


def test_expected_course_spans_day_0_the_readings_and_the_forecast_weeks(
    prior: Population,
) -> None:
    result = forecast_patient(_patient([-7, 0, 14, 30], [21, 20, 12, 16]), SCHEDULE, prior=prior)
    course = result.expected_course
    assert course is not None and course["simulated"].all()
    weeks = result.table["day"].to_list()
    assert course["day"].to_list() == [0, 14, 30, *weeks]
    at_weeks = course.filter(pl.col("day").is_in(weeks)).drop("day", "simulated")
    assert at_weeks.equals(result.table.select("expected_p10", "expected_median", "expected_p90"))


def test_reading_tells_the_course_with_its_numbers(prior: Population) -> None:
    result = forecast_patient(_patient([0, 28], [20, 12]), SCHEDULE, prior=prior)
    shown = replace(
        result, course="on", latest_day=84, latest_change_pct=-60.0,
        expected_change_pct=(-95.0, -45.0),
    )  # fmt: skip
    assert shown.reading == (
        "On the expected course (simulated): PASI change on day 84 -60.0 % from baseline; "
        "expected -95.0 % to -45.0 % (10th–90th percentile)"
    )
    alone = replace(result, course="unassessable", latest_change_pct=None)
    assert alone.reading == "Not assessable yet (no PASI after day 0) (simulated)"
