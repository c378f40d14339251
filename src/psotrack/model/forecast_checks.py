"""Safeguards of the on-track forecast: effective sample size, predictive check, course rule.

Three pure functions that :mod:`psotrack.model.forecast` applies (documented in
``docs/model.md`` §11; every number they judge is **simulated**):

* :func:`effective_sample_size` — Kish's ``1/Σw²`` of the normalised importance weights. Below
  :data:`ESS_MIN` (10) the 10th–90th percentile band rests on fewer than ten effectively
  distinct virtual patients, and the forecast says so (psotrack's choice of threshold: a 10th
  percentile of fewer than ten draws is hardly estimated). The band is kept: on patients
  simulated from the model, bands with an effective sample size below 10 still held 76–87 % of
  later readings (``docs/model.md`` §11), and the sample size falls with every reading even
  where the model fits.
* :func:`prequential_p` — a prequential predictive check (Dawid AP. J R Stat Soc A
  1984;147:278–292): each reading after the baseline is placed in its predictive distribution
  under the particles weighted by the baseline and the *earlier* readings only (its probability
  integral transform, PIT), so no reading is judged by a fit to itself. For patients who behave
  like the model the PITs are independent and uniform, so the sum of their squared normal scores
  is χ² with one degree of freedom per reading; its tail probability below
  :data:`PREDICTIVE_P_MIN` (0.01) means the patient is outside what the model can explain
  (psotrack's choice of threshold: about 1 in 100 patients who do follow the model is flagged).
  The forecast band is then withheld: a band from a model that does not fit the patient would
  look as confident as a good one, and no widening would be calibrated.
* :func:`course_of` — ahead / on / behind from the latest reading and the expected course's
  10th, 50th and 90th percentiles of readings on the same day, with a rule at the floor (PASI 0)
  and the ceiling (PASI 72) so that each state stays reachable when the expected band reaches a
  bound of the scale.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
Course = Literal["ahead", "on", "behind", "unassessable"]

#: Below this effective sample size the forecast band is withheld (see module notes).
ESS_MIN: Final = 10.0
#: Below this posterior predictive tail probability the model cannot explain the patient.
PREDICTIVE_P_MIN: Final = 0.01
PASI_FLOOR: Final = 0.0
PASI_CEILING: Final = 72.0


def effective_sample_size(weights: npt.ArrayLike) -> float:
    """Kish's effective sample size ``(Σw)²/Σw²`` of importance weights.

    >>> effective_sample_size([0.25, 0.25, 0.25, 0.25]), effective_sample_size([1.0, 0.0])
    (4.0, 1.0)
    """
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / np.sum(w * w))


def prequential_p(
    readings: FloatArray, z: FloatArray, loglik: FloatArray, log_weight: FloatArray
) -> float | None:
    """Prequential predictive tail probability of the readings (see module notes).

    ``readings`` ``(m,)`` in time order, their z-scores and log-likelihoods under every particle
    ``(m, particles)``, and the particles' log-weights before the first of them (the baseline
    match). Each reading's PIT ``u`` is its predictive CDF under the particles weighted by the
    readings before it (a mid-PIT at the scale's bounds, where readings are clipped); the normal
    scores ``Φ⁻¹(u)`` are independent N(0, 1) for patients that behave like the model (Dawid 1984),
    so ``Σ Φ⁻¹(u)² ~ χ²(m)`` gives the tail probability. ``None`` without a reading.

    One reading 3 SDs above the one particle's PASI: ``P(χ²(1) ≥ 9) = 0.0027``.

    >>> round(prequential_p(np.array([13.0]), np.array([[3.0]]), np.zeros((1, 1)), np.zeros(1)), 4)
    0.0027
    """
    if readings.size == 0:
        return None
    log_w = np.array(log_weight, dtype=np.float64)
    scores = np.empty(readings.size)
    for j, reading in enumerate(readings):
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        below, above = stats.norm.cdf(z[j]), stats.norm.sf(z[j])
        if reading <= PASI_FLOOR:  # clipped: an atom at 0 holds all of P(X ≤ 0); mid-PIT
            below, above = below / 2, 1 - below / 2
        elif reading >= PASI_CEILING:
            below, above = 1 - above / 2, above / 2
        lower, upper = float(np.sum(w * below)), float(np.sum(w * above))
        scores[j] = stats.norm.ppf(lower) if lower < upper else -stats.norm.ppf(upper)
        log_w += loglik[j]
    return float(stats.chi2.sf(np.sum(scores * scores), df=readings.size))


def course_of(reading: float, p10: float, median: float, p90: float) -> Course:
    """Ahead, on or behind the expected course of the same day (psotrack's rule).

    **ahead** below the expected 10th percentile of readings, **behind** above the 90th, **on**
    between them (the edges count as on). At the scale's floor no reading can be below a 10th
    percentile of 0, so a reading of 0 is **ahead** when the expected 10th percentile is 0 but
    the expected median is above 0 (the patient is clear, as only the best-responding tenth to
    half of the expected patients are); when the median itself is 0, clear is the typical course
    and is **on**. The ceiling (PASI 72) is treated the same way for **behind**.

    >>> [course_of(x, 0.0, 5.0, 12.0) for x in (0.0, 4.0, 12.1)], course_of(0.0, 0.0, 0.0, 3.0)
    (['ahead', 'on', 'behind'], 'on')
    """
    if reading < p10 or (reading == p10 == PASI_FLOOR < median):
        return "ahead"
    if reading > p90 or (reading == p90 == PASI_CEILING > median):
        return "behind"
    return "on"


def is_unexplained(p: float | None) -> bool:
    """Whether a posterior predictive tail probability says the model cannot explain the patient."""
    return p is not None and p < PREDICTIVE_P_MIN
