"""`psotrack simulate calibrate`: each published target, fitted or held out, beside the simulation.

Without ``--fit`` the model runs at its stored defaults and each simulated interval is the exact
binomial one of one population (sampling noise only). With ``--fit`` the posterior of the fitted
parameters is sampled first (:mod:`psotrack.model.posterior`, on ``--n`` patients with
``--seed``) and every simulated interval propagates it. ``--plot`` writes the profile grid of the
cell-therapy parameters with its ridge (and the posterior draws). All simulated.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from psotrack.cli.number_options import seed as seed_option
from psotrack.cli.number_options import whole_number
from psotrack.errors import ValidationError

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from psotrack.model.posterior import Posterior

PLOT_SUFFIXES = (".svg", ".png")


def calibrate(
    n: Annotated[
        int,
        typer.Option("--n", help="Virtual patients per target arm.", parser=whole_number("--n")),
    ] = 300,
    seed: Annotated[
        int, typer.Option("--seed", help="Population seed (fit and report).", parser=seed_option)
    ] = 2022,
    fit: Annotated[
        bool,
        typer.Option("--fit", help="Sample the posterior first; intervals propagate it (slow)."),
    ] = False,
    walkers: Annotated[
        int, typer.Option("--walkers", help="emcee walkers.", parser=whole_number("--walkers"))
    ] = 8,
    steps: Annotated[
        int, typer.Option("--steps", help="emcee steps per walker.", parser=whole_number("--steps"))
    ] = 25,
    burn: Annotated[
        int,
        typer.Option("--burn", help="Steps discarded as burn-in.", parser=whole_number("--burn")),
    ] = 10,
    draws: Annotated[
        int,
        typer.Option(
            "--draws",
            help="Posterior draws simulated for the intervals.",
            parser=whole_number("--draws"),
        ),
    ] = 40,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write the profile grid and ridge plot (.svg or .png)."),
    ] = None,
    placebo_n: Annotated[
        int | None,
        typer.Option(
            "--placebo-n",
            help="Virtual patients for the untreated arm's targets (default: max(--n, 10000)).",
            parser=whole_number("--placebo-n"),
        ),
    ] = None,
) -> None:
    """Print each published calibration target, fitted or held out, beside the simulation."""
    from rich.console import Console
    from rich.progress import Progress

    from psotrack.model.calibration import FIT_GROUPS, PLACEBO_PATIENTS, calibration_report
    from psotrack.model.posterior import check_sampler, posterior_report, sample_posterior

    if n < 10:
        raise ValidationError("n", n, "10 or more virtual patients")
    if placebo_n is not None and placebo_n < 10:
        raise ValidationError("placebo_n", placebo_n, "10 or more virtual patients")
    check_sampler(walkers, steps, burn, draws)
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise ValidationError("plot", str(plot), "a file name ending .svg or .png", "invalid")
    if plot is not None and not plot.parent.is_dir():
        raise ValidationError("plot", str(plot), "a file in an existing folder", "invalid")
    console = Console()
    console.print("[bold]SIMULATED[/bold] — virtual patients; not a result about any therapy.")
    posterior = None
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        if fit:
            total = len(FIT_GROUPS) * walkers * (steps + 1) + draws
            task = progress.add_task("sampling the posterior (emcee)", total=total)
            posterior = sample_posterior(
                n, seed, walkers, steps, burn, on_evaluation=lambda: progress.advance(task)
            )
            progress.update(task, description="simulating the targets at posterior draws")
            report = posterior_report(
                posterior, n, seed, draws, lambda: progress.advance(task), placebo_n
            )
        else:
            task = progress.add_task("simulating the calibration targets", total=None)
            report = calibration_report(n=n, seed=seed, placebo_n=placebo_n)
        if plot is not None:
            progress.update(task, description="simulating the profile grid")
            _write_plot(plot, n, seed, posterior)
    elapsed = time.perf_counter() - started
    if posterior is not None:
        _print_posterior(console, posterior, elapsed)
    _print_report(console, report, fitted=posterior is not None)
    placebo = placebo_n if placebo_n is not None else max(n, PLACEBO_PATIENTS)
    console.print(
        f"untreated (placebo) arm: its own population of {placebo} patients, same seed "
        "(--placebo-n; docs/model.md 5.3)"
    )
    if plot is not None:
        console.print(f"wrote {plot}")


def _write_plot(path: Path, n: int, seed: int, posterior: Posterior | None) -> None:
    from psotrack.model.calibration import FIT_GROUPS
    from psotrack.model.identifiability import plot_ridge, profile_grid
    from psotrack.model.population import build_population

    grid = profile_grid(build_population(n, seed), seed + 1)
    if posterior is not None:
        posterior.plot(path, grid)
    else:
        plot_ridge(grid, path, FIT_GROUPS["cell_therapy"][1][0])


def _print_posterior(console: Console, posterior: Posterior, elapsed: float) -> None:
    from rich.table import Table

    table = Table(title="Posterior of the fitted parameters (median, 95 % credible interval)")
    for column in ("parameter", "group", "prior centre", "median", "95 % CrI", "acceptance"):
        table.add_column(column)
    for row in posterior.summary().iter_rows(named=True):
        table.add_row(
            row["parameter"],
            row["group"],
            f"{row['prior_centre']:.3g}",
            f"{row['median']:.3g}",
            f"{row['low']:.3g}–{row['high']:.3g}",
            f"{row['acceptance']:.2f}",
        )
    console.print(table)
    console.print(
        f"posterior: n = {posterior.n} virtual patients, seed {posterior.seed}, "
        f"{posterior.walkers} walkers × {posterior.steps} steps (burn-in {posterior.burn}), "
        f"{posterior.evaluations} model evaluations, {elapsed:.0f} s in all; short chains "
        "give a rough posterior (raise --steps for a closer one)"
    )


def _print_report(console: Console, report: pl.DataFrame, fitted: bool) -> None:
    from rich.table import Table

    from psotrack.model.calibration import met_by_role

    table = Table(title="Calibration — SIMULATED patients beside published figures")
    for column in ("target", "role", "endpoint", "day", "published", "published CI"):
        table.add_column(column)
    for column in ("simulated", "simulated interval", "met", "pred. p"):
        table.add_column(column)
    for row in report.iter_rows(named=True):
        table.add_row(
            row["target"],
            row["role"],
            row["endpoint"],
            str(row["day"]),
            row["published"],
            _interval(row["published_low"], row["published_high"], unit=_UNITS.get(row["kind"])),
            row["simulated"],
            simulated_interval(row),
            "yes" if row["met"] else "NO",
            "" if row["predictive_p"] is None else f"{row['predictive_p']:.2f}",
        )
    console.print(table)
    counts = met_by_role(report)
    missed = report.filter(~report["met"])["target"].to_list()
    console.print(
        "; ".join(f"{role}: {met}/{total} targets met" for role, (met, total) in counts.items())
        + (f"; not met: {', '.join(missed)}" if missed else "")
    )
    console.print(
        "simulated intervals: "
        + (
            "95 % propagated — each posterior draw simulated on the same population, its "
            "rate x/n drawn from Beta(x + ½, n − x + ½), pooled quantiles over draws"
            if fitted
            else "exact 95 % binomial of one population at the stored defaults (sampling noise "
            "only; --fit propagates the posterior)"
        )
    )
    console.print(
        "pred. p: two-sided predictive p-value of the published count at its own n. "
        "Sources and assumptions: psotrack/data/calibration_targets.json."
    )


#: Interval formats of the targets that are not shares: a decline rate, a median in days.
_UNITS = {"time_course": "{:.3f}–{:.3f}/day", "relapse_median": "{:.0f}–{:.0f} days"}


def simulated_interval(row: Mapping[str, Any]) -> str:
    """A calibration report row's simulated interval as text, in the unit of its target's kind."""
    return _interval(
        row["simulated_low"],
        row["simulated_high"],
        row["kind"] == "drift",
        unit=_UNITS.get(row["kind"]),
    )


def _interval(
    low: float | None, high: float | None, percent_points: bool = False, unit: str | None = None
) -> str:
    if low is None or high is None:
        return ""
    if unit is not None:
        return unit.format(low, high)
    if percent_points:
        return f"{low:+.2f} to {high:+.2f} %"
    return f"{low:.1%}–{high:.1%}"
