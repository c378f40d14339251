"""`psotrack alerts`: list the safety flags raised when records were stored (newest first)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from psotrack.cli import EXIT_ERROR

if TYPE_CHECKING:
    from psotrack.services.flags import Alert

MISSING_SCHEMA = "the database has no psotrack tables: run psotrack db upgrade first"


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts)


def alerts(
    include_acknowledged: Annotated[
        bool, typer.Option("--all", help="Include acknowledged flags too.")
    ] = False,
    patient: Annotated[
        int | None, typer.Option("--patient", help="Only this patient's flags (internal id).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", help="SQLAlchemy URL (default: PSOTRACK_DATABASE_URL or settings)."
        ),
    ] = None,
) -> None:
    """Safety flags: serious or grade ≥ 3 adverse events, infusion reactions, dose, viability."""
    from sqlalchemy import inspect

    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.flags import list_alerts
    from psotrack.settings import load_settings

    url = database_url if database_url is not None else load_settings().database_url
    if _missing_sqlite_file(url):
        typer.echo(f"error: {MISSING_SCHEMA}", err=True)
        raise typer.Exit(EXIT_ERROR)
    db = Database.from_url(url)
    try:
        if not inspect(db.engine).has_table("safety_flags"):
            typer.echo(f"error: {MISSING_SCHEMA}", err=True)
            raise typer.Exit(EXIT_ERROR)
        found = list_alerts(
            db, SYSTEM, include_acknowledged=include_acknowledged, patient_id=patient
        )
    finally:
        db.engine.dispose()
    if as_json:
        typer.echo(json.dumps([_jsonable(alert) for alert in found], indent=2, ensure_ascii=False))
        return
    _print_lines(found)


def _missing_sqlite_file(url: str) -> bool:
    """A SQLite URL whose file does not exist (connecting would create an empty one)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return False
    return not Path(name).exists()


def _jsonable(alert: Alert) -> dict[str, Any]:
    row = asdict(alert)
    for key, value in row.items():
        if isinstance(value, datetime | date):
            row[key] = value.isoformat()
    return row


def _print_lines(found: list[Alert]) -> None:
    """One heading line per flag and its message indented below (long messages stay whole)."""
    if not found:
        typer.echo("No safety flags.")
        return
    typer.echo(f"Safety flags ({len(found)}, newest first)")
    for alert in found:
        parts = [
            f"#{alert.id}",
            f"patient {alert.patient_id}",
            alert.kind,
            f"raised {alert.raised_at.strftime('%Y-%m-%d %H:%M')}",
        ]
        if alert.due_date is not None:
            parts.append(f"report due {alert.due_date.isoformat()}")
        if alert.acknowledged:
            parts.append("acknowledged")
        typer.echo("  ".join(parts))
        typer.echo(f"    {alert.message}")
