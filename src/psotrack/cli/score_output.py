"""Printing `psotrack score …` results: a rich table, or JSON with exact decimals as text."""

from __future__ import annotations

import json

import typer

from psotrack.errors import Problem, ValidationError


def print_table(title: str, rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems=problems)


def emit(
    as_json: bool, payload: dict[str, object], title: str, rows: list[dict[str, object]]
) -> None:
    """Print the result as JSON (Decimals as strings) or as a table."""
    if as_json:
        typer.echo(json.dumps(payload, default=str, ensure_ascii=False))
    elif len(rows) == 1:  # one result: a two-column table reads better than one wide row
        print_table(title, [{"field": k, "value": v} for k, v in rows[0].items()])
    else:
        print_table(title, rows)
