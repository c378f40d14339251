"""`psotrack evidence`: print the published MSC psoriasis counts, optionally beside a cohort's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from psotrack.errors import Problem, ValidationError

if TYPE_CHECKING:
    import polars as pl

CohortOption = Annotated[
    Path | None,
    typer.Option(
        "--cohort",
        help="A cohort rates CSV (arm, visit, day, n, responders, rate, ci_low, ci_high) to lay "
        "beside the published rows; its own missing and endpoint columns, when present, must "
        "match --missing and --endpoint.",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(help="The cohort's endpoint, e.g. PASI40, PASI50, PGA01 (with --cohort)."),
]
TimePointOption = Annotated[
    str | None,
    typer.Option(help="The cohort's time point, in the published row's wording (with --cohort)."),
]
MissingOption = Annotated[
    str | None,
    typer.Option(
        "--missing",
        help="The cohort's missing-data rule, in the published row's wording (with --cohort).",
    ),
]
VisitOption = Annotated[
    str | None,
    typer.Option(help="The cohort file's visit label to use (default: the --time-point text)."),
]
StudyOption = Annotated[
    str | None, typer.Option(help="Only this published study (its study_id, e.g. cheng2022).")
]


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence)


def evidence(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows shown to this CSV file.")
    ] = None,
    cohort: CohortOption = None,
    endpoint: EndpointOption = None,
    time_point: TimePointOption = None,
    missing: MissingOption = None,
    visit: VisitOption = None,
    study: StudyOption = None,
) -> None:
    """Published MSC psoriasis responder counts with exact 95 % intervals (descriptive only)."""
    import polars as pl

    from psotrack.evidence import (
        CAVEAT,
        derive_published_rates,
        derive_side_by_side,
        load_published_table,
    )
    from psotrack.interop.files import check_output_path, write_csv_atomically

    if csv_path is not None:
        check_output_path(csv_path, inputs=[] if cohort is None else [cohort], field="--csv")
    table = load_published_table()
    published = derive_published_rates(table)
    if study is not None:
        studies = [row.study_id for row in table.rows]
        if study not in studies:
            allowed = "a study of the table: " + ", ".join(dict.fromkeys(studies))
            raise ValidationError("--study", study, allowed, "invalid")
        published = published.filter(pl.col("study_id") == study)
    side_by_side: pl.DataFrame | None = None
    if cohort is not None:
        chosen = {"--endpoint": endpoint, "--time-point": time_point, "--missing": missing}
        absent = [name for name, value in chosen.items() if value is None]
        if absent:
            raise ValidationError(
                problems=[Problem(n, None, "needed with --cohort", "missing") for n in absent]
            )
        side_by_side = derive_side_by_side(
            table,
            _read_cohort(cohort),
            endpoint=endpoint or "",
            time_point=time_point or "",
            missing_rule=missing or "",
            visit=visit,
            study_id=study,
        )
    else:
        given = {
            "--endpoint": endpoint,
            "--time-point": time_point,
            "--missing": missing,
            "--visit": visit,
        }
        stray = [Problem(n, v, "used only with --cohort", "invalid") for n, v in given.items() if v]
        if stray:
            raise ValidationError(problems=stray)
    if csv_path is not None:
        shown = published if side_by_side is None else side_by_side
        versioned = shown.with_columns(pl.lit(table.version).alias("table_version"))
        write_csv_atomically(versioned, csv_path)
    if as_json:
        document: dict[str, object] = {
            "name": table.name,
            "version": table.version,
            "date": table.date,
            "caveat": CAVEAT,
            "interval": "exact (Clopper–Pearson) 95 %, recomputed from the counts",
            "rows": published.to_dicts(),
            "omitted": list(table.omitted),
        }
        if side_by_side is not None:
            document["side_by_side"] = side_by_side.to_dicts()
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    _print_tables(table.name, table.label, published, side_by_side, table.omitted, CAVEAT)


def _read_cohort(path: Path) -> pl.DataFrame:
    import polars as pl

    try:
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ValidationError(
            "--cohort", str(path), f"a readable cohort rates CSV ({exc})", "invalid"
        ) from exc


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "— (no interval)"
    return f"{low * 100:.1f}–{high * 100:.1f} %"


def _rate(responders: int, n: int, rate: float | None) -> str:
    return f"{responders}/{n}" + ("" if rate is None else f" = {rate * 100:.1f} %")


def _print_tables(
    name: str,
    label: str,
    published: pl.DataFrame,
    side_by_side: pl.DataFrame | None,
    omitted: tuple[str, ...],
    caveat: str,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{name}[/bold] — {label}")
    console.print(caveat)
    grid = Table(title="Published counts (exact 95 % intervals recomputed from the counts)")
    for column in ("study", "endpoint", "time point", "rate", "95 % CI", "verified"):
        grid.add_column(column, no_wrap=column != "time point")
    for row in published.iter_rows(named=True):
        grid.add_row(
            row["study_id"],
            row["endpoint"],
            row["time_point"],
            _rate(row["responders"], row["denominator"], row["rate"]),
            _interval(row["ci_low"], row["ci_high"]),
            "yes" if row["verified"] else "NO — unverified",
        )
    console.print(grid)
    for row in published.unique("study_id", maintain_order=True).iter_rows(named=True):
        console.print(
            f"[bold]{row['study_id']}[/bold]: {row['citation']}. {row['design']}, "
            f"{row['n_enrolled']} enrolled ({row['population']}); {row['product_source']} "
            f"{row['route']}, dose {row['dose']}; schedule {row['schedule']}."
        )
    for row in published.iter_rows(named=True):
        console.print(
            f"{row['study_id']} {row['endpoint']}: missing data — {row['missing_rule']}. "
            f"{row['source_note']}"
        )
    if omitted:
        console.print("Not shipped as data:")
        for item in omitted:
            console.print(f"  - {item}")
    if side_by_side is not None:
        first = side_by_side.row(0, named=True)
        console.print(
            f"Side by side — {first['endpoint']} at time point {first['time_point']!r}, "
            f"missing data: {first['missing_rule']!r}. Descriptive only: no test, no pooling."
        )
        beside = Table(title="Published and cohort rates, exact 95 % intervals")
        for column in ("source", "label", "visit (day)", "rate", "95 % CI"):
            beside.add_column(column, no_wrap=column in ("rate", "95 % CI"))
        for row in side_by_side.iter_rows(named=True):
            beside.add_row(
                row["source"],
                row["label"],
                "" if row["visit"] is None else f"{row['visit']} ({row['day']})",
                _rate(row["responders"], row["n"], row["rate"]),
                _interval(row["ci_low"], row["ci_high"]),
            )
        console.print(beside)
