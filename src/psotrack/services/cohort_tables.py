"""The cohort report's flow, baseline and evidence tables, built from rows already read.

Pure functions over what :func:`psotrack.services.cohort_report.cohort_report` read in its
transaction: the newest enrollment of each patient in scope, the patients' coded fields, the
long table of scores (research ids) and the prior therapy classes. Baselines come from the
endpoint engine (:func:`~psotrack.endpoints.derive_baseline`), distributions from
:func:`psotrack.stats.biomarkers.describe`, rates from the engine, published rows from
:mod:`psotrack.evidence`. The rules are stated in the module text of ``cohort_report``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Final

import polars as pl

from psotrack.endpoints import derive_baseline, derive_response_rates, visit_days
from psotrack.endpoints.rates import FLAG_SOURCES, derive_flag_rates
from psotrack.evidence import derive_published_rates, load_published_table
from psotrack.services.ages import OLDEST_AGE
from psotrack.stats.biomarkers import describe

#: Therapy classes counted as prior systemic therapy (phototherapy and topicals are not).
SYSTEMIC: Final = frozenset({"methotrexate", "ciclosporin", "acitretin", "apremilast", "biologic"})
#: Patient facts read for the baseline table: research id, sex, birth year, Fitzpatrick type,
#: onset year, synthetic.
PatientFacts = tuple[str, str, int | None, int | None, int | None, bool]
Enrolled = Mapping[int, tuple[str, date, bool]]
BASELINE_SCHEMA: Final = {
    "characteristic": pl.String,
    "level": pl.String,
    "n": pl.Int64,
    "percent": pl.Float64,
    "median": pl.Float64,
    "q1": pl.Float64,
    "q3": pl.Float64,
    "minimum": pl.Float64,
    "maximum": pl.Float64,
}
FITZPATRICK: Final = ("I", "II", "III", "IV", "V", "VI")
#: The cohort's side of a published endpoint: a PASI threshold or a row flag.
EVIDENCE_ENDPOINTS: Final[dict[str, int | str]] = {
    "PASI40": 40,
    "PASI50": 50,
    "PASI75": 75,
    "PASI90": 90,
    "PASI100": 100,
    "PGA01": "pga01",
    "DLQI01": "dlqi01",
}
_DAYS_PER: Final = {"day": 1, "week": 7, "month": 30, "year": 365}
_TIME_POINT: Final = re.compile(r"(\d+)\s*(day|week|month|year)s?", re.IGNORECASE)


def scheduled_visits(frame: pl.DataFrame) -> pl.DataFrame:
    """``visit, day`` of the post-baseline visits with a PASI (the rates' grid), by day."""
    with_pasi = frame.filter(pl.col("pasi").is_not_null())
    if with_pasi.is_empty():
        return pl.DataFrame(schema={"visit": pl.String, "day": pl.Int64})
    return visit_days(with_pasi).filter(pl.col("day") > 0)


def flow_table(
    enrollments: Enrolled, frame: pl.DataFrame, treated: Collection[int]
) -> pl.DataFrame:
    """``step, patients, note``: screened → enrolled → treated → followed → completed/withdrawn."""
    statuses = [status for status, _, _ in enrollments.values()]
    enrolled = [pid for pid, (status, _, _) in enrollments.items() if status != "screening"]
    withdrawn = [found for found in enrollments.values() if found[0] == "withdrawn"]
    with_reason = sum(1 for found in withdrawn if found[2])
    rows = [
        ("Screened", len(statuses), "an enrollment in scope, any status"),
        ("Not enrolled", statuses.count("screening"), "still in screening"),
        ("Enrolled", len(enrolled), "the analysis set of every table below"),
        ("Treated", len(treated), "at least one cell-therapy administration"),
    ]
    post = frame.filter(pl.col("pasi").is_not_null() & (pl.col("day") > 0))
    for visit, day in scheduled_visits(frame).iter_rows():
        seen = post.filter(pl.col("visit") == visit)["patient_id"].n_unique()
        rows.append((f"Followed to {visit}", seen, f"a PASI at the visit (study day {day})"))
    rows += [
        ("Completed", statuses.count("completed"), "enrollment status completed"),
        (
            "Withdrawn",
            len(withdrawn),
            f"reason recorded for {with_reason}; reasons are free text and are not printed",
        ),
        (
            "Ongoing",
            statuses.count("active") + statuses.count("follow-up"),
            "enrollment status active or follow-up",
        ),
    ]
    schema = {"step": pl.String, "patients": pl.Int64, "note": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _distribution(name: str, values: list[float]) -> dict[str, object]:
    found = describe(values)
    return {
        "characteristic": name,
        "level": "median [Q1, Q3]; range",
        "n": found.n,
        "percent": None,
        "median": found.median,
        "q1": found.q1,
        "q3": found.q3,
        "minimum": min(values) if values else None,
        "maximum": max(values) if values else None,
    }


def _count(name: str, level: str, n: int, total: int) -> dict[str, object]:
    return {
        "characteristic": name,
        "level": level,
        "n": n,
        "percent": n * 100 / total if total else None,
        **dict.fromkeys(("median", "q1", "q3", "minimum", "maximum")),
    }


def baseline_table(
    patients: Mapping[int, PatientFacts],
    enrollments: Enrolled,
    frame: pl.DataFrame,
    therapies: Mapping[int, set[str]],
) -> pl.DataFrame:
    """One row per characteristic (a distribution) or per level of one (a count and %)."""
    total = len(patients)
    ages = [
        float(min(enrollments[pid][1].year - facts[2], OLDEST_AGE))
        for pid, facts in patients.items()
        if facts[2] is not None
    ]
    durations = [
        float(enrollments[pid][1].year - facts[4])
        for pid, facts in patients.items()
        if facts[4] is not None
    ]
    rows: list[dict[str, object]] = [
        _count("Patients", "enrolled", total, total),
        _distribution("Age (years)", ages),
    ]
    sexes = [facts[1] for facts in patients.values()]
    rows += [
        _count("Sex", s, sexes.count(s), total) for s in ("female", "male", "other", "unknown")
    ]
    types = [facts[3] for facts in patients.values()]
    rows += [
        _count("Fitzpatrick skin type", roman, types.count(i), total)
        for i, roman in enumerate(FITZPATRICK, start=1)
    ]
    rows.append(_count("Fitzpatrick skin type", "not recorded", types.count(None), total))
    rows.append(_distribution("Disease duration (years)", durations))
    rows += _baseline_scores(frame)
    rows.append(
        _count(
            "Prior systemic therapy",
            "yes",
            sum(1 for pid in patients if therapies.get(pid, set()) & SYSTEMIC),
            total,
        )
    )
    rows.append(
        _count(
            "Prior biologic therapy",
            "yes",
            sum(1 for pid in patients if "biologic" in therapies.get(pid, set())),
            total,
        )
    )
    return pl.DataFrame(rows, schema=BASELINE_SCHEMA)


def _baseline_scores(frame: pl.DataFrame) -> list[dict[str, object]]:
    """Baseline PASI and DLQI by the engine's rule (the last value on or before day 0), and
    BSA by the same rule."""
    if frame.filter(pl.col("pasi").is_not_null()).is_empty():
        return [
            _distribution(name, [])
            for name in ("Baseline PASI (points)", "Baseline BSA (%)", "Baseline DLQI (points)")
        ]
    based = derive_baseline(frame)
    per_patient = based.group_by("patient_id").agg(
        pl.col("base").first(), pl.col("base_dlqi").first()
    )
    # The engine's baseline rule (endpoints.baseline) applied to BSA, which it does not carry:
    # the last BSA on or before day 0.
    bsa = (
        based.filter((pl.col("day") <= 0) & pl.col("bsa").is_not_null())
        .sort("day")
        .group_by("patient_id")
        .agg(pl.col("bsa").last())
    )
    return [
        _distribution("Baseline PASI (points)", per_patient["base"].drop_nulls().to_list()),
        _distribution("Baseline BSA (%)", bsa["bsa"].to_list()),
        _distribution(
            "Baseline DLQI (points)",
            [float(v) for v in per_patient["base_dlqi"].drop_nulls().to_list()],
        ),
    ]


def time_point_day(text: str) -> int | None:
    """The study day a published time point names ("1 year" → 365), ``None`` when unstated.

    >>> time_point_day("1 year"), time_point_day("week 12"), time_point_day("not stated")
    (365, 84, None)
    """
    found = _TIME_POINT.search(text)
    if found is None:
        found = re.search(r"(day|week|month|year)\s*(\d+)", text, re.IGNORECASE)
        if found is None:
            return None
        return int(found.group(2)) * _DAYS_PER[found.group(1).lower()]
    return int(found.group(1)) * _DAYS_PER[found.group(2).lower()]


EVIDENCE_SCHEMA: Final = {
    "endpoint": pl.String,
    "source": pl.String,
    "label": pl.String,
    "time_point": pl.String,
    "responders": pl.Int64,
    "n": pl.Int64,
    "rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "verified": pl.Boolean,
}


def evidence_rows(frame: pl.DataFrame | None) -> pl.DataFrame:
    """Each published row, then this cohort on the same endpoint (NRI, every enrolled patient
    in the denominator, exact interval) at the visit nearest the published time point, or at
    its last visit when the publication states none. Descriptive only."""
    published = derive_published_rates(load_published_table())
    rows: list[dict[str, object]] = []
    for endpoint in published["endpoint"].unique(maintain_order=True).to_list():
        of_endpoint = published.filter(pl.col("endpoint") == endpoint)
        for row in of_endpoint.iter_rows(named=True):
            rows.append(
                {
                    "endpoint": endpoint,
                    "source": "published",
                    "label": f"{row['study_id']} ({row['product_source']}, {row['design']})",
                    "time_point": row["time_point"],
                    "responders": row["responders"],
                    "n": row["denominator"],
                    "rate": row["rate"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "verified": row["verified"],
                }
            )
        stated = of_endpoint["time_point"][0]
        cohort = _cohort_side(frame, endpoint, time_point_day(stated))
        if cohort is not None:
            rows.append(cohort)
    return pl.DataFrame(rows, schema=EVIDENCE_SCHEMA)


def _cohort_side(
    frame: pl.DataFrame | None, endpoint: str, day: int | None
) -> dict[str, object] | None:
    measure = EVIDENCE_ENDPOINTS.get(endpoint)
    if frame is None or measure is None:
        return None
    if isinstance(measure, int):
        rates = derive_response_rates(frame, measure, "nri", by=None)
    elif frame[FLAG_SOURCES[measure]].is_not_null().any():
        rates = derive_flag_rates(frame, measure, "nri", by=None)
    else:
        return None
    if rates.is_empty():
        return None
    if day is None:
        chosen = rates.sort("day").row(-1, named=True)
        where = "last visit"
    else:
        nearest = rates.with_columns((pl.col("day") - day).abs().alias("_gap"))
        chosen = nearest.sort("_gap", "day").row(0, named=True)
        where = "nearest visit"
    # A research view names a visit by its study day already ("day 168"): say it once.
    named = f"day {chosen['day']}"
    where += f", {named}" if chosen["visit"] == named else f", {chosen['visit']} ({named})"
    return {
        "endpoint": endpoint,
        "source": "cohort",
        "label": "this cohort",
        "time_point": where,
        "responders": chosen["responders"],
        "n": chosen["n"],
        "rate": chosen["rate"],
        "ci_low": chosen["ci_low"],
        "ci_high": chosen["ci_high"],
        "verified": None,
    }
