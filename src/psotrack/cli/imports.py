"""`psotrack import assessments`: load a long or wide file of scores into the record store."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine

app = typer.Typer(help="Import files into the record store.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="import")


@app.command("assessments")
def import_assessments(
    input_csv: Annotated[Path, typer.Option("--input", help="CSV of scores (long or --wide).")],
    program: Annotated[str, typer.Option(help="Name of the program the patients follow.")],
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
    create_program: Annotated[
        bool, typer.Option("--create-program", help="Create the program if it does not exist.")
    ] = False,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Mark the imported patients as synthetic data.")
    ] = False,
    url: DatabaseUrl = None,
) -> None:
    """Check every row, then import patients, visits and scores in one transaction."""
    import polars as pl
    from rich.console import Console
    from sqlalchemy import select

    from psotrack.endpoints import wide_to_long
    from psotrack.errors import ValidationError
    from psotrack.interop.files import read_csv_text
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.imports import import_assessments as run_import
    from psotrack.services.patients import create_program as make_program
    from psotrack.store.models import Program

    try:
        zero = date.fromisoformat(day_zero)
    except ValueError:
        raise ValidationError("--day-zero", day_zero, "a date as YYYY-MM-DD", "type") from None
    frame = read_csv_text(input_csv)
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(["NA", ""]))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c in frame.columns
    )
    if wide:
        frame = wide_to_long(frame, _parse_days(days))
    console = Console(stderr=True)
    with open_engine(url) as engine:
        db = Database.from_engine(engine)
        with db.transaction() as session:
            program_id = session.scalar(select(Program.id).where(Program.name == program))
        if program_id is None and create_program:
            program_id = make_program(
                db,
                SYSTEM,
                {
                    "name": program,
                    "regimen": f"imported from {input_csv.name}",
                    "product_source": "other",
                    "route": "IV",
                },
            )
        if program_id is None:
            raise ValidationError(
                "--program", program, "an existing program (or pass --create-program)", "invalid"
            )
        with console.status(f"checking and importing {frame.height:,} rows"):
            summary = run_import(
                db,
                SYSTEM,
                frame,
                program_id=program_id,
                day_zero=zero,
                source=input_csv.name,
                synthetic=synthetic,
            )
    typer.echo(
        f"imported {summary.rows:,} rows: {summary.patients_created:,} new patients, "
        f"{summary.visits:,} visits, {summary.assessments:,} assessments"
    )


def _parse_days(text: str | None) -> dict[str, int] | None:
    from psotrack.errors import ValidationError

    if not text:
        return None
    days: dict[str, int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            days[name.strip()] = int(value)
        except ValueError:
            raise ValidationError(
                "--days", part, "NAME=DAY pairs, e.g. WEEK04=28", "type"
            ) from None
    return days
