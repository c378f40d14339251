"""`psotrack report patient|cohort`: the progress reports, written as one HTML or PDF file.

Every report is read as the user named by ``--user`` (their role decides what they may read; a
patient report shows identified records), drawn from the services and the endpoint engine, and
written whole or not at all. ``--generated-at`` fixes the printed date, so that the same data
give the same report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Write progress reports (HTML or PDF).", no_args_is_help=True)

OutputOption = Annotated[
    Path, typer.Option("--output", help="The report file to write (replaced whole if it exists).")
]
FormatOption = Annotated[str, typer.Option("--format", help="pdf (default) or html.")]
UserOption = Annotated[
    str,
    typer.Option("--user", help="Your psotrack user name: the report is read as you."),
]
GeneratedAtOption = Annotated[
    str | None,
    typer.Option(
        "--generated-at",
        help="The date printed as the report's date (ISO 8601; default: now, UTC).",
    ),
]
PhotoDirOption = Annotated[
    Path | None,
    typer.Option("--photo-dir", help="The photo folder; default PSOTRACK_PHOTO_DIR."),
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")
