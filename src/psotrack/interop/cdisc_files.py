"""Writing a CDISC export as one folder: SAS transport v5 (.xpt) and CSV per data set, define.csv.

Each data set is written twice, ``<name>.xpt`` (pyreadstat, transport version 5, with variable
labels; names, labels and lengths checked against the v5 limits by
:mod:`psotrack.interop.cdisc_specs` first) and ``<name>.csv``; ``define.csv`` lists every data
set and variable with label, type, length and derivation, written from the same specs as the
data; ``README.txt`` states the versions and choices. The folder is built under a hidden
temporary name and renamed into place only when whole (the pattern of
:mod:`psotrack.interop.research_files`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import polars as pl

from psotrack import __version__
from psotrack.errors import Problem, ValidationError
from psotrack.interop.cdisc_adam import adam_datasets
from psotrack.interop.cdisc_sdtm import sdtm_datasets
from psotrack.interop.cdisc_specs import CdiscDataset
from psotrack.interop.files import folder_written_whole, neutralise_formulas
from psotrack.services.cohort_report import usual_day
from psotrack.services.research_export import ResearchDataset
from psotrack.services.research_tables import DateOption

DEFINE: Final = "define.csv"
README: Final = "README.txt"
STUDY_ID: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")


class Standard(StrEnum):
    SDTM = "sdtm"
    ADAM = "adam"
    BOTH = "both"


@dataclass(frozen=True)
class CdiscExport:
    """The data sets to write, and what the README says of them."""

    study: str
    datasets: tuple[CdiscDataset, ...]
    patients: int
    synthetic_patients: int
    relapse_stop_day: int | None

    def summary(self) -> pl.DataFrame:
        """Records per data set, a tidy table."""
        return pl.DataFrame(
            [(d.spec.name, d.spec.standard, d.frame.height) for d in self.datasets],
            schema={"data_set": pl.String, "standard": pl.String, "records": pl.Int64},
            orient="row",
        )


def check_cdisc_options(study: str, standard: str, stop_day: int | None) -> Standard:
    """Every problem with the options at once (one line each at the command line)."""
    problems = []
    if not STUDY_ID.fullmatch(study):
        allowed = "1-20 upper-case letters, digits, - or _ (starting with a letter or digit)"
        problems.append(Problem("--study-id", study, allowed, "invalid"))
    chosen = None
    try:
        chosen = Standard(standard)
    except ValueError:
        problems.append(Problem("--standard", standard, "sdtm, adam or both", "invalid"))
    if stop_day is not None and not 0 <= stop_day <= 3650:
        problems.append(Problem("--stop-day", stop_day, "0–3650 (a study day)"))
    if problems or chosen is None:
        raise ValidationError(problems=problems)
    return chosen


def cdisc_export(
    dataset: ResearchDataset,
    assessments: pl.DataFrame,
    *,
    study: str = "PSOTRACK",
    standard: Standard | str = Standard.BOTH,
    stop_day: int | None = None,
) -> CdiscExport:
    """Lay the de-identified data set (study days) and the assessment table out as CDISC.

    ``assessments`` is :func:`psotrack.services.timeline.assessments_frame`; rows of subjects not
    in ``dataset`` are dropped. ``stop_day`` (time to relapse) defaults to the most common last
    administration day, as in the cohort report; with no administration there is no TTRELAPS.
    """
    chosen = check_cdisc_options(study, str(standard), stop_day)
    if dataset.dates is not DateOption.STUDY_DAYS:
        raise ValidationError("dates", dataset.dates.value, "study-days for CDISC", "invalid")
    tables = {table.name: table.frame for table in dataset.tables}
    exported = tables["patients"]["research_id"]
    assessments = assessments.filter(pl.col("patient_id").is_in(exported.implode()))
    if stop_day is None:
        last = tables["administrations"].group_by("research_id").agg(pl.col("started_day").max())
        stop_day = usual_day(last["started_day"].to_list())
    datasets: tuple[CdiscDataset, ...] = ()
    if chosen in (Standard.SDTM, Standard.BOTH):
        datasets += sdtm_datasets(tables, study)
    if chosen in (Standard.ADAM, Standard.BOTH):
        datasets += adam_datasets(tables, assessments, study, stop_day)
    return CdiscExport(study, datasets, dataset.patients, dataset.synthetic_patients, stop_day)


def define_table(export: CdiscExport) -> pl.DataFrame:
    """One row per variable of every data set written (from the specs the writer used)."""
    rows = [
        (
            d.spec.name,
            d.spec.label,
            d.spec.standard,
            d.spec.structure,
            d.frame.height,
            v.name,
            v.label,
            v.kind,
            v.length,
            v.derivation,
        )
        for d in export.datasets
        for v in d.spec.variables
    ]
    names = ("dataset", "dataset_label", "standard", "structure", "records", "variable", "label")
    schema = dict.fromkeys(names, pl.String) | {
        "records": pl.Int64,
        "type": pl.String,
        "length": pl.Int64,
        "derivation": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def write_xpt(data: CdiscDataset, path: Path, label: str) -> None:
    """One data set as SAS transport v5 with its variable labels (empty text for missing)."""
    import pyreadstat

    spec = data.spec
    # pyreadstat takes the polars frame as it is (through narwhals): no pandas copy.
    frame = data.frame.with_columns(
        pl.col(v.name).fill_null("") for v in spec.variables if v.kind == "Char"
    )
    pyreadstat.write_xport(
        frame,
        str(path),
        file_label=label[:40],
        column_labels={v.name: v.label for v in spec.variables},
        table_name=spec.name,
        file_format_version=5,
    )


def export_steps(export: CdiscExport) -> int:
    return len(export.datasets) + 2


def write_cdisc_export(
    export: CdiscExport, output: Path, progress: Callable[[str], None] | None = None
) -> tuple[str, ...]:
    """Write every data set (XPT and CSV), define.csv and README.txt into the new ``output``."""
    done = progress or (lambda _name: None)
    label = "SYNTHETIC DATA psotrack" if export.synthetic_patients else "psotrack CDISC export"
    files: list[str] = []
    with folder_written_whole(output) as temporary:
        for data in export.datasets:
            name = data.spec.name.lower()
            write_xpt(data, temporary / f"{name}.xpt", f"{label}: {data.spec.name}")
            neutralise_formulas(data.frame).write_csv(temporary / f"{name}.csv")
            files += [f"{name}.xpt", f"{name}.csv"]
            done(name)
        neutralise_formulas(define_table(export)).write_csv(temporary / DEFINE)
        done(DEFINE)
        (temporary / README).write_text(readme(export), encoding="utf-8")
        done(README)
        files += [DEFINE, README]
    return tuple(files)


def readme(export: CdiscExport) -> str:
    lines = []
    if export.synthetic_patients:
        lines.append(
            f"SYNTHETIC: {export.synthetic_patients} of the {export.patients} subjects are "
            "synthetic demonstration records that describe no real person."
        )
    stop = export.relapse_stop_day
    lines += [
        f"psotrack {__version__} CDISC export of study {export.study} "
        f"({export.patients} subjects).",
        "Built from the de-identified research export: research ids, age at day 0 (90+ "
        "top-coded), no names, MRNs, birth dates, free text or staff.",
        "Dates: study days only (--DY, CDISC convention without day 0); no --DTC is written.",
        "Files: <name>.xpt (SAS transport version 5) and <name>.csv per data set; define.csv "
        "lists every variable with label, type, length and derivation.",
        "RS: PASI as a CDISC QRS clinical classification, layout of CDISC 'PASI V2'; RSTESTCD "
        "values are psotrack codes (the supplement's codes were not confirmed).",
        "QS: DLQI with CDISC QRS item codes DLQI101-DLQI110; DLQITOT is a psotrack code. "
        "DLQI (c) A Y Finlay, G K Khan 1992: research use needs the authors' permission.",
        "ADaM values (BASE, CHG, PCHG, CRIT1FL-CRIT3FL, ADTTE AVAL/CNSR) come from the "
        "psotrack endpoint engine.",
        "Reading with pandas.read_sas: pandas decodes a numeric 0 as 5.4e-79 "
        "(pandas-dev/pandas#50670) and, for records shorter than 80 bytes, may drop the last "
        "record (it counts blank 8-byte blocks of the last card as padding); pyreadstat and "
        "SAS read these files whole.",
        "TTRELAPS: "
        + (f"from stop day {stop} (psotrack day)." if stop is not None else "not derived."),
    ]
    return "\n".join(lines) + "\n"
