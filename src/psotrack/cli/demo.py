"""`psotrack demo`: a clearly synthetic cohort in the database, and what psotrack measures of it."""

from __future__ import annotations

import os
import tempfile
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
    """Migrate the database, fill it with a synthetic cohort (once, whole or not at all), and
    summarise it."""
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
        _fill_new_file(console, new_file, target, patients, seed)
    with open_engine(target) as engine:
        db = Database.from_engine(engine, photo_dir=load_settings().photo_dir)
        _summarise(console, db, SYSTEM)


def _fill_new_file(console: Console, new_file: Path, target: str, patients: int, seed: int) -> None:
    """Build a new SQLite file under a name of this run's own, then publish it whole.

    The name is unique per run, so two runs never share (or delete) each other's file. Publishing
    is a hard link, which, unlike a rename, fails if the file exists: a run that finds the file
    created meanwhile discards its own and says so (exit 2) instead of replacing the other's.
    """
    from psotrack.errors import ValidationError

    folder = new_file.parent if str(new_file.parent) else Path(".")
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{new_file.name}.", suffix=".part")
    os.close(handle)
    part = Path(name)
    try:
        with open_engine(f"sqlite:///{part}") as engine:
            _fill(console, engine, patients, seed)
        for suffix in ("-wal", "-journal"):  # the last connection closed has folded them in
            if Path(f"{part}{suffix}").exists():
                raise OSError(f"{part}{suffix} is still present after the database was closed")
        try:
            os.link(part, new_file)
        except FileExistsError:
            raise ValidationError(
                "--database-url",
                target,
                "a file that another run created while this one was building it; "
                "this run's cohort was discarded (run demo again to summarise that file)",
                "invalid",
            ) from None
    finally:
        _remove_sqlite_files(part)


def _fill(console: Console, engine: Engine, patients: int, seed: int) -> None:
    """Migrate, then record the synthetic cohort unless the database already holds patients."""
    from rich.progress import Progress

    from psotrack.errors import Conflict
    from psotrack.services.context import Database
    from psotrack.services.demo import build_demo, count_patients
    from psotrack.settings import load_settings
    from psotrack.store import upgrade

    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=load_settings().photo_dir)
    existing = count_patients(db)
    summary = None
    if not existing:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("recording the synthetic cohort", total=patients)
            try:
                summary = build_demo(
                    db,
                    patients=patients,
                    seed=seed,
                    progress=lambda n: progress.update(task, completed=n),
                )
            except Conflict:
                existing = count_patients(db)  # another run filled it at the same time
                if not existing:
                    raise
    if summary is None:
        console.print(f"{shown(str(engine.url))} already holds {existing} patients; nothing added.")
        return
    console.print(
        f"Recorded through the services: {summary.patients} patients, {summary.visits} visits, "
        f"{summary.assessments} assessments, {summary.administrations} administrations, "
        f"{summary.labs} lab results, {summary.adverse_events} adverse events, "
        f"{summary.photos} photos. All of it is one transaction: stored whole or not at all."
    )


def _print_logins(console: Console, db: Database) -> None:
    """The demo's sign-ins, one per role: printed for a demo database only (every patient
    synthetic), never for another; their passwords are not secret (see services.demo)."""
    from rich.table import Table

    from psotrack.services.demo import demo_logins

    logins = demo_logins(db)
    if not logins:
        return
    table = Table(title="Demo sign-ins (synthetic demo database only; not secret)")
    for column in ("role", "username", "password"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.role.value, login.username, login.password)
    console.print(table)


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
    _print_logins(console, db)
    console.print(
        "These are measurements of synthetic data with their uncertainty; "
        "they say nothing about whether any therapy works."
    )
