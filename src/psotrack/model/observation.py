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
(a plaque thicker than at baseline spreads; the region's area is capped at 100 %), ``s`` the
induration severity, ``s₀`` its baseline value: a plaque stops counting once thinner than
10 % of the plaque excess.

Perilesional arms (:func:`two_site_frame`) have two sites per patient, the injected target
plaques and all other plaques; the injected ones hold ``injected_area_share`` of every region's
baseline area. A region's area is the sum of both sites' areas; its signs are the mean severity
of the two sites weighted by their current areas (by the baseline shares once both are clear),
graded after mixing. The target plaque's own grades give its TPSS through
:func:`psotrack.instruments.tpss.tpss`. Labs mix the two sites' states by the baseline shares.
Labs are ratios to the nominal plaque (Treg 500, Th17 2 391.5 cells/mm², IL-17 65.52 units)
times typical psoriasis blood values (Treg 5 % and Th17 1.5 % of CD4⁺, serum IL-17A 10 pg/mL),
with log-normal assay noise (CV 10 %, 15 %, 20 %; median-unbiased).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.errors import ValidationError
from psotrack.instruments.pasi import REGIONS, SIGN_MAX, SIGNS
from psotrack.instruments.pasi_batch import pasi_batch
from psotrack.instruments.tpss import TpssInput, tpss
from psotrack.model import states as s
from psotrack.model.parameters import HEALTHY_CYTOKINE_LOAD
from psotrack.model.solver import PUBLISHED_STEADY_STATES

FloatArray = npt.NDArray[np.float64]

GRADE_AT_PLAQUE: Final = 3.0
#: Reading noise (psotrack assumptions, section 7): SD of a clinician's reading of a sign's
#: severity, in plaque-severity units (0.1 = 0.3 grade steps), independent per region and sign;
#: CV of the reading of a region's affected area (log-normal, median-unbiased).
SEVERITY_READING_SD: Final = 0.1
AREA_READING_CV: Final = 0.2
#: Number of standard normals per reading: one per region and sign, then one per region's area.
READING_DRAWS: Final = len(REGIONS) * (len(SIGNS) + 1)
#: Largest region lag (psotrack assumption fitted with the trigger, docs/model.md sections 7 and
#: 15; 0.6 until 2026-12-04): region j of a patient reads the
#: representative plaque's severity ``s`` as ``(s − v_j)/(1 − v_j)``, ``v_j = −lag·U(0, 1)``.
REGION_LAG_MAX: Final = 0.5
#: The site name given to :func:`~psotrack.instruments.tpss.tpss` for the injected plaques.
TARGET_SITE: Final = "injected target plaque (simulated)"
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


def extent(induration: FloatArray, baseline_induration: FloatArray) -> FloatArray:
    """A plaque's affected area relative to baseline, from its excess thickness (≥ 0)."""
    share = (induration - VISIBLE_SEVERITY) / (baseline_induration - VISIBLE_SEVERITY)
    return np.asarray(np.clip(share, 0.0, None), dtype=np.float64)


def area_percent(
    induration: FloatArray, baseline_induration: FloatArray, baseline_area: FloatArray
) -> FloatArray:
    """Affected % per region, ``(..., 4)``, shrinking with the plaque's excess thickness."""
    share = extent(induration, baseline_induration)[..., None]
    return np.asarray(np.clip(baseline_area * share, 0.0, 100.0), dtype=np.float64)


def _columns(
    severity: dict[str, FloatArray], area: FloatArray
) -> dict[str, npt.NDArray[np.generic]]:
    sign_grades = {name: grades(severity[name]) for name in SIGNS}
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for j, region in enumerate(REGIONS):
        for name in SIGNS:
            columns[f"{region}_{name}"] = sign_grades[name]
        columns[f"{region}_area_pct"] = area[:, j]
    return columns


def region_lags(rng: np.random.Generator, n: int) -> FloatArray:
    """Per-patient, per-region lags ``v_j = −REGION_LAG_MAX·U(0, 1)``, shape ``(n, 4)``."""
    return np.asarray(-REGION_LAG_MAX * rng.random((n, len(REGIONS))), dtype=np.float64)


def reading_draws(rng: np.random.Generator, rows: int) -> FloatArray:
    """Standard normals of ``rows`` readings, ``(rows, READING_DRAWS)`` (:func:`scored_columns`)."""
    return np.asarray(rng.standard_normal((rows, READING_DRAWS)), dtype=np.float64)


def _read(
    region_severity: dict[str, FloatArray],
    share: FloatArray,
    area: FloatArray,
    j: int,
    draws: FloatArray | None,
    columns: dict[str, npt.NDArray[np.generic]],
) -> None:
    """Write region ``j``'s grades and area %, read with noise when ``draws`` are given."""
    region = REGIONS[j]
    for k, name in enumerate(SIGNS):
        sev = region_severity[name]
        if draws is not None:
            sev = sev + SEVERITY_READING_SD * draws[:, j * len(SIGNS) + k]
        columns[f"{region}_{name}"] = grades(sev)
    if draws is not None:
        sigma_area = float(np.sqrt(np.log1p(AREA_READING_CV**2)))
        share = share * np.exp(sigma_area * draws[:, len(REGIONS) * len(SIGNS) + j])
    columns[f"{region}_area_pct"] = np.clip(area[:, j] * share, 0.0, 100.0)


def lagged(severity: FloatArray, lag: FloatArray) -> FloatArray:
    """A region's reading ``(s − v)/(1 − v)`` of the representative severity ``s`` (lag ``v``)."""
    return np.asarray((severity - lag) / (1.0 - lag), dtype=np.float64)


def scored_columns(
    y: FloatArray,
    baseline_induration: FloatArray,
    baseline_area: FloatArray,
    lags: FloatArray,
    draws: FloatArray | None,
) -> dict[str, npt.NDArray[np.generic]]:
    """PASI input columns of readings with regional lags and reading noise (module notes).

    ``lags`` ``(rows, 4)`` (≤ 0), ``draws`` ``(rows, READING_DRAWS)`` standard normals (or
    ``None``: noise-free). Region ``j``'s severity of each sign is ``(s − v_j)/(1 − v_j)``; its
    area follows that region's induration against its own baseline; the clinician reads each
    severity with Gaussian noise (SD :data:`SEVERITY_READING_SD`) before grading and the area
    with log-normal noise (CV :data:`AREA_READING_CV`).
    """
    severity = sign_severity(y)
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for j in range(len(REGIONS)):
        v = lags[:, j]
        region_severity = {name: lagged(severity[name], v) for name in SIGNS}
        share = extent(region_severity["induration"], lagged(baseline_induration, v))
        _read(region_severity, share, baseline_area, j, draws, columns)
    return columns


def pasi_columns(
    y: FloatArray, baseline_induration: FloatArray, baseline_area: FloatArray
) -> dict[str, npt.NDArray[np.generic]]:
    """Flat PASI input columns (grades and ``<region>_area_pct``) for states ``y[rows, S]``."""
    severity = sign_severity(y)
    area = area_percent(severity["induration"], baseline_induration, baseline_area)
    return _columns(severity, area)


def _mix(a: FloatArray, b: FloatArray, weight: FloatArray | float) -> FloatArray:
    """``weight·a + (1 − weight)·b``, exactly ``b`` where the two are equal (no rounding drift)."""
    return np.asarray(np.where(a == b, b, weight * a + (1.0 - weight) * b), dtype=np.float64)


def check_injected_area_share(injected_area_share: float) -> None:
    """Refuse a share of injected plaques outside 0–1 (``ValidationError``)."""
    if not 0.0 <= injected_area_share <= 1.0:
        raise ValidationError(
            "injected_area_share", injected_area_share, "a fraction 0–1 of the affected area"
        )


def two_site_pasi_columns(
    injected: FloatArray,
    uninjected: FloatArray,
    baseline_induration: FloatArray,
    baseline_area: FloatArray,
    injected_area_share: float,
    lags: FloatArray | None = None,
    draws: FloatArray | None = None,
) -> dict[str, npt.NDArray[np.generic]]:
    """PASI input columns of patients with injected and uninjected plaques, states ``[rows, S]``.

    The injected plaques hold ``injected_area_share`` of each region's baseline area. A region's
    area is the sum of the two sites' areas; each sign's severity is the two sites' mean weighted
    by their current areas (by the baseline shares once both are clear), then graded. With
    ``lags`` ``(rows, 4)`` each region reads both sites through its lag and ``draws`` add the
    reading noise, as :func:`scored_columns` (identical to it when both sites are equal).
    """
    check_injected_area_share(injected_area_share)
    site_severity = sign_severity(injected), sign_severity(uninjected)
    if lags is None:
        severity, total = _two_site_mix(site_severity, baseline_induration, injected_area_share)
        area = np.clip(baseline_area * total[..., None], 0.0, 100.0)
        return _columns(severity, np.asarray(area, dtype=np.float64))
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for j in range(len(REGIONS)):
        v = lags[:, j]
        sites = tuple({name: lagged(sev[name], v) for name in SIGNS} for sev in site_severity)
        severity, total = _two_site_mix(
            (sites[0], sites[1]), lagged(baseline_induration, v), injected_area_share
        )
        _read(severity, total, baseline_area, j, draws, columns)
    return columns


def _two_site_mix(
    site_severity: tuple[dict[str, FloatArray], dict[str, FloatArray]],
    baseline_induration: FloatArray,
    injected_area_share: float,
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Area-weighted severities of the two sites and their total extent (relative to baseline)."""
    inj, uninj = (sev["induration"] for sev in site_severity)
    inj_extent = injected_area_share * extent(inj, baseline_induration)
    uninj_extent = (1.0 - injected_area_share) * extent(uninj, baseline_induration)
    total = np.where(inj == uninj, extent(uninj, baseline_induration), inj_extent + uninj_extent)
    weight = np.divide(
        inj_extent,
        inj_extent + uninj_extent,
        out=np.full_like(total, injected_area_share),
        where=(inj_extent + uninj_extent) > 0,
    )
    severity = {
        name: _mix(site_severity[0][name], site_severity[1][name], weight) for name in SIGNS
    }
    return severity, np.asarray(total, dtype=np.float64)


def target_plaque_columns(injected: FloatArray) -> dict[str, npt.NDArray[np.generic]]:
    """Grades of the injected target plaque and its TPSS (0–12, by ``instruments.tpss``)."""
    severity = sign_severity(injected)
    signs = np.stack(
        [grades(severity[name]) for name in ("erythema", "induration", "desquamation")], axis=-1
    )
    # At most 125 grade triples: score each once through the instrument, then look rows up.
    triples, rows = np.unique(signs, axis=0, return_inverse=True)
    scores = np.array(
        [tpss(TpssInput(TARGET_SITE, e, i, sc)).total for e, i, sc in triples.tolist()],
        dtype=np.int64,
    )
    return {
        "target_erythema": signs[:, 0],
        "target_induration": signs[:, 1],
        "target_scaling": signs[:, 2],
        "tpss": scores[rows.reshape(-1)],
    }


def observe_pasi(
    y: FloatArray,
    baseline_induration: FloatArray,
    baseline_area: FloatArray,
    lags: FloatArray | None = None,
    draws: FloatArray | None = None,
) -> FloatArray:
    """PASI (float, exact tenths) of states ``y[rows, S]`` through ``pasi_batch``.

    With ``lags`` (and optionally ``draws``) the reading of :func:`scored_columns`.
    """
    if lags is None:
        columns = pasi_columns(y, baseline_induration, baseline_area)
    else:
        columns = scored_columns(y, baseline_induration, baseline_area, lags, draws)
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
    lags: FloatArray | None = None,
    draws: FloatArray | None = None,
) -> pl.DataFrame:
    """Tidy frame, one row per patient and day, from ``trajectory[len(days), n, S]``.

    Columns: ``patient_id, day, erythema, induration, desquamation, <region>_area_pct, pasi,
    treg_pct, th17_pct, il17_pg_ml, simulated`` (always ``True``). ``lags`` ``(n, 4)`` and
    ``draws`` ``(len(days)·n, READING_DRAWS)`` (day-major): scored by :func:`scored_columns`.
    """
    n_days, n = trajectory.shape[:2]
    flat = trajectory.reshape(n_days * n, s.N_STATES)
    if lags is None:
        columns = pasi_columns(
            flat, np.tile(baseline_induration, n_days), np.tile(baseline_area, (n_days, 1))
        )
    else:
        columns = scored_columns(
            flat,
            np.tile(baseline_induration, n_days),
            np.tile(baseline_area, (n_days, 1)),
            np.tile(lags, (n_days, 1)),
            draws,
        )
    return _frame(columns, flat, days, patient_ids, rng, {})


def two_site_frame(
    injected: FloatArray,
    uninjected: FloatArray,
    days: FloatArray,
    patient_ids: npt.NDArray[np.int64],
    baseline_induration: FloatArray,
    baseline_area: FloatArray,
    injected_area_share: float,
    rng: np.random.Generator | None = None,
    lags: FloatArray | None = None,
    draws: FloatArray | None = None,
) -> pl.DataFrame:
    """Tidy frame of patients with injected and uninjected plaques (``[len(days), n, S]`` each).

    ``lags`` and ``draws`` as in :func:`observation_frame`.

    The columns of :func:`observation_frame` (signs and areas mixed by
    :func:`two_site_pasi_columns`, labs from the states mixed by the baseline shares), then
    ``target_erythema, target_induration, target_scaling, tpss`` of the injected plaque.
    """
    check_injected_area_share(injected_area_share)
    n_days, n = uninjected.shape[:2]
    flat_injected = injected.reshape(n_days * n, s.N_STATES)
    flat = uninjected.reshape(n_days * n, s.N_STATES)
    columns = two_site_pasi_columns(
        flat_injected,
        flat,
        np.tile(baseline_induration, n_days),
        np.tile(baseline_area, (n_days, 1)),
        injected_area_share,
        None if lags is None else np.tile(lags, (n_days, 1)),
        draws,
    )
    mixed = _mix(flat_injected, flat, injected_area_share)
    target = target_plaque_columns(flat_injected)
    return _frame(columns, mixed, days, patient_ids, rng, target)


def _frame(
    columns: dict[str, npt.NDArray[np.generic]],
    lab_states: FloatArray,
    days: FloatArray,
    patient_ids: npt.NDArray[np.int64],
    rng: np.random.Generator | None,
    extra: dict[str, npt.NDArray[np.generic]],
) -> pl.DataFrame:
    n_days, n = len(days), len(patient_ids)
    scored = pasi_batch(columns)
    frame: dict[str, object] = {
        "patient_id": np.tile(patient_ids, n_days),
        "day": np.repeat(np.asarray(days, np.float64), n),
    }
    frame.update({name: columns[f"head_{name}"] for name in SIGNS})
    frame.update({f"{r}_area_pct": columns[f"{r}_area_pct"] for r in REGIONS})
    frame["pasi"] = scored.tenths.astype(np.float64) / 10.0
    frame.update(observe_labs(lab_states, rng))
    frame.update(extra)
    frame["simulated"] = np.ones(n_days * n, dtype=bool)
    return pl.DataFrame(frame).sort("patient_id", "day")
