"""`psotrack demo`: a clearly synthetic cohort in the database, and what psotrack measures of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from psotrack.cli.db import DatabaseUrl, database_url, missing_sqlite_file, open_engine, shown
from psotrack.cli.number_options import seed as seed_option
from psotrack.cli.number_options import whole_number

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine

    from psotrack.services.context import Actor, Database


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    patients: Annotated[
        int,
        typer.Option(
            help="Synthetic patients to create (1–5000).",
            parser=whole_number("--patients", (1, 5000), "synthetic patients"),
        ),
    ] = 40,
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic cohort.", parser=seed_option)
    ] = 1,
    url: DatabaseUrl = None,
) -> None:
    """Migrate the database, fill it with a synthetic cohort (once), and summarise it."""
    from rich.console import Console

    from psotrack.services.context import SYSTEM, Database
    from psotrack.settings import load_settings

    console = Console()
    console.print(
        "[bold]SYNTHETIC DEMO DATA[/bold] — describes no real patient and no real product."
    )
    target = database_url(url)
    new_file = missing_sqlite_file(target)
    if new_file is None:
        with open_engine(target) as engine:
            _fill(console, engine, patients, seed)
    else:
        # A new SQLite file is built beside its final name and renamed into place when complete,
        # so an interrupted demo leaves no half-filled database behind.
        part = new_file.with_name(f".{new_file.name}.part")
        _remove_sqlite_files(part)
        try:
            with open_engine(f"sqlite:///{part}") as engine:
                _fill(console, engine, patients, seed)
            os.replace(part, new_file)
        finally:
            _remove_sqlite_files(part)
    with open_engine(target) as engine:
        db = Database.from_engine(engine, photo_dir=load_settings().photo_dir)
        _summarise(console, db, SYSTEM)


def _fill(console: Console, engine: Engine, patients: int, seed: int) -> None:
    """Migrate, then record the synthetic cohort unless the database already holds patients."""
    from rich.progress import Progress
    from sqlalchemy import func, select

    from psotrack.services.context import Database
    from psotrack.services.demo import build_demo
    from psotrack.settings import load_settings
    from psotrack.store import upgrade
    from psotrack.store.models import Patient

    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=load_settings().photo_dir)
    with db.transaction() as session:
        existing = session.scalar(select(func.count()).select_from(Patient)) or 0
    if existing:
        console.print(f"{shown(str(engine.url))} already holds {existing} patients; nothing added.")
        return
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("recording the synthetic cohort", total=patients)
        summary = build_demo(
            db, patients=patients, seed=seed, progress=lambda n: progress.update(task, completed=n)
        )
    console.print(
        f"Recorded through the services: {summary.patients} patients, {summary.visits} visits, "
        f"{summary.assessments} assessments, {summary.administrations} administrations, "
        f"{summary.labs} lab results, {summary.adverse_events} adverse events, "
        f"{summary.photos} photos."
    )


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _summarise(console: Console, db: Database, actor: Actor) -> None:
    from rich.table import Table

    from psotrack.services.cohort import cohort_rates
    from psotrack.services.flags import list_alerts

    cohort = cohort_rates(db, actor, threshold=75, missing="nri", denominator="itt", by=None)
    table = Table(title=cohort.title)
    for column in ("visit", "day", "responders / n", "rate", "95 % CI"):
        table.add_column(column)
    for row in cohort.rates.iter_rows(named=True):
        if row["n"]:
            table.add_row(
                row["visit"],
                str(row["day"]),
                f"{row['responders']} / {row['n']}",
                f"{row['rate']:.1%}",
                f"{row['ci_low']:.1%} – {row['ci_high']:.1%}",
            )
    console.print(table)
    alerts = list_alerts(db, actor)
    console.print(f"Open safety flags: {len(alerts)} (list them with `psotrack alerts`).")
    console.print(
        "These are measurements of synthetic data with their uncertainty; "
        "they say nothing about whether any therapy works."
    )
