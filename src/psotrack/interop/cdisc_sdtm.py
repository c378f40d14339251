"""SDTM data sets (DM, EX, CM, AE, LB, VS, RS, QS) from the de-identified research data set.

Input is :func:`psotrack.services.research_export.research_dataset` with study days (its column
rules decide what leaves the clinic: research ids, age groups, no free text, no dates); this
module only renames and recodes. USUBJID is ``STUDYID-research id``; --DY follows CDISC (no day 0,
:func:`~psotrack.interop.cdisc_specs.cdisc_day`); no --DTC is written.

RS holds PASI as a CDISC QRS clinical classification. CDISC publishes PASI in versions that
differ in the wording of the 0–4 responses ("PASI V2", "PASI V2 Feldman"); psotrack's item
layout (four regions × erythema, induration, desquamation, area score, plus the total) follows
**PASI V2** (Fredriksson 1978 wording). The official RSTESTCD values of that supplement could
not be confirmed offline, so the codes here are psotrack's own (``PAxxyy``), marked as such in
the define CSV — replace them with the supplement's codes once checked. QS holds the DLQI with
the published CDISC QRS item codes DLQI101–DLQI110 (QSTEST: psotrack's neutral short labels,
not the copyrighted wording); the total's code ``DLQITOT`` is psotrack's. Totals are the scores the
instruments stored when the assessment was recorded; item points and area scores come from the
instruments' own tables (answer points, :func:`~psotrack.instruments.pasi.area_score`), and a
DLQI with a blank or two ticked answers is scored by
:func:`psotrack.services.scoring.score_responses` itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import polars as pl

from psotrack.instruments import DlqiAnswer, Q7Answer
from psotrack.instruments.dlqi import ITEM_LABELS
from psotrack.instruments.pasi import REGIONS, area_score
from psotrack.interop.cdisc_sdtm_specs import (
    AE,
    CM,
    DM,
    EX,
    LAB_CODES,
    LB,
    PASI_REGION_CODES,
    PASI_SIGN_CODES,
    QS,
    RS,
    VITAL_CODES,
    VS,
)
from psotrack.interop.cdisc_specs import CdiscDataset, ascii_code, build, cdisc_day
from psotrack.services.scoring import score_responses
from psotrack.store.vocabulary import Instrument

Tables = Mapping[str, pl.DataFrame]

SEX: Final = {"female": "F", "male": "M", "other": "U", "unknown": "U"}
ROUTE: Final = {
    "IV": "INTRAVENOUS",
    "intralesional/perilesional": "INTRALESIONAL",
    "subcutaneous": "SUBCUTANEOUS",
    "topical": "TOPICAL",
}


def _usubjid(study: str) -> pl.Expr:
    return (pl.lit(f"{study}-") + pl.col("research_id")).alias("USUBJID")


def _common(study: str, domain: str) -> list[pl.Expr]:
    return [pl.lit(study).alias("STUDYID"), pl.lit(domain).alias("DOMAIN"), _usubjid(study)]


def _seq(frame: pl.DataFrame, prefix: str, *order: str) -> pl.DataFrame:
    """Sort by subject then ``order`` and number each subject's records --SEQ 1, 2, …"""
    frame = frame.sort("USUBJID", *order, nulls_last=True)
    return frame.with_columns((pl.int_range(pl.len()).over("USUBJID") + 1).alias(f"{prefix}SEQ"))


def arms(tables: Tables) -> pl.DataFrame:
    """Each patient's arm: that of the newest enrollment (as the assessment table takes it)."""
    return (
        tables["enrollments"]
        .sort("research_id", "start_day", "enrollment_key")
        .group_by("research_id", maintain_order=True)
        .agg(pl.col("arm").last())
    )


