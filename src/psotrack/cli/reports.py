"""`psotrack report patient|cohort`: the progress reports, written as one HTML or PDF file.

Every report is read as the user named by ``--user`` (their role decides what they may read; a
patient report shows identified records), drawn from the services and the endpoint engine, and
written whole or not at all. ``--generated-at`` fixes the printed date, so that the same data
give the same report.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.number_options import whole_number
from psotrack.cli.options import PhotoDir

app = typer.Typer(help="Write progress reports (HTML or PDF).", no_args_is_help=True)

OutputOption = Annotated[
    Path, typer.Option("--output", help="The report file to write (replaced whole if it exists).")
]
FormatOption = Annotated[str, typer.Option("--format", help="pdf (default) or html.")]
UserOption = Annotated[
    str,
    typer.Option("--user", help="Your psotrack user name: the report is read as you."),
]
GeneratedAtOption = Annotated[
    str | None,
    typer.Option(
        "--generated-at",
        help="The date printed as the report's date (ISO 8601; default: now, UTC).",
    ),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")


@app.command("patient")
def patient(
    patient_id: Annotated[
        int,
        typer.Argument(
            help="The patient's id (a whole number).", parser=whole_number("PATIENT_ID")
        ),
    ],
    output: OutputOption,
    user: UserOption,
    file_format: FormatOption = "pdf",
    generated_at: GeneratedAtOption = None,
    photo_dir: PhotoDir = None,
    url: DatabaseUrl = None,
) -> None:
    """One patient's progress report: status, scores over study days, where the improvement
    is, the mirror (photos), immune labs, safety, for the patient and their dermatologist."""
    from rich.console import Console

    from psotrack.interop.files import check_output_path
    from psotrack.reports.document import parse_generated_at, parse_report_format, write_document
    from psotrack.reports.patient_report import patient_document
    from psotrack.services.context import Database
    from psotrack.services.patient_report import patient_report
    from psotrack.services.users import actor_named
    from psotrack.settings import load_settings

    chosen = parse_report_format(file_format)
    when = parse_generated_at(generated_at)
    check_output_path(output)
    folder = photo_dir if photo_dir is not None else load_settings().photo_dir
    console = Console(stderr=True)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine, photo_dir=folder)
        actor = actor_named(db, user)
        with console.status("reading the record"):
            report = patient_report(db, actor, patient_id)
    with console.status(f"drawing the charts and writing the {chosen.value.upper()}"):
        write_document(patient_document(report, chosen, generated_at=when), output)
    typer.echo(f"wrote the progress report of patient {patient_id} to {output} ({chosen.value})")
    if report.data_label:
        typer.echo(f"SYNTHETIC: {report.data_label}")


def _report_date(option: str, text: str | None) -> date | None:
    """``--from``/``--to``: an ISO date (YYYY-MM-DD) in the range the record takes, or none."""
    from psotrack.errors import ValidationError
    from psotrack.services.payloads import require_date

    if text is None:
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(option, text, "a date as YYYY-MM-DD", "type") from None
    return require_date(option, parsed)


@app.command("cohort")
def cohort(
    output: OutputOption,
    user: UserOption,
    program: Annotated[
        int | None,
        typer.Option(
            "--program",
            help="The program's id (default: every program on record).",
            parser=whole_number("--program", (1, 2**31 - 1), "a program id"),
        ),
    ] = None,
    date_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Only patients whose enrollment started on or after this date (YYYY-MM-DD).",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Only patients whose enrollment started on or before this date (YYYY-MM-DD).",
        ),
    ] = None,
    report_format: FormatOption = "pdf",
    generated_at: GeneratedAtOption = None,
    url: DatabaseUrl = None,
) -> None:
    """The cohort report: flow, baseline table, responder rates, PASI course, Kaplan–Meier,
    biomarkers, adverse events and the published studies beside the cohort (descriptive).

    Research ids and coded fields only, so a researcher may run it. Nothing is written unless
    the whole report is.
    """
    from rich.console import Console

    from psotrack.errors import ValidationError
    from psotrack.interop.files import check_output_path
    from psotrack.reports.cohort_report import cohort_document
    from psotrack.reports.document import parse_generated_at, parse_report_format, write_document
    from psotrack.services.cohort_report import cohort_report
    from psotrack.services.context import Database
    from psotrack.services.users import actor_named

    chosen = parse_report_format(report_format)
    printed = parse_generated_at(generated_at)
    start, end = _report_date("--from", date_from), _report_date("--to", date_to)
    if start is not None and end is not None and start > end:
        raise ValidationError("--to", date_to, f"on or after --from ({date_from})", "invalid")
    check_output_path(output)
    console = Console(stderr=True)
    with open_engine(url, require_schema=True) as engine:
        db = Database.from_engine(engine)
        actor = actor_named(db, user)
        with console.status("reading the cohort"):
            report = cohort_report(db, actor, program, start, end)
    with console.status(f"drawing the {chosen.value.upper()} report"):
        write_document(cohort_document(report, chosen, generated_at=printed), output)
    label = f" ({report.synthetic_label})" if report.synthetic_label else ""
    typer.echo(f"wrote the cohort report of {report.patients} enrolled patients to {output}{label}")
