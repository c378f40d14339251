"""`psotrack alerts`: list the safety flags raised when records were stored (newest first)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.number_options import whole_number

if TYPE_CHECKING:
    from psotrack.services.flags import Alert


def register(app: typer.Typer) -> None:
    app.command("alerts")(alerts)


def alerts(
    include_acknowledged: Annotated[
        bool, typer.Option("--all", help="Include acknowledged flags too.")
    ] = False,
    patient: Annotated[
        int | None,
        typer.Option(
            "--patient",
            help="Only this patient's flags (internal id).",
            parser=whole_number("--patient"),
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    url: DatabaseUrl = None,
) -> None:
    """Safety flags: serious or grade ≥ 3 adverse events, infusion reactions, dose, viability."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.flags import list_alerts

    with open_engine(url, require_schema=True) as engine:
        found = list_alerts(
            Database.from_engine(engine),
            SYSTEM,
            include_acknowledged=include_acknowledged,
            patient_id=patient,
        )
    if as_json:
        typer.echo(json.dumps([_jsonable(alert) for alert in found], indent=2, ensure_ascii=False))
        return
    _print_lines(found)


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
