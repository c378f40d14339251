"""`psotrack simulate sensitivity`: Sobol indices and the bistability map, CSV and HTML (SIMULATED).

Writes ``sobol.csv``, ``bistability.csv``, ``report.html`` and ``README.txt`` into a temporary
folder beside ``--output`` and renames it into place
(:func:`psotrack.interop.files.folder_written_whole`). Nothing here is a result about any therapy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Final

import typer

from psotrack.cli.number_options import seed as seed_option
from psotrack.cli.number_options import whole_number
from psotrack.errors import ValidationError

MAX_PATIENTS: Final = 2000
MAX_BASE_SAMPLES: Final = 1024
README: Final = """SIMULATED DATA — psotrack virtual-patient model: sensitivity and bistability

Every number here comes from simulated virtual patients. It describes no real patient and is
not a result about any therapy.

Command: psotrack simulate sensitivity --n {n} --samples {samples} --seed {seed}

Files
- sobol.csv: first-order (S1) and total (ST) Sobol indices per output and uncertain input,
  with SALib's 95 % bootstrap intervals; simulated = true.
- samples.csv: one row per Sobol sample (a virtual population): its input values and outputs.
- bistability.csv: per virtual patient (build_population(n, seed)), the T-cell recruitment and
  keratinocyte factors, baseline PASI and whether a stable healthy steady state exists.
- report.html: the same as charts and tables, one self-contained page.
"""


def register(group: typer.Typer) -> None:
    """Add ``sensitivity`` to the ``simulate`` command group."""
    group.command("sensitivity")(sensitivity)


def sensitivity(
    output: Annotated[Path, typer.Option("--output", help="Folder to create with the results.")],
    n: Annotated[
        int,
        typer.Option("--n", help="Virtual patients per sample.", parser=whole_number("--n")),
    ] = 100,
    samples: Annotated[
        int,
        typer.Option(
            "--samples",
            help="Base samples N (a power of 2); N·(inputs + 2) populations are simulated.",
            parser=whole_number("--samples"),
        ),
    ] = 16,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: same seed, same output.", parser=seed_option)
    ] = 1,
) -> None:
    """Sobol sensitivity of simulated PASI rates and the bistability map (SIMULATED)."""
    from rich.console import Console
    from rich.progress import Progress

    from psotrack.interop.files import (
        check_output_folder,
        folder_written_whole,
        write_csv_atomically,
    )
    from psotrack.model.population import build_population
    from psotrack.model.sensitivity import run_sobol
    from psotrack.reports.sensitivity_report import bistability_frame, render_report

    if not 2 <= n <= MAX_PATIENTS:
        raise ValidationError("--n", n, f"2–{MAX_PATIENTS} virtual patients per sample")
    if not 2 <= samples <= MAX_BASE_SAMPLES or samples & (samples - 1):
        raise ValidationError("--samples", samples, f"a power of 2 from 2 to {MAX_BASE_SAMPLES}")
    check_output_folder(output)
    console = Console(stderr=True)
    console.print("[bold]SIMULATED[/bold] — virtual patients; not a result about any therapy.")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Sobol samples (virtual populations)", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        start = time.perf_counter()
        result = run_sobol(n, samples, seed, on_chunk=advance)
        seconds = time.perf_counter() - start
        progress.update(task, description="bistability map")
        bistability = bistability_frame(build_population(n, seed))
        progress.update(task, description="writing files")
        with folder_written_whole(output) as folder:
            write_csv_atomically(result.summary(), folder / "sobol.csv")
            write_csv_atomically(result.sample_frame(), folder / "samples.csv")
            write_csv_atomically(bistability, folder / "bistability.csv")
            page = render_report(result, bistability, seconds)
            (folder / "report.html").write_text(page, encoding="utf-8")
            text = README.format(n=n, samples=samples, seed=seed)
            (folder / "README.txt").write_text(text, encoding="utf-8")
    stable = int(bistability["stable_healthy_state"].sum())
    console.print(
        f"{result.evaluations:,} patient simulations in {seconds:.1f} s; "
        f"{stable}/{bistability.height} virtual patients with a stable healthy state (simulated)"
    )
    console.print(f"wrote {output}")
