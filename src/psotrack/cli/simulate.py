"""`psotrack simulate …`: in-silico trials and the model's calibration report (all simulated).

``simulate trial`` writes trajectories (Parquet and CSV), responder rates, an optional power
estimate, a plot and a README into a temporary folder beside ``--output`` and renames it into
place, so the output folder appears complete or not at all. ``simulate calibrate``
(:mod:`psotrack.cli.calibrate`) prints each published calibration target beside the simulated
value. Nothing here is a result about any therapy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from psotrack.cli import sensitivity
from psotrack.cli.calibrate import calibrate
from psotrack.cli.number_options import decimal_number, whole_number
from psotrack.cli.number_options import seed as seed_option
from psotrack.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl

    from psotrack.model.trial import TrialResult

README: Final = """SIMULATED DATA — psotrack virtual-patient model

Every number in this folder comes from simulated virtual patients of the psotrack model of
psoriasis immunology and cell therapy. It describes no real patient and is not a result about
any therapy: the model's therapy parameters are assumptions calibrated to a few published
figures (see `psotrack simulate calibrate`).

Command: {command}
Arms: {arms}
Patients per arm: {n}; weeks: {weeks}; seed: {seed}; inclusion: baseline PASI >= {min_pasi:g}

Files
- trajectories.parquet / trajectories.csv: one row per patient and weekly visit (PASI, sign
  grades, regional area %, Treg %, Th17 %, serum IL-17 with assay noise); simulated = true.
- rates.csv: PASI 50/75/90 responder rates per arm and visit, from the endpoint engine
  (non-responder imputation, exact 95 % Clopper-Pearson intervals).
- power.csv (with --replicates): share of simulated trials with a significant difference at
  the final visit (two-sided Fisher exact test), with its exact interval; arm_rate and
  reference_rate (mean responder shares: a reference arm that never responds makes a few
  responders significant); with --null, false_positive_rate: the same share when the cell
  arm is its own null (every MSC Emax 0).
- With --null, each cell-therapy arm has a null arm beside it, "<arm> (null: MSC Emax 0)":
  the same schedule given to other virtual patients with the cells' effects set to zero.
- rates.png: the PASI 75 rates over time with their intervals.
"""

ArmOption = Annotated[
    list[str],
    typer.Option(
        "--arm", help="An arm schedule, repeatable: 'control', 'uc-msc-iv:1e6/kg x3 q4w' …"
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command group to the psotrack application."""
    group = typer.Typer(
        help="Simulated trials and calibration of the virtual-patient model (all simulated).",
        no_args_is_help=True,
    )
    group.command("trial")(trial)
    group.command("calibrate")(calibrate)
    sensitivity.register(group)
    app.add_typer(group, name="simulate")


