"""Observation model: simulated states → lesion grades, regional area, PASI and laboratory values.

Every output is simulated and labelled so (``simulated=True``). PASI itself is computed only by
:func:`psotrack.instruments.pasi_batch.pasi_batch` from integer grades and area scores
(:func:`~psotrack.instruments.pasi_batch.area_scores_from_percent`) — never a second formula.

Mapping (psotrack assumptions, to be calibrated): each sign has a severity ``0`` at the published
healthy steady state and ``1`` at the published plaque steady state (Shmarov 2022):

* erythema ← vascular state ``V`` (``V = 1`` healthy, ``3.074`` plaque);
* induration ← epidermal thickness, keratinocytes ``SC + TA + D`` (76 701 → 256 398 cells/mm²);
* desquamation ← turnover of differentiated keratinocytes, their loss flux
  ``(0.0036 + 0.0047529)·D + 5.05·10⁻⁷·D²`` (1 712 → 16 651 cells/mm²/day).

A grade is ``floor(3 × severity + 0.5)`` (half up) clipped to 0–4: the published plaque
is "marked" (3). One representative plaque per patient gives the signs of every region.
A region's affected area is its baseline area times ``(s − 0.1)/(s₀ − 0.1)``, not below 0
(a plaque thicker than at baseline spreads; the share is capped at 100 %), ``s`` the
induration severity, ``s₀`` its baseline value: a plaque stops counting once thinner than
10 % of the plaque excess.
Labs are ratios to the nominal plaque (Treg 500, Th17 2 391.5 cells/mm², IL-17 65.52 units)
times typical psoriasis blood values (Treg 5 % and Th17 1.5 % of CD4⁺, serum IL-17A 10 pg/mL),
with log-normal assay noise (CV 10 %, 15 %, 20 %; median-unbiased).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.instruments.pasi import REGIONS, SIGN_MAX, SIGNS
from psotrack.instruments.pasi_batch import pasi_batch
from psotrack.model import states as s
from psotrack.model.parameters import HEALTHY_CYTOKINE_LOAD
from psotrack.model.solver import PUBLISHED_STEADY_STATES

FloatArray = npt.NDArray[np.float64]

GRADE_AT_PLAQUE: Final = 3.0
VISIBLE_SEVERITY: Final = 0.1
_HEALTHY = PUBLISHED_STEADY_STATES["healthy"]
_PLAQUE = PUBLISHED_STEADY_STATES["plaque"]


def _d_loss(diff: FloatArray | float) -> FloatArray:
    """Loss flux of differentiated keratinocytes (Shmarov 2022 D equation), cells/mm²/day."""
    return np.asarray((0.0036 + 0.0047529) * diff + 5.05e-7 * diff * diff, dtype=np.float64)


def _thickness(state: dict[str, float]) -> float:
    return state["stem"] + state["transit"] + state["differentiated"]


_VASCULAR = (1.0, (_PLAQUE["il17"] + _PLAQUE["tnf"]) / HEALTHY_CYTOKINE_LOAD)
_KERATINOCYTES = (_thickness(_HEALTHY), _thickness(_PLAQUE))
_D_LOSS = (float(_d_loss(_HEALTHY["differentiated"])), float(_d_loss(_PLAQUE["differentiated"])))
LAB_REFERENCE: Final = {  # state index, nominal plaque value, typical blood value, assay CV
    "treg_pct": (s.TREG, 500.0, 5.0, 0.10),
    "th17_pct": (s.TH17, 2391.49, 1.5, 0.15),
    "il17_pg_ml": (s.IL17, 65.5201, 10.0, 0.20),
}


def _scaled(value: FloatArray, bounds: tuple[float, float]) -> FloatArray:
    low, high = bounds
    return np.asarray((value - low) / (high - low), dtype=np.float64)


def sign_severity(y: FloatArray) -> dict[str, FloatArray]:
    """Severity of each sign (0 healthy, 1 published plaque) for states ``y[..., n_states]``."""
    diff = y[..., s.DIFFERENTIATED]
    loss = _d_loss(diff)
    thickness = y[..., s.STEM] + y[..., s.TRANSIT] + diff
    return {
        "erythema": _scaled(y[..., s.VASCULAR], _VASCULAR),
        "induration": _scaled(thickness, _KERATINOCYTES),
        "desquamation": _scaled(loss, _D_LOSS),
    }


def grades(severity: FloatArray) -> npt.NDArray[np.int8]:
    """0–4 grade of a sign from its severity (half-up rounding of ``3 × severity``)."""
    return np.clip(np.floor(GRADE_AT_PLAQUE * severity + 0.5), 0, SIGN_MAX).astype(np.int8)


def area_percent(
    induration: FloatArray, baseline_induration: FloatArray, baseline_area: FloatArray
) -> FloatArray:
    """Affected % per region, ``(..., 4)``, shrinking with the plaque's excess thickness."""
    share = (induration - VISIBLE_SEVERITY) / (baseline_induration - VISIBLE_SEVERITY)
    share = np.clip(share, 0.0, None)[..., None]
    return np.asarray(np.clip(baseline_area * share, 0.0, 100.0), dtype=np.float64)


