"""Writing a research data set as one folder: tables, photos, manifest.json and summary.csv.

The folder is built under a hidden temporary name beside the output (``.<name>.<random>.part``)
and renamed into place only once every file is written, so an interrupted or failed export
leaves no output folder (and removes its temporary one, except after SIGKILL). The output must
be a new or empty folder (:func:`~psotrack.interop.files.check_output_folder`). CSV cells that
a spreadsheet would run as formulas are written as text
(:func:`~psotrack.interop.files.neutralise_formulas`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import polars as pl

from psotrack import __version__
from psotrack.errors import Conflict, ValidationError
from psotrack.interop.files import folder_written_whole, neutralise_formulas
from psotrack.services.ages import OLDEST_GROUP
from psotrack.services.research_export import (
    MAX_SHIFT_DAYS,
    ExportedTable,
    ResearchDataset,
    ResearchPhoto,
)
from psotrack.services.research_tables import (
    ADDED_PATIENT_COLUMNS,
    NOT_EXPORTED,
    DateOption,
)

MANIFEST: Final = "manifest.json"
SUMMARY: Final = "summary.csv"


class FileFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


DATES_HOW: Final = {
    DateOption.STUDY_DAYS: (
        "every date and time is written as a study day: days from the patient's day 0 (the "
        "first cell-therapy administration, or the start of the first enrollment before any); "
        "times of day are not written"
    ),
    DateOption.DATE_SHIFT: (
        "every date and time of a patient is moved by the same random number of days (1 to "
        f"{MAX_SHIFT_DAYS}, earlier or later), drawn for each patient from a seed chosen for "
        "this export; neither the seed nor any shift is written, so intervals between a "
        "patient's dates are exact and no calendar date is real"
    ),
}


@dataclass(frozen=True)
class WrittenExport:
    """Where the export went and what it holds."""

    folder: Path
    files: tuple[str, ...]
    rows: int


def export_steps(dataset: ResearchDataset) -> int:
    """How many files :func:`write_research_export` writes (for a progress bar)."""
    return len(dataset.tables) + len(dataset.photos) + 2


def write_research_export(
    dataset: ResearchDataset,
    output: Path,
    file_format: FileFormat | str = FileFormat.PARQUET,
    progress: Callable[[str], None] | None = None,
) -> WrittenExport:
    """Write the data set into the new folder ``output``, whole or not at all.

    ``progress`` is called with each file's name once it is written.
    """
    chosen = parse_file_format(file_format)
    done = progress or (lambda _name: None)
    files: list[str] = []
    with folder_written_whole(output) as temporary:
        for table in dataset.tables:
            name = f"{table.name}.{chosen.value}"
            _write_frame(table.frame, temporary / name, chosen)
            files.append(name)
            done(name)
        for photo in dataset.photos:
            _copy_photo(photo, temporary / photo.file_name)
            files.append(photo.file_name)
            done(photo.file_name)
        _write_frame(dataset.summary(), temporary / SUMMARY, FileFormat.CSV)
        files.append(SUMMARY)
        done(SUMMARY)
        manifest = research_manifest(dataset, chosen)
        (temporary / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        files.append(MANIFEST)
        done(MANIFEST)
    return WrittenExport(output, tuple(files), sum(t.frame.height for t in dataset.tables))


def parse_file_format(value: FileFormat | str) -> FileFormat:
    try:
        return FileFormat(value)
    except ValueError:
        allowed = " or ".join(f.value for f in FileFormat)
        raise ValidationError("--format", value, allowed, "invalid") from None


def _write_frame(frame: pl.DataFrame, path: Path, file_format: FileFormat) -> None:
    if file_format is FileFormat.PARQUET:
        frame.write_parquet(path)
    else:
        neutralise_formulas(frame).write_csv(path)


def _copy_photo(photo: ResearchPhoto, target: Path) -> None:
    """Copy a stored photo, checked against its recorded hash (no other file may slip in)."""
    try:
        content = photo.source.read_bytes()
    except FileNotFoundError:
        raise Conflict(f"the file of {photo.file_name} is missing from the photo folder") from None
    if hashlib.sha256(content).hexdigest() != photo.content_hash:
        raise Conflict(f"the file of {photo.file_name} does not match its recorded hash")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def research_manifest(dataset: ResearchDataset, file_format: FileFormat) -> dict[str, Any]:
    """What the export holds and how each identifier was removed (no date, no seed, no shift)."""
    manifest: dict[str, Any] = {}
    if dataset.synthetic_patients:
        manifest["label"] = (
            f"SYNTHETIC: {dataset.synthetic_patients} of the {dataset.patients} patients are "
            "synthetic demonstration records that describe no real person"
        )
    manifest |= {
        "data_set": "psotrack de-identified research export",
        "psotrack_version": __version__,
        "format": file_format.value,
        "key": "research_id: each patient's stable random research code (never the MRN)",
        "dates": {"option": dataset.dates.value, "how": DATES_HOW[dataset.dates]},
        "age": (
            "whole years at the patient's day 0 from the birth date (which is not written); "
            f"90 or older written {OLDEST_GROUP}"
        ),
        "free_text": "removed from every table; researchers get coded fields only",
        "patients": {
            "exported": dataset.patients,
            "synthetic": dataset.synthetic_patients,
            "left_out_without_day_0": dataset.left_out_patients,
        },
        "tables": {table.name: _table_entry(table, file_format) for table in dataset.tables},
        "tables_not_exported": dict(NOT_EXPORTED),
        "photos": {
            "included": any(t.name == "photos" for t in dataset.tables),
            "files": len(dataset.photos),
            "how": (
                "only with --include-photos: the stored files, stripped of all metadata on "
                "intake, named by photo_key; body site and view are free text and removed"
            ),
        },
        "summary": SUMMARY,
    }
    if file_format is FileFormat.CSV:
        manifest["csv"] = (
            "text cells that a spreadsheet would run as a formula start with a single quote"
        )
    return manifest


def _table_entry(table: ExportedTable, file_format: FileFormat) -> dict[str, Any]:
    rules = {rule.source: rule.how for rule in table.rules}
    entry: dict[str, Any] = {
        "file": f"{table.name}.{file_format.value}",
        "rows": table.frame.height,
        "columns": table.frame.columns,
        "source_columns": rules,
        "removed": [rule.source for rule in table.rules if rule.output is None],
    }
    if table.name == "patients":
        entry["added_columns"] = {
            name: how for name, how in ADDED_PATIENT_COLUMNS.items() if name in table.frame.columns
        }
    if table.name == "photos":
        entry["added_columns"] = {"file": "the photo's file in this export"}
    return entry
