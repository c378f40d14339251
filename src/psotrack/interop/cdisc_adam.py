"""ADaM data sets (ADSL, ADPASI, ADTTE) laid out from the endpoint engine's results.

As interop.md says, no Python package does what admiral does in R: :mod:`psotrack.endpoints` is
that layer, and this module only lays its results into ADaM variables. BASE, CHG, PCHG and the
PASI 50/75/90 flags come from :func:`~psotrack.endpoints.derive_responders`; evaluability from
:func:`~psotrack.endpoints.derive_baseline`; ADTTE's AVAL and CNSR from
:func:`~psotrack.endpoints.derive_time_to_event` (threshold 75) and
:func:`~psotrack.endpoints.derive_time_to_relapse`. ABLFL marks the record the engine's baseline
rule picks (the last PASI on or before day 0), AVISITN is the psotrack study day and ADY the
CDISC day (no day 0). The input is :func:`psotrack.services.timeline.assessments_frame` (research
ids only) restricted to the exported subjects.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from psotrack.endpoints import (
    Assessments,
    derive_baseline,
    derive_responders,
    derive_time_to_event,
    derive_time_to_relapse,
    prepare_assessments,
)
from psotrack.interop.cdisc_adam_specs import ADPASI, ADSL, ADTTE, CRITERIA
from psotrack.interop.cdisc_sdtm import SEX, Tables, arms
from psotrack.interop.cdisc_specs import CdiscDataset, ascii_code, build, cdisc_day

ENGINE_COLUMNS: Final = ("patient_id", "arm", "visit", "day", "pasi")
_YN = {True: "Y", False: "N"}


def _usubjid(study: str, column: str = "patient_id") -> pl.Expr:
    return (pl.lit(f"{study}-") + pl.col(column)).alias("USUBJID")


def adsl(tables: Tables, assessments: Assessments, study: str) -> CdiscDataset:
    """One record per exported subject; EFFFL = evaluable for relative PASI endpoints."""
    evaluable = (
        derive_baseline(assessments)
        .group_by("patient_id")
        .agg(pl.col("evaluable").first())
        .rename({"patient_id": "research_id"})
    )
    last_dose = (
        tables["administrations"]
        .group_by("research_id")
        .agg(pl.col("started_day").min().alias("first"), pl.col("started_day").max().alias("last"))
    )
    arm = pl.col("arm").fill_null("NOT ASSIGNED")
    frame = (
        tables["patients"]
        .join(arms(tables), on="research_id", how="left")
        .join(evaluable, on="research_id", how="left")
        .join(last_dose, on="research_id", how="left")
        .select(
            pl.lit(study).alias("STUDYID"),
            _usubjid(study, "research_id"),
            pl.col("research_id").alias("SUBJID"),
            pl.when(pl.col("age").str.contains(r"^\d+$"))
            .then(pl.col("age").cast(pl.Int64))
            .alias("AGE"),
            pl.col("age").alias("AGEGR1"),
            pl.col("sex").replace_strict(SEX, default="U").alias("SEX"),
            ascii_code(arm, 200).alias("ARM"),
            ascii_code(arm, 200).alias("TRT01P"),
            pl.col("first").is_not_null().replace_strict(_YN).alias("SAFFL"),
            pl.col("evaluable").fill_null(False).replace_strict(_YN).alias("EFFFL"),
            cdisc_day(pl.col("first")).alias("TRTSDY"),
            cdisc_day(pl.col("last")).alias("TRTEDY"),
            pl.col("synthetic").replace_strict(_YN).alias("SYNTHFL"),
        )
    )
    return build(ADSL, frame.sort("USUBJID"))


def adpasi(assessments: Assessments, study: str) -> CdiscDataset:
    """PASI total per visit (with BASE/CHG/PCHG/CRITxFL) and PASI 50/75/90 responder records."""
    thresholds = tuple(t for t, _, _ in CRITERIA)
    rows = derive_responders(assessments, thresholds).filter(pl.col("pasi").is_not_null())
    baseline_day = (
        pl.col("day").filter(pl.col("day") <= 0).max().over("patient_id")
    )  # the engine's baseline: last PASI on or before day 0 (rows here all have a PASI)
    common = [
        pl.lit(study).alias("STUDYID"),
        _usubjid(study),
        ascii_code(pl.col("arm").fill_null("NOT ASSIGNED"), 200).alias("TRTP"),
        pl.when(pl.col("day") == baseline_day).then(pl.lit("Y")).alias("ABLFL"),
        pl.when(pl.col("day") == baseline_day)
        .then(pl.lit("BASELINE"))
        .otherwise(pl.lit("DAY ") + pl.col("day").cast(pl.String))
        .alias("AVISIT"),
        pl.col("day").alias("AVISITN"),
        cdisc_day(pl.col("day")).alias("ADY"),
    ]
    criteria = []
    for number, (threshold, _, text) in enumerate(CRITERIA, start=1):
        flag = pl.col(f"pasi{threshold}")
        criteria += [
            pl.when(flag.is_not_null()).then(pl.lit(text)).alias(f"CRIT{number}"),
            pl.when(flag == 1)
            .then(pl.lit("Y"))
            .when(flag == 0)
            .then(pl.lit("N"))
            .alias(f"CRIT{number}FL"),
        ]
    total = rows.select(
        *common,
        pl.lit("PASITOT").alias("PARAMCD"),
        pl.lit("PASI Total Score").alias("PARAM"),
        pl.col("pasi").cast(pl.Float64).alias("AVAL"),
        pl.lit(None, pl.String).alias("AVALC"),
        pl.col("base").alias("BASE"),
        pl.col("chg").alias("CHG"),
        pl.col("pchg").alias("PCHG"),
        *criteria,
    )
    responders = [
        rows.filter(pl.col(f"pasi{threshold}").is_not_null()).select(
            *common,
            pl.lit(code).alias("PARAMCD"),
            pl.lit(f"PASI {threshold} response (>= {threshold}% improvement)").alias("PARAM"),
            pl.col(f"pasi{threshold}").cast(pl.Float64).alias("AVAL"),
            pl.col(f"pasi{threshold}").cast(pl.Boolean).replace_strict(_YN).alias("AVALC"),
            pl.col("base").alias("BASE"),
            *[pl.lit(None, pl.Float64).alias(n) for n in ("CHG", "PCHG")],
            *[
                pl.lit(None, pl.String).alias(n)
                for i in (1, 2, 3)
                for n in (f"CRIT{i}", f"CRIT{i}FL")
            ],
        )
        for threshold, code, _ in CRITERIA
    ]
    frame = pl.concat([total, *responders], how="vertical_relaxed")
    return build(ADPASI, frame.sort("USUBJID", "PARAMCD", "AVISITN"))


def adtte(assessments: Assessments, study: str, stop_day: int | None) -> CdiscDataset:
    """Time to first PASI 75 (from day 0) and, with a stop day, time to relapse (from it)."""
    parts = [
        _tte(
            derive_time_to_event(assessments, 75),
            study,
            "TTPASI75",
            "Time to first PASI 75 response (days)",
            0,
            "PASI 75 RESPONSE",
        )
    ]
    if stop_day is not None:
        parts.append(
            _tte(
                derive_time_to_relapse(assessments, stop_day),
                study,
                "TTRELAPS",
                "Time to relapse after stopping (days)",
                stop_day,
                "RELAPSE: LOST >= 50% OF MAX IMPROVEMENT",
            )
        )
    frame = pl.concat(parts, how="vertical_relaxed")
    return build(ADTTE, frame.sort("USUBJID", "PARAMCD"))


def _tte(
    events: pl.DataFrame, study: str, code: str, name: str, origin: int, event: str
) -> pl.DataFrame:
    return events.select(
        pl.lit(study).alias("STUDYID"),
        _usubjid(study),
        ascii_code(pl.col("arm").fill_null("NOT ASSIGNED"), 200).alias("TRTP"),
        pl.lit(code).alias("PARAMCD"),
        pl.lit(name).alias("PARAM"),
        pl.col("time").cast(pl.Float64).alias("AVAL"),
        pl.lit("DAYS").alias("AVALU"),
        (1 - pl.col("event")).cast(pl.Float64).alias("CNSR"),
        pl.lit(origin + 1 if origin >= 0 else origin, pl.Int64).alias("STARTDY"),
        pl.when(pl.col("event") == 1)
        .then(pl.lit(event))
        .otherwise(pl.lit("LAST PASI ASSESSMENT"))
        .alias("EVNTDESC"),
    )


def adam_datasets(
    tables: Tables, assessments: pl.DataFrame, study: str, stop_day: int | None
) -> tuple[CdiscDataset, ...]:
    """ADSL, ADPASI and ADTTE; the assessments are prepared once for every derivation."""
    prepared = prepare_assessments(assessments.select(ENGINE_COLUMNS))
    return (
        adsl(tables, prepared, study),
        adpasi(prepared, study),
        adtte(prepared, study, stop_day),
    )
