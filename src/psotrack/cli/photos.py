"""`psotrack photos sweep`: bring the photo folder back in step with the record."""

from __future__ import annotations

from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine, shown
from psotrack.cli.options import PhotoDir

app = typer.Typer(help="Look after the photo folder (PSOTRACK_PHOTO_DIR).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="photos")


@app.command("sweep")
def sweep(
    apply: Annotated[
        bool, typer.Option("--apply", help="Remove and restore files (default: only report).")
    ] = False,
    older_than: Annotated[
        float,
        typer.Option(
            min=0, help="Spare unreferenced files younger than this many minutes (default 0)."
        ),
    ] = 0.0,
    photo_dir: PhotoDir = None,
    url: DatabaseUrl = None,
) -> None:
    """Remove photo files no row refers to and files of uploads that died; restore the file of
    a photo committed just before its upload was killed. Safe beside running uploads.

    Run it against the database whose photos the folder holds: a folder shared by two
    databases would lose the other's files. Exit 1 when a photo's file is missing.
    """
    from datetime import timedelta

    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.photo_sweep import sweep_photos
    from psotrack.settings import load_settings

    folder = photo_dir if photo_dir is not None else load_settings().photo_dir
    with open_engine(url) as engine:
        db = Database.from_engine(engine, photo_dir=folder)
        report = sweep_photos(db, SYSTEM, older_than=timedelta(minutes=older_than), apply=apply)
        where = f"{folder} against {shown(str(engine.url))}"
    for path in report.unreferenced:
        typer.echo(f"{'removed' if apply else 'would remove'} unreferenced {path}")
    for path in report.restored:
        typer.echo(f"{'restored' if apply else 'would restore'} {path}")
    typer.echo(f"{where}: {report.summary()}")
    if report.missing:
        shown_ids = ", ".join(str(i) for i in report.missing[:20])
        more = f" and {len(report.missing) - 20} more" if len(report.missing) > 20 else ""
        typer.echo(f"error: the file of photos {shown_ids}{more} is missing", err=True)
        raise typer.Exit(1)
