"""`psotrack score …`: score one clinical instrument from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import REGIONS, PasiInput, RegionScore, pasi

app = typer.Typer(
    help="Score a clinical instrument (PASI, BSA, PGA, DLQI, …).", no_args_is_help=True
)

RegionOption = Annotated[
    str | None,
    typer.Option(help="Erythema, induration, desquamation and area score, as E,I,D,A (0–4, 0–6)."),
]


def parse_region(region: str, text: str) -> tuple[RegionScore | None, list[Problem]]:
    """Read ``E,I,D,A`` for one region; return the score (if readable) and every problem found."""
    parts = [p.strip() for p in text.split(",")]
    names = ("erythema", "induration", "desquamation", "area")
    if len(parts) != 4:
        option = f"--{region.replace('_', '-')}"
        return None, [Problem(option, text, "four integers E,I,D,A", kind="type")]
    values: list[int] = []
    problems: list[Problem] = []
    for name, part in zip(names, parts, strict=True):
        try:
            values.append(int(part))
        except ValueError:
            problems.append(Problem(f"{region}_{name}", part, "an integer", kind="type"))
            values.append(0)
    score = RegionScore(*values)
    problems.extend(p for p in score.problems(region) if p.field not in {q.field for q in problems})
    return (None if problems else score), problems


@app.command("pasi")
def score_pasi(
    head: RegionOption = None,
    upper_limbs: RegionOption = None,
    trunk: RegionOption = None,
    lower_limbs: RegionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Score an adult PASI from the four regions' E,I,D,A."""
    given = {"head": head, "upper_limbs": upper_limbs, "trunk": trunk, "lower_limbs": lower_limbs}
    missing = [
        Problem(f"--{r.replace('_', '-')}", None, "E,I,D,A", kind="missing")
        for r in REGIONS
        if given[r] is None
    ]
    if missing:
        raise ValidationError(problems=missing)
    problems: list[Problem] = []
    regions: dict[str, RegionScore] = {}
    for r in REGIONS:
        score, found = parse_region(r, given[r] or "")
        problems.extend(found)
        if score is not None:
            regions[r] = score
    if problems:
        raise ValidationError(problems=problems)
    result = pasi(PasiInput(**regions))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "instrument": "PASI",
                    "total": str(result.total),
                    "regions": {
                        r.region: {
                            "weight": str(r.weight),
                            "severity_sum": r.severity_sum,
                            "area": r.area,
                            "contribution": str(r.value),
                        }
                        for r in result.regions
                    },
                }
            )
        )
        return
    _print_table("PASI", result.summary())


def _print_table(title: str, rows: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
