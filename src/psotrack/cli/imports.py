"""`psotrack import assessments`: load a long or wide file of scores into the record store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.options import CreateProgram, DryRun, ImportUser, PhotoDir, ProgramName, Synthetic

app = typer.Typer(help="Import files into the record store.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="import")


@app.command("assessments")
def import_assessments(
    input_csv: Annotated[Path, typer.Option("--input", help="CSV of scores (long or --wide).")],
    program: ProgramName,
    wide: Annotated[
        bool, typer.Option("--wide", help="One row per patient, a column per visit.")
    ] = False,
    days: Annotated[
        str | None,
        typer.Option(help="Visit days for --wide, e.g. BASELINE=0,WEEK01=7 (default: from names)."),
    ] = None,
    day_zero: Annotated[
        str,
        typer.Option(help="Calendar date of study day 0 (visit dates are day zero + day)."),
    ] = "2000-01-03",
    create_program: CreateProgram = False,
    synthetic: Synthetic = False,
    url: DatabaseUrl = None,
) -> None:
    """Check every row, then import patients, visits and scores in one transaction."""
    from rich.console import Console

    from psotrack.cli.endpoints import parse_days, read_assessment_csv
    from psotrack.endpoints import wide_to_long
    from psotrack.errors import ValidationError
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.imports import import_assessments as run_import

    try:
        zero = date.fromisoformat(day_zero)
    except ValueError:
        raise ValidationError("--day-zero", day_zero, "a date as YYYY-MM-DD", "type") from None
    if days and not wide:
        raise ValidationError("--days", days, "used only with --wide", "invalid")
    frame = read_assessment_csv(input_csv)
    if wide:
        frame = wide_to_long(frame, parse_days(days) if days else None)
    console = Console(stderr=True)
    with (
        open_engine(url, require_schema=True) as engine,
        console.status(f"checking and importing {frame.height:,} rows"),
    ):
        summary = run_import(
            Database.from_engine(engine),
            SYSTEM,
            frame,
            program=program,
            create_program=create_program,
            day_zero=zero,
            source=input_csv.name,
            synthetic=synthetic,
        )
    typer.echo(
        f"imported {summary.rows:,} rows: {summary.patients_created:,} new patients, "
        f"{summary.visits:,} visits, {summary.assessments:,} assessments"
    )


@app.command("redcap")
def import_redcap(
    dictionary: Annotated[Path, typer.Option("--dictionary", help="REDCap data dictionary CSV.")],
    records: Annotated[Path, typer.Option("--records", help="REDCap flat record export CSV.")],
    program: ProgramName,
    user: ImportUser,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping for fields not named plainly.")
    ] = None,
    day_zero: Annotated[
        str | None, typer.Option(help="Date of study day 0, for events given a day in the mapping.")
    ] = None,
    create_program: CreateProgram = False,
    synthetic: Synthetic = False,
    dry_run: DryRun = False,
    url: DatabaseUrl = None,
) -> None:
    """Check every row, recompute every score, then store it all through the services, or nothing.

    Every REDCap calculated total that disagrees with psotrack's is listed (psotrack's is stored).
    A live REDCap is read with PyCap into the same two files (see docs/redcap.md).
    """
    from psotrack.errors import ValidationError
    from psotrack.interop.redcap_files import read_dictionary, read_records
    from psotrack.interop.redcap_mapping import read_mapping
    from psotrack.services.context import Database
    from psotrack.services.redcap_import import import_redcap as run_import
    from psotrack.services.users import actor_named

    zero = None
    if day_zero is not None:
        try:
            zero = date.fromisoformat(day_zero)
        except ValueError:
            raise ValidationError("--day-zero", day_zero, "a date as YYYY-MM-DD", "type") from None
    rules = read_mapping(mapping)
    fields = read_dictionary(dictionary)
    rows = read_records(records, fields)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        result = run_import(
            db,
            actor_named(db, user),
            fields,
            rows,
            rules,
            program=program,
            create_program=create_program,
            day_zero=zero,
            source=records.name,
            synthetic=synthetic,
            dry_run=dry_run,
        )
    _print_import(result)


@app.command("dlqi")
def import_dlqi(
    input_csv: Annotated[
        Path, typer.Option("--input", help="CSV of DLQI items DLQI101–DLQI110 coded 0–3.")
    ],
    program: ProgramName,
    user: ImportUser,
    day_zero: Annotated[
        str | None, typer.Option(help="Date of study day 0, when the file gives study days.")
    ] = None,
    create_program: CreateProgram = False,
    synthetic: Synthetic = False,
    dry_run: DryRun = False,
    url: DatabaseUrl = None,
) -> None:
    """Import item-level DLQI questionnaires; every total is recomputed from the items and each
    row whose supplied total disagrees is listed."""
    from psotrack.errors import ValidationError
    from psotrack.interop.files import read_csv_text
    from psotrack.services.context import Database
    from psotrack.services.dlqi_import import import_dlqi_items
    from psotrack.services.users import actor_named

    zero = None
    if day_zero is not None:
        try:
            zero = date.fromisoformat(day_zero)
        except ValueError:
            raise ValidationError("--day-zero", day_zero, "a date as YYYY-MM-DD", "type") from None
    frame = read_csv_text(input_csv)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        result = import_dlqi_items(
            db,
            actor_named(db, user),
            frame,
            program=program,
            create_program=create_program,
            day_zero=zero,
            source=input_csv.name,
            synthetic=synthetic,
            dry_run=dry_run,
        )
    _print_import(result)


def _print_import(result: object) -> None:
    """The counts of an import (or dry run), then every total that disagrees with the file."""
    from psotrack.services.redcap_import import ImportResult

    assert isinstance(result, ImportResult)
    verb = "would import (dry run, nothing stored)" if result.dry_run else "imported"
    typer.echo(
        f"{verb} from {result.source}: {result.records:,} records, "
        f"{result.patients_created:,} new patients, {result.visits:,} visits, "
        f"{result.assessments:,} assessments, {result.lab_results:,} lab results, "
        f"{result.administrations:,} administrations, {result.adverse_events:,} adverse events; "
        f"{result.skipped_rows:,} rows without data skipped"
    )
    if result.disagreements:
        typer.echo(
            f"{len(result.disagreements):,} totals in the file disagree with the score psotrack "
            "computed from the items (psotrack's score is stored):"
        )
        for disagreement in result.disagreements:
            typer.echo(f"  {disagreement}")


@app.command("fhir")
def import_fhir(
    bundle: Annotated[Path, typer.Argument(help="A FHIR R4 Bundle (JSON) as psotrack writes.")],
    user: Annotated[
        str,
        typer.Option("--user", help="Your psotrack user name: the import is recorded as you."),
    ],
    photo_dir: PhotoDir = None,
    url: DatabaseUrl = None,
) -> None:
    """Check every entry of the Bundle, then store everything in one transaction, or nothing.

    Each problem is named by entry number and resource type; a refused Bundle exits with 2.
    """
    from rich.console import Console

    from psotrack.interop.fhir_read import read_bundle_file
    from psotrack.services.context import Database
    from psotrack.services.fhir_import import import_fhir as run_import
    from psotrack.services.users import actor_named
    from psotrack.settings import load_settings

    plan = read_bundle_file(bundle)
    folder = photo_dir if photo_dir is not None else load_settings().photo_dir
    console = Console(stderr=True)
    with (
        open_engine(url, require_schema=True) as engine,
        console.status(f"checking and importing {bundle.name}"),
    ):
        db = Database.from_engine(engine, photo_dir=folder)
        summary = run_import(db, actor_named(db, user), plan)
    typer.echo(
        f"imported {summary.patients:,} patients: {summary.visits:,} visits, "
        f"{summary.assessments:,} assessments, {summary.administrations:,} administrations, "
        f"{summary.labs:,} labs, {summary.therapies:,} therapies, "
        f"{summary.adverse_events:,} adverse events, {summary.photos:,} photos "
        f"({summary.programs_created} programs created)"
    )
