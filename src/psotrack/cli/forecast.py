"""`psotrack forecast`: one patient's simulated on-track forecast from their long PASI table.

The input is one patient's rows of the endpoint engine's long format (``patient_id, visit, day,
pasi`` and optionally ``treg_pct``, ``th17_pct``, ``il17_pg_ml``); day 0 is the first dose of
``--schedule``. The method is in :mod:`psotrack.model.forecast`. Every number printed or written
is simulated by a model and is not a prediction of any therapy's effect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from psotrack.cli.number_options import seed as seed_option
from psotrack.cli.number_options import whole_number

if TYPE_CHECKING:
    from psotrack.model.forecast import Forecast


def register(app: typer.Typer) -> None:
    """Add the ``forecast`` command to the psotrack application."""
    app.command("forecast")(forecast)


def forecast(
    input_path: Annotated[Path, typer.Option("--input", help="One patient's long CSV.")],
    schedule: Annotated[
        str,
        typer.Option("--schedule", help="The therapy schedule, e.g. 'uc-msc-iv:1.5e6/kg x3 q4w'."),
    ],
    weeks: Annotated[
        int, typer.Option("--weeks", help="Weeks to forecast.", parser=whole_number("--weeks"))
    ] = 12,
    particles: Annotated[
        int,
        typer.Option(
            "--particles",
            help="Virtual patients in the particle filter.",
            parser=whole_number("--particles"),
        ),
    ] = 500,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: same seed, same forecast.", parser=seed_option)
    ] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the weekly forecast table as CSV.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecast as JSON.")] = False,
) -> None:
    """Forecast one patient's next weeks of PASI with an 80 % band (SIMULATED)."""
    from psotrack.cli.endpoints import read_assessment_csv
    from psotrack.interop.files import check_output_path, write_csv_atomically
    from psotrack.model.forecast import forecast_patient, patient_record
    from psotrack.model.therapies import parse_schedule

    if output is not None:
        check_output_path(output, inputs=[input_path])
    parsed = parse_schedule(schedule)
    record = patient_record(read_assessment_csv(input_path))
    result = forecast_patient(record, parsed, weeks=weeks, particles=particles, seed=seed)
    if output is not None:
        write_csv_atomically(result.table, output)
    if as_json:
        typer.echo(json.dumps(forecast_json(result), indent=2))
    else:
        typer.echo(render(result))
    if output is not None and not as_json:
        typer.echo(f"wrote {output}")


def forecast_json(result: Forecast) -> dict[str, Any]:
    """The forecast as plain JSON-ready values (labelled simulated)."""
    return {
        "label": result.label,
        "simulated": True,
        "patient_id": result.patient_id,
        "schedule": result.schedule,
        "course": result.course,
        "latest_day": result.latest_day,
        "latest_change_pct": result.latest_change_pct,
        "expected_change_pct": list(result.expected_change_pct)
        if result.expected_change_pct is not None
        else None,
        "particles": result.particles,
        "effective_sample_size": result.effective_sample_size,
        "predictive_p": result.predictive_p,
        "band_withheld": result.band_withheld,
        "warning": result.warning,
        "seed": result.seed,
        "observed": result.observed.to_dicts(),
        "forecast": result.table.to_dicts(),
    }


def render(result: Forecast) -> str:
    """Plain-text report: label, classification, observed readings and the weekly table."""
    from psotrack.model.forecast import COURSE_TEXT

    lines = [result.label, f"patient {result.patient_id}; schedule {result.schedule}"]
    course = COURSE_TEXT[result.course]
    if result.expected_change_pct is not None and result.latest_change_pct is not None:
        low, high = result.expected_change_pct
        course += (
            f": day {result.latest_day} PASI change {result.latest_change_pct:+.1f} % vs "
            f"expected {low:+.1f} % to {high:+.1f} % (10th–90th percentile, simulated)"
        )
    lines.append(f"course (simulated): {course}")
    if result.warning is not None:
        lines.append(f"warning: {result.warning}")
    lines += ["", "observed", "visit  day   PASI  change %"]
    for row in result.observed.iter_rows(named=True):
        pasi = "   NA" if row["pasi"] is None else f"{row['pasi']:5.1f}"
        change = "" if row["change_pct"] is None else f"{row['change_pct']:+8.1f}"
        lines.append(f"{row['visit']:<6} {row['day']:>4} {pasi} {change}")
    lines += [
        "",
        f"forecast (simulated; {result.particles} particles, "
        f"effective sample size {result.effective_sample_size:.0f}, seed {result.seed})",
        "week  day  median   p10   p90   expected p10–p90",
    ]
    for row in result.table.iter_rows(named=True):
        band = (
            f"{'withheld':>19}"
            if row["median"] is None
            else f"{row['median']:7.1f} {row['p10']:5.1f} {row['p90']:5.1f}"
        )
        lines.append(
            f"{row['week']:>4} {row['day']:>4} {band}   "
            f"{row['expected_p10']:5.1f}–{row['expected_p90']:.1f}"
        )
    return "\n".join(lines)