def pasi_columns(
    y: FloatArray, baseline_induration: FloatArray, baseline_area: FloatArray
) -> dict[str, npt.NDArray[np.generic]]:
    """Flat PASI input columns (grades and ``<region>_area_pct``) for states ``y[rows, S]``."""
    severity = sign_severity(y)
    sign_grades = {name: grades(severity[name]) for name in SIGNS}
    area = area_percent(severity["induration"], baseline_induration, baseline_area)
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for j, region in enumerate(REGIONS):
        for name in SIGNS:
            columns[f"{region}_{name}"] = sign_grades[name]
        columns[f"{region}_area_pct"] = area[:, j]
    return columns


def observe_pasi(
    y: FloatArray, baseline_induration: FloatArray, baseline_area: FloatArray
) -> FloatArray:
    """PASI (float, exact tenths) of states ``y[rows, S]`` through ``pasi_batch``."""
    columns = pasi_columns(y, baseline_induration, baseline_area)
    return pasi_batch(columns).tenths.astype(np.float64) / 10.0


def observe_labs(y: FloatArray, rng: np.random.Generator | None) -> dict[str, FloatArray]:
    """Treg % and Th17 % of CD4⁺ and serum IL-17 (pg/mL); noisy when ``rng`` is given."""
    labs = {}
    for name, (index, nominal, typical, cv) in LAB_REFERENCE.items():
        value = typical * y[..., index] / nominal
        if rng is not None:
            value = value * np.exp(np.sqrt(np.log1p(cv * cv)) * rng.standard_normal(value.shape))
        labs[name] = np.asarray(value, dtype=np.float64)
    return labs


def observation_frame(
    trajectory: FloatArray,
    days: FloatArray,
    patient_ids: npt.NDArray[np.int64],
    baseline_induration: FloatArray,
    baseline_area: FloatArray,
    rng: np.random.Generator | None = None,
) -> pl.DataFrame:
    """Tidy frame, one row per patient and day, from ``trajectory[len(days), n, S]``.

    Columns: ``patient_id, day, erythema, induration, desquamation, <region>_area_pct, pasi,
    treg_pct, th17_pct, il17_pg_ml, simulated`` (always ``True``).
    """
    n_days, n = trajectory.shape[:2]
    flat = trajectory.reshape(n_days * n, s.N_STATES)
    columns = pasi_columns(
        flat, np.tile(baseline_induration, n_days), np.tile(baseline_area, (n_days, 1))
    )
    scored = pasi_batch(columns)
    frame: dict[str, object] = {
        "patient_id": np.tile(patient_ids, n_days),
        "day": np.repeat(np.asarray(days, np.float64), n),
    }
    frame.update({name: columns[f"head_{name}"] for name in SIGNS})
    frame.update({f"{r}_area_pct": columns[f"{r}_area_pct"] for r in REGIONS})
    frame["pasi"] = scored.tenths.astype(np.float64) / 10.0
    frame.update(observe_labs(flat, rng))
    frame["simulated"] = np.ones(n_days * n, dtype=bool)
    return pl.DataFrame(frame).sort("patient_id", "day")
