"""`psotrack demo`: a clearly synthetic cohort in the database, and what psotrack measures of it."""

from __future__ import annotations

from typing import Annotated

import typer

from psotrack.cli.db import DatabaseUrl, open_engine, shown


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    patients: Annotated[
        int, typer.Option(min=1, max=5000, help="Synthetic patients to create.")
    ] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic cohort.")] = 1,
    url: DatabaseUrl = None,
) -> None:
    """Migrate the database, fill it with a synthetic cohort (once), and summarise it."""
    from rich.console import Console
    from rich.progress import Progress
    from sqlalchemy import func, select

    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.demo import build_demo
    from psotrack.settings import load_settings
    from psotrack.store import upgrade
    from psotrack.store.models import Patient

    console = Console()
    console.print(
        "[bold]SYNTHETIC DEMO DATA[/bold] — describes no real patient and no real product."
    )
    with open_engine(url) as engine:
        upgrade(engine)
        db = Database.from_engine(engine, photo_dir=load_settings().photo_dir)
        with db.transaction() as session:
            existing = session.scalar(select(func.count()).select_from(Patient)) or 0
        if existing:
            console.print(
                f"{shown(str(engine.url))} already holds {existing} patients; nothing added."
            )
        else:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("recording the synthetic cohort", total=patients)
                summary = build_demo(
                    db,
                    patients=patients,
                    seed=seed,
                    progress=lambda n: progress.update(task, completed=n),
                )
            console.print(
                f"Recorded through the services into {shown(str(engine.url))}: "
                f"{summary.patients} patients, {summary.visits} visits, "
                f"{summary.assessments} assessments, {summary.administrations} administrations, "
                f"{summary.labs} lab results, {summary.adverse_events} adverse events, "
                f"{summary.photos} photos."
            )
        _summarise(console, db, SYSTEM)


def _summarise(console: object, db: object, actor: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from psotrack.endpoints import derive_response_rates
    from psotrack.services.context import Actor, Database
    from psotrack.services.flags import list_alerts
    from psotrack.services.timeline import assessments_frame

    assert isinstance(console, Console) and isinstance(db, Database) and isinstance(actor, Actor)
    frame = assessments_frame(db, actor).drop("pga", "bsa", "dlqi", "itch")
    rates = derive_response_rates(frame, threshold=75, missing="nri", by=None)
    table = Table(title="PASI 75 by visit (non-responder imputation, exact 95 % interval)")
    for column in ("visit", "day", "responders / n", "rate", "95 % CI"):
        table.add_column(column)
    for row in rates.iter_rows(named=True):
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