def dm(tables: Tables, study: str) -> CdiscDataset:
    patients = tables["patients"].join(arms(tables), on="research_id", how="left")
    arm = pl.col("arm").fill_null("NOT ASSIGNED")
    frame = patients.select(
        *_common(study, "DM"),
        pl.col("research_id").alias("SUBJID"),
        pl.when(pl.col("age").str.contains(r"^\d+$"))
        .then(pl.col("age").cast(pl.Int64))
        .alias("AGE"),
        pl.when(~pl.col("age").str.contains(r"^\d+$")).then(pl.col("age")).alias("AGETXT"),
        pl.when(pl.col("age").is_not_null()).then(pl.lit("YEARS")).alias("AGEU"),
        pl.col("sex").replace_strict(SEX, default="U").alias("SEX"),
        ascii_code(arm, 20).str.replace_all(r"[^A-Z0-9]", "").alias("ARMCD"),
        ascii_code(arm, 200).alias("ARM"),
        ascii_code(arm, 200).alias("ACTARM"),
        pl.when(pl.col("synthetic")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("SYNTHFL"),
    )
    return build(DM, frame.sort("USUBJID"))


def ex(tables: Tables, study: str) -> CdiscDataset:
    frame = tables["administrations"].select(
        *_common(study, "EX"),
        ascii_code(pl.col("product_source"), 200).alias("EXTRT"),
        pl.col("cells_per_kg").alias("EXDOSE"),
        pl.lit("cells/kg").alias("EXDOSU"),
        pl.col("route").replace_strict(ROUTE, default=None).alias("EXROUTE"),
        cdisc_day(pl.col("started_day")).alias("EXSTDY"),
        cdisc_day(pl.col("stopped_day")).alias("EXENDY"),
    )
    return build(EX, _seq(frame, "EX", "EXSTDY"))


def cm(tables: Tables, study: str) -> CdiscDataset:
    frame = tables["concomitant_therapies"].select(
        *_common(study, "CM"),
        ascii_code(pl.col("therapy_class"), 200).alias("CMTRT"),
        ascii_code(pl.col("biologic_target"), 200).alias("CMCLAS"),
        cdisc_day(pl.col("start_day")).alias("CMSTDY"),
        cdisc_day(pl.col("stop_day")).alias("CMENDY"),
    )
    return build(CM, _seq(frame, "CM", "CMSTDY", "CMTRT"))


def ae(tables: Tables, study: str) -> CdiscDataset:
    events = tables["adverse_events"]
    yes_no = {True: "Y", False: "N"}
    frame = events.select(
        *_common(study, "AE"),
        ascii_code(pl.col("term"), 200).alias("AETERM"),
        ascii_code(pl.col("term"), 200).alias("AEDECOD"),
        pl.col("grade").cast(pl.String).alias("AETOXGR"),
        pl.col("serious").replace_strict(yes_no, default=None).alias("AESER"),
        ascii_code(pl.col("relatedness"), 200).alias("AEREL"),
        ascii_code(pl.col("outcome"), 200).alias("AEOUT"),
        cdisc_day(pl.col("onset_day")).alias("AESTDY"),
        cdisc_day(pl.col("resolution_day")).alias("AEENDY"),
    )
    return build(AE, _seq(frame, "AE", "AESTDY", "AETERM"))


def lb(tables: Tables, study: str) -> CdiscDataset:
    labs = tables["lab_results"]
    code = {key: code for key, (code, _) in LAB_CODES.items()}
    name = {key: test for key, (_, test) in LAB_CODES.items()}
    frame = labs.select(
        *_common(study, "LB"),
        # An analyte added to the vocabulary later gets a psotrack code from its own key.
        pl.col("analyte")
        .replace_strict(code, default=ascii_code(pl.col("analyte"), 8))
        .alias("LBTESTCD"),
        pl.col("analyte").replace_strict(name, default=pl.col("analyte")).alias("LBTEST"),
        pl.col("value").cast(pl.String).alias("LBORRES"),
        pl.col("unit").alias("LBORRESU"),
        pl.col("reference_low").cast(pl.String).alias("LBORNRLO"),
        pl.col("reference_high").cast(pl.String).alias("LBORNRHI"),
        pl.col("value").alias("LBSTRESN"),
        pl.col("unit").alias("LBSTRESU"),
        cdisc_day(pl.col("sampled_day")).alias("LBDY"),
    )
    return build(LB, _seq(frame, "LB", "LBDY", "LBTESTCD"))


def vs(tables: Tables, study: str) -> CdiscDataset:
    rows = []
    for record in tables["administrations"].iter_rows(named=True):
        for timing, column in (
            ("BEFORE INFUSION", "vitals_before"),
            ("AFTER INFUSION", "vitals_after"),
        ):
            vitals = json.loads(record[column]) if record[column] else {}
            for key, (code, test, unit) in VITAL_CODES.items():
                if vitals.get(key) is None:
                    continue
                rows.append(
                    {
                        "research_id": record["research_id"],
                        "VSTESTCD": code,
                        "VSTEST": test,
                        "VSORRES": str(vitals[key]),
                        "VSORRESU": unit,
                        "VSSTRESN": float(vitals[key]),
                        "VSSTRESU": unit,
                        "VSTPT": timing,
                        "day": record["started_day"],
                    }
                )
    frame = _frame(rows, VS.names, day_name="VSDY", study=study, domain="VS")
    return build(VS, _seq(frame, "VS", "VSDY", "VSTPT", "VSTESTCD"))


def _frame(
    rows: list[dict[str, Any]], names: tuple[str, ...], *, day_name: str, study: str, domain: str
) -> pl.DataFrame:
    """Row dicts (``research_id``, ``day`` and data set columns) as a frame with the common
    columns; an empty list gives an empty frame of the right columns."""
    text = {n: pl.String for n in names}
    schema: dict[str, Any] = {"research_id": pl.String, "day": pl.Int64} | text
    for numeric in ("VSSTRESN", "RSSTRESN", "QSSTRESN"):
        if numeric in schema:
            schema[numeric] = pl.Float64
    for extra in ("STUDYID", "DOMAIN", "USUBJID", day_name, f"{domain}SEQ"):
        schema.pop(extra, None)
    frame = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return frame.with_columns(*_common(study, domain), cdisc_day(pl.col("day")).alias(day_name))


def _assessed(tables: Tables, instrument: Instrument) -> pl.DataFrame:
    """Assessments of ``instrument`` with their visit's study day as ``day``."""
    visits = tables["visits"].select("visit_key", pl.col("visit_day").alias("day"))
    chosen = tables["assessments"].filter(pl.col("instrument") == instrument.value)
    return chosen.join(visits, on="visit_key", how="left")


def _records(
    frame: pl.DataFrame, domain: str, code: str, test: str, text: pl.Expr, number: pl.Expr
) -> pl.DataFrame:
    return frame.select(
        "research_id",
        "day",
        pl.lit(code).alias(f"{domain}TESTCD"),
        pl.lit(test).alias(f"{domain}TEST"),
        text.alias(f"{domain}ORRES"),
        text.alias(f"{domain}STRESC"),
        number.cast(pl.Float64).alias(f"{domain}STRESN"),
    )


def rs(tables: Tables, study: str) -> CdiscDataset:
    """PASI items (region × sign, area score) and the total, one record each per assessment.

    Grades are as recorded; an area entered as a percentage gets its score from
    :func:`~psotrack.instruments.pasi.area_score` (the PASI bands); the total is the score the
    instrument stored.
    """
    chosen = _assessed(tables, Instrument.PASI)
    decoded = [json.loads(text) for text in chosen["responses"]]
    area_scores: dict[float, int] = {}

    def area(region: Mapping[str, Any]) -> int:
        if "area" in region:
            return int(region["area"])
        percent = float(region["area_pct"])
        if percent not in area_scores:
            area_scores[percent] = area_score(percent)
        return area_scores[percent]

    parts = []
    for region in REGIONS:
        for sign, (code, test) in PASI_SIGN_CODES.items():
            if sign == "area":
                values = [area(given[region]) for given in decoded]
            else:
                values = [int(given[region][sign]) for given in decoded]
            number = pl.Series(values, dtype=pl.Int64)
            testcd = f"PA{PASI_REGION_CODES[region][0]}{code}"
            name = f"{PASI_REGION_CODES[region][1]} {test}"
            parts.append(
                _records(chosen, "RS", testcd, name, pl.lit(number).cast(pl.String), pl.lit(number))
            )
    total = pl.col("score")
    parts.append(
        _records(chosen, "RS", "PASITOT", "PASI Total Score", total, pl.col("score_value"))
    )
    frame = pl.concat(parts).with_columns(
        *_common(study, "RS"),
        cdisc_day(pl.col("day")).alias("RSDY"),
        pl.lit("PASI").alias("RSCAT"),
        (pl.lit("DAY ") + pl.col("day").cast(pl.String)).alias("VISIT"),
    )
    return build(RS, _seq(frame, "RS", "RSDY", "RSTESTCD"))


def qs(tables: Tables, study: str) -> CdiscDataset:
    """DLQI items DLQI101–DLQI110 (answer text and points 0–3) and the total.

    Single answers take the instrument's points for that answer; questionnaires with a blank or
    two ticked answers are scored by the instrument itself (:func:`_dlqi_items`).
    """
    chosen = _assessed(tables, Instrument.DLQI)
    decoded = [json.loads(text) for text in chosen["responses"]]
    answers = {
        n: pl.Series([given.get(f"q{n}") if isinstance(given.get(f"q{n}"), str) else None
                      for given in decoded], dtype=pl.String)
        for n in range(1, 11)
    }  # fmt: skip
    simple = pl.Series([all(isinstance(given.get(f"q{n}"), str) for n in range(1, 11))
                        for given in decoded], dtype=pl.Boolean)  # fmt: skip
    plain = chosen.with_columns(pl.Series(f"_q{n}", answers[n]) for n in answers).filter(simple)
    parts = [
        _records(
            plain,
            "QS",
            f"DLQI1{n:02d}",
            ascii_label(ITEM_LABELS[n]),
            pl.col(f"_q{n}").str.to_uppercase(),
            pl.col(f"_q{n}").replace_strict(_POINTS, return_dtype=pl.Int64),
        ).with_columns(pl.col("QSSTRESN").cast(pl.Int64).cast(pl.String).alias("QSSTRESC"))
        for n in answers
    ]
    rows = []
    for record in chosen.filter(~simple).iter_rows(named=True):
        items = _dlqi_items(json.loads(record["responses"]))
        for n, (answer, points) in enumerate(items, start=1):
            rows.append(
                {
                    "research_id": record["research_id"],
                    "day": record["day"],
                    "QSTESTCD": f"DLQI1{n:02d}",
                    "QSTEST": ascii_label(ITEM_LABELS[n]),
                    "QSORRES": answer,
                    "QSSTRESC": None if points is None else str(points),
                    "QSSTRESN": None if points is None else float(points),
                }
            )
    if rows:
        parts.append(pl.DataFrame(rows, schema=parts[0].schema, orient="row"))
    total = pl.col("score")
    parts.append(
        _records(chosen, "QS", "DLQITOT", "DLQI total score", total, pl.col("score_value"))
    )
    frame = pl.concat(parts).with_columns(
        *_common(study, "QS"),
        cdisc_day(pl.col("day")).alias("QSDY"),
        pl.lit("DLQI").alias("QSCAT"),
        (pl.lit("DAY ") + pl.col("day").cast(pl.String)).alias("VISIT"),
    )
    return build(QS, _seq(frame, "QS", "QSDY", "QSTESTCD"))


#: Answer text → points, from the instrument's own answer lists (DLQI107: 3 yes, 2/1/0).
_POINTS: Final = {a.value: a.points for a in DlqiAnswer} | {a.value: a.points for a in Q7Answer}


def _dlqi_items(responses: Mapping[str, Any]) -> list[tuple[str | None, int | None]]:
    """(QSORRES, points) of items 1–10. Single answers take the instrument's points; a
    questionnaire with a blank or two ticks is scored by the instrument itself."""
    answers = [responses.get(f"q{n}") for n in range(1, 11)]
    if all(isinstance(a, str) for a in answers):
        return [(str(a).upper(), _POINTS[str(a)]) for a in answers]
    scored = score_responses(Instrument.DLQI, responses).details["summary"][:10]
    # The instrument's summary writes a blank item's points as "" (no points).
    return [
        (
            None if i["answer"] == "blank" else i["answer"].upper(),
            None if i["points"] == "" else int(i["points"]),
        )
        for i in scored
    ]


def ascii_label(text: str) -> str:
    return text.encode("ascii", "ignore").decode()[:40]


def sdtm_datasets(tables: Tables, study: str) -> tuple[CdiscDataset, ...]:
    """Every SDTM data set, in the order they are written."""
    return tuple(make(tables, study) for make in (dm, ex, cm, ae, lb, vs, rs, qs))
