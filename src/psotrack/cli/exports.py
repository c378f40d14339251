"""`psotrack export research`: the de-identified research data set, written as one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.options import ExportUser, PhotoDir

app = typer.Typer(help="Export the record to files.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="export")


@app.command("research")
def research(
    output: Annotated[
        Path, typer.Option("--output", help="A new or empty folder to write the export into.")
    ],
    user: ExportUser,
    file_format: Annotated[
        str, typer.Option("--format", help="parquet (default) or csv.")
    ] = "parquet",
    date_shift: Annotated[
        bool,
        typer.Option(
            "--date-shift/--study-days",
            help="Dates as study days (default), or shifted by random days per patient.",
        ),
    ] = False,
    include_photos: Annotated[
        bool,
        typer.Option(
            "--include-photos",
            help="Add the photos (only for roles that read identified records).",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the date shifts (default: random; never written)."),
    ] = None,
    photo_dir: PhotoDir = None,
    url: DatabaseUrl = None,
) -> None:
    """Write the record without direct identifiers, keyed by research id, with manifest.json
    (what was removed and how) and summary.csv (rows per table) beside the data.

    Names, MRNs, birth dates, free text and staff are left out; ages of 90 or more are 90+.
    Nothing is written unless the whole export is.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from psotrack.interop.files import check_output_folder
    from psotrack.interop.research_files import (
        export_steps,
        parse_file_format,
        write_research_export,
    )
    from psotrack.services.context import Database
    from psotrack.services.research_export import research_dataset
    from psotrack.services.research_tables import DateOption
    from psotrack.services.users import actor_named
    from psotrack.settings import load_settings

    chosen = parse_file_format(file_format)
    check_output_folder(output)
    dates = DateOption.DATE_SHIFT if date_shift else DateOption.STUDY_DAYS
    folder = photo_dir if photo_dir is not None else load_settings().photo_dir
    console = Console(stderr=True)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine, photo_dir=folder)
        actor = actor_named(db, user)
        with console.status("reading the record"):
            dataset = research_dataset(
                db, actor, dates=dates, include_photos=include_photos, seed=seed
            )
    columns = (TextColumn("writing {task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(output.name, total=export_steps(dataset))
        written = write_research_export(
            dataset, output, chosen, progress=lambda _name: bar.advance(task)
        )
    typer.echo(
        f"wrote {len(dataset.tables)} tables ({written.rows:,} rows, {dataset.patients:,} "
        f"patients, dates as {dates.value}) and {len(dataset.photos)} photos to {output}, "
        "with manifest.json and summary.csv"
    )
    if dataset.left_out_patients:
        typer.echo(
            f"left out {dataset.left_out_patients} patients with no enrollment and no "
            "administration (no day 0)"
        )
    if dataset.synthetic_patients:
        typer.echo(f"SYNTHETIC: {dataset.synthetic_patients} patients are synthetic data")


@app.command("fhir")
def fhir(
    output: Annotated[Path, typer.Option("--output", help="The Bundle file to write (JSON).")],
    user: ExportUser,
    patient: Annotated[
        int | None, typer.Option("--patient", help="One patient's id (default: every patient).")
    ] = None,
    include_photos: Annotated[
        bool, typer.Option("--include-photos", help="Add the photos as Media resources.")
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Check the Bundle with the R4B models before writing (default; each entry shape "
            "whole once, each value by its type: about 3 s for 1 000 patients).",
        ),
    ] = True,
    photo_dir: PhotoDir = None,
    url: DatabaseUrl = None,
) -> None:
    """Write a FHIR R4 (4.0.1) transaction Bundle of identified records, checked with the R4B
    models: Patient, Condition, enrollments, Encounters, scores and labs as Observations, doses,
    other therapies, adverse events (and photos). Needs a role that reads identified records.
    """
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from psotrack.interop.fhir_bundle import build_bundle, write_bundle
    from psotrack.interop.files import check_output_path
    from psotrack.services.context import Database
    from psotrack.services.fhir_export import count_patients_to_export, fhir_sources
    from psotrack.services.users import actor_named
    from psotrack.settings import load_settings

    check_output_path(output)
    folder = photo_dir if photo_dir is not None else load_settings().photo_dir
    console = Console(stderr=True)
    start = time.perf_counter()
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine, photo_dir=folder)
        actor = actor_named(db, user)
        total = count_patients_to_export(db, actor, patient)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("patients", total=total)
            sources = fhir_sources(db, actor, patient, include_photos=include_photos)
            bundle = build_bundle(
                sources,
                include_photos=include_photos,
                validate=validate,
                progress=lambda: bar.advance(task),
            )
    write_bundle(bundle, output)
    seconds = time.perf_counter() - start
    checked = "checked with the R4B models" if validate else "not checked (--no-validate)"
    typer.echo(
        f"wrote a FHIR R4 (4.0.1) transaction Bundle of {total:,} patients "
        f"({len(bundle['entry']):,} entries, {checked}) to {output} in {seconds:.1f} s "
        f"({total / seconds:,.0f} patients/s)"
    )


@app.command("cdisc")
def cdisc(
    output: Annotated[
        Path, typer.Option("--output", help="A new or empty folder to write the data sets into.")
    ],
    user: ExportUser,
    standard: Annotated[
        str, typer.Option("--standard", help="sdtm, adam or both (default).")
    ] = "both",
    study_id: Annotated[
        str, typer.Option("--study-id", help="STUDYID (1-20 of A-Z, 0-9, - and _).")
    ] = "PSOTRACK",
    stop_day: Annotated[
        int | None,
        typer.Option(
            "--stop-day",
            help="Study day therapy stopped, for time to relapse (default: the most common "
            "last administration day).",
        ),
    ] = None,
    url: DatabaseUrl = None,
) -> None:
    """Write SDTM (DM, EX, CM, AE, LB, VS, RS, QS) and ADaM (ADSL, ADPASI, ADTTE) data sets as
    SAS transport v5 (.xpt) and CSV, with define.csv (every variable and its derivation).

    Built from the de-identified research export (research ids, study days, no free text);
    every ADaM value comes from the endpoint engine. Nothing is written unless all of it is.
    """
    import gc

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from psotrack.errors import Problem, ValidationError
    from psotrack.interop.cdisc_files import (
        cdisc_export,
        check_cdisc_options,
        export_steps,
        write_cdisc_export,
    )
    from psotrack.interop.files import check_output_folder
    from psotrack.services.context import Database
    from psotrack.services.research_export import research_dataset
    from psotrack.services.timeline import assessments_frame
    from psotrack.services.users import actor_named

    problems: list[Problem] = []
    for check in (
        lambda: check_cdisc_options(study_id, standard, stop_day),
        lambda: check_output_folder(output),
    ):
        try:
            check()
        except ValidationError as error:
            problems += error.problems
    if problems:
        raise ValidationError(problems=problems)
    console = Console(stderr=True)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        actor = actor_named(db, user)
        with console.status("reading the record"):
            dataset = research_dataset(db, actor)
            assessments = assessments_frame(db, actor)
    # What is read stays alive to the end: freezing it (and the imported modules) spares the
    # collector rescanning it while hundreds of thousands of records are laid out and written.
    gc.collect()
    gc.freeze()
    try:
        with console.status("deriving the data sets"):
            export = cdisc_export(
                dataset, assessments, study=study_id, standard=standard, stop_day=stop_day
            )
        columns = (TextColumn("writing {task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(output.name, total=export_steps(export))
            write_cdisc_export(export, output, progress=lambda _name: bar.advance(task))
    finally:
        gc.unfreeze()
    names = ", ".join(d.spec.name for d in export.datasets)
    typer.echo(
        f"wrote {names} ({export.patients:,} subjects) as .xpt (SAS transport v5) and .csv to "
        f"{output}, with define.csv and README.txt"
    )
    if export.synthetic_patients:
        typer.echo(f"SYNTHETIC: {export.synthetic_patients} subjects are synthetic data")
