"""`psotrack model …`: the virtual-patient model itself, exported for other tools (simulated)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``model`` command group to the psotrack application."""
    group = typer.Typer(
        help="The virtual-patient model: export it to re-run elsewhere (a research model).",
        no_args_is_help=True,
    )
    group.command("export-sbml")(export_sbml)
    app.add_typer(group, name="model")


def export_sbml(
    output: Annotated[Path, typer.Option("--output", help="SBML file to write (.xml).")],
    schedule: Annotated[
        str,
        typer.Option("--schedule", help="Doses as SBML events, e.g. 'uc-msc-iv:1e6/kg x3 q4w'."),
    ] = "untreated",
    initial: Annotated[
        str,
        typer.Option("--initial", help="Start from the published 'plaque' or 'healthy' state."),
    ] = "plaque",
) -> None:
    """Write the model as SBML Level 3 Version 2 (COPASI, libRoadRunner …); outputs SIMULATED."""
    from psotrack.interop.files import check_output_path, write_text_atomically
    from psotrack.model.sbml import sbml_document

    check_output_path(output)
    text = sbml_document(schedule, initial)  # a bad schedule or state stops here (exit 2)
    write_text_atomically(text, output)
    typer.echo(
        f"wrote {output} (SBML L3V2, schedule {schedule!r}, from the {initial} state): "
        "a research model, every output simulated",
        err=True,
    )