def trial(
    arm: ArmOption,
    output: Annotated[Path, typer.Option("--output", help="Folder to create with the results.")],
    n: Annotated[
        int, typer.Option("--n", help="Virtual patients per arm.", parser=whole_number("--n"))
    ] = 100,
    weeks: Annotated[
        int, typer.Option("--weeks", help="Weeks of follow-up.", parser=whole_number("--weeks"))
    ] = 26,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: same seed, same output.", parser=seed_option)
    ] = 1,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates",
            help="Simulated trials for a power estimate.",
            parser=whole_number("--replicates"),
        ),
    ] = None,
    min_pasi: Annotated[
        float,
        typer.Option(
            "--min-pasi",
            help="Inclusion: baseline PASI at least this.",
            parser=decimal_number("--min-pasi"),
        ),
    ] = 10.0,
    match_baseline: Annotated[
        bool,
        typer.Option(
            "--match-baseline",
            help="Select patients so their baseline PASI follows 900 public (synthetic, CC0) "
            "trial baselines (PSI 2021; Allen 2016 acceptance-rejection).",
        ),
    ] = False,
    null: Annotated[
        bool,
        typer.Option(
            "--null",
            help="Beside each cell-therapy arm, the same schedule with every MSC Emax 0 "
            "(a product without effect), in the rates and the power table.",
        ),
    ] = False,
) -> None:
    """Simulate a parallel-group trial; write trajectories, rates, plot and power (SIMULATED)."""
    from rich.console import Console
    from rich.progress import Progress

    from psotrack.interop.files import check_output_folder
    from psotrack.model.therapies import parse_schedule
    from psotrack.model.trial import power_estimate, simulate_trial

    for text in arm:
        parse_schedule(text)  # a bad arm stops here (exit 2) before any work
    check_output_folder(output)
    if replicates is not None and replicates < 1:
        raise ValidationError("replicates", replicates, "1 or more simulated trials")
    console = Console(stderr=True)
    console.print("[bold]SIMULATED[/bold] — virtual patients; not a result about any therapy.")
    if match_baseline:
        console.print(
            "Baseline PASI matched to 900 synthetic public baselines (PSI 2021, CC0) by "
            "acceptance-rejection (Allen 2016); see docs/model.md section 8."
        )
    with Progress(console=console, transient=True) as progress:
        cells = sum(parse_schedule(text).cell_therapy is not None for text in arm) if null else 0
        task = progress.add_task("simulating arms", total=len(arm) + cells + 2)
        result = simulate_trial(
            arm,
            n,
            weeks,
            seed,
            min_pasi,
            on_arm=lambda _: progress.advance(task),
            match_baseline=match_baseline,
            null=null,
        )
        power = None
        if replicates is not None:
            progress.update(task, description=f"power: {replicates} simulated trials")
            power = power_estimate(
                arm,
                n,
                weeks,
                replicates,
                seed,
                min_pasi=min_pasi,
                match_baseline=match_baseline,
                null=null,
            )
        progress.advance(task)
        progress.update(task, description="writing files")
        _write_folder(result, power, output, min_pasi)
        progress.advance(task)
    final = result.summary().filter(result.summary()["endpoint"] == "PASI75")
    for row in final.iter_rows(named=True):
        console.print(
            f"{row['arm']}: PASI 75 at {row['visit']} {row['responders']}/{row['n']} "
            f"({row['ci_low']:.1%}–{row['ci_high']:.1%}) (simulated)"
        )
    console.print(f"wrote {output}")


def _write_folder(
    result: TrialResult, power: pl.DataFrame | None, output: Path, min_pasi: float
) -> None:
    from psotrack.interop.files import write_csv_atomically

    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        result.trajectories.write_parquet(staging / "trajectories.parquet")
        write_csv_atomically(result.trajectories, staging / "trajectories.csv")
        write_csv_atomically(result.rates, staging / "rates.csv")
        if power is not None:
            write_csv_atomically(power, staging / "power.csv")
        plot_rates(result.rates, staging / "rates.png")
        from psotrack.model.trial import NULL_SUFFIX

        given = [a for a in result.arms if not a.endswith(NULL_SUFFIX)]
        null = ["--null"] if len(given) < len(result.arms) else []
        command = " ".join(["psotrack simulate trial", *(f"--arm '{a}'" for a in given), *null])
        (staging / "README.txt").write_text(
            README.format(
                command=command,
                arms="; ".join(result.arms),
                n=result.n,
                weeks=result.weeks,
                seed=result.seed,
                min_pasi=min_pasi,
            ),
            encoding="utf-8",
        )
        if output.exists():
            output.rmdir()  # checked empty above; rename cannot replace a non-empty folder
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def plot_rates(rates: pl.DataFrame, path: Path, endpoint: str = "PASI75") -> None:
    """PASI 75 rate over time per arm with its interval, labelled simulated (Agg, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from psotrack.model.trial import LABEL

    figure = Figure(figsize=(8, 5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    shown = rates.filter(rates["endpoint"] == endpoint).sort("day")
    for arm in shown["arm"].unique(maintain_order=True).to_list():
        part = shown.filter(shown["arm"] == arm)
        weeks = (part["day"] / 7).to_list()
        axes.plot(weeks, (part["rate"] * 100).to_list(), marker="o", markersize=3, label=arm)
        axes.fill_between(
            weeks, (part["ci_low"] * 100).to_list(), (part["ci_high"] * 100).to_list(), alpha=0.2
        )
    axes.set_xlabel("week")
    axes.set_ylabel(f"{endpoint} responders, % (95 % exact CI, NRI)")
    axes.set_ylim(0, 100)
    axes.set_title(f"{LABEL}\n{endpoint} response by arm — virtual patients")
    axes.legend(loc="best", fontsize="small")
    figure.text(0.99, 0.01, "SIMULATED", ha="right", va="bottom", color="firebrick")
    figure.savefig(path, dpi=100)
