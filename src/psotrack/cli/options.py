"""Options several commands share, declared once (the same flag reads the same everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ExportUser = Annotated[
    str,
    typer.Option("--user", help="Your psotrack user name: the export runs and is audited as you."),
]
ImportUser = Annotated[
    str, typer.Option("--user", help="Your psotrack user name: the import is audited as you.")
]
ProgramName = Annotated[str, typer.Option(help="Name of the program the patients follow.")]
CreateProgram = Annotated[
    bool, typer.Option("--create-program", help="Create the program if it does not exist.")
]
Synthetic = Annotated[
    bool, typer.Option("--synthetic", help="Mark the imported patients as synthetic data.")
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check and report everything; store nothing.")
]
PhotoDir = Annotated[
    Path | None,
    typer.Option("--photo-dir", help="The photo folder; default PSOTRACK_PHOTO_DIR."),
]
