"""Benchmark: the MSC time course and the null scenario at review size (issue 18; all simulated).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_cell_kinetics.py [--n N] [--seed S]
[--replicates R]``. Prints, for one population (``build_population(n, seed)``, lab seed
``seed + 1``): the median PASI change at days 3, 7, 14 and 28 after one 1.5 × 10⁶ cells/kg IV
infusion, the share halving PASI within a week and the median early first-order decline rate,
beside the model's own single anti-IL-17 dose in the same patients; the PASI 75 counts over 12
weeks of the Cheng 2022 schedule (1.5 × 10⁶ cells/kg × 4 q2w) and of anti-IL-17 × 4 q4w; and the
power table with its null arm (17 per arm, PASI 75 at week 26). Targets: median early decline
≤ 0.11/day (published IL-17A blocker, models.md) at days 3 and 7; the null arm's false-positive
rate ≤ alpha. Wall time and model evaluations (patient-trajectories) are printed for each part.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import polars as pl
from rich.console import Console

from psotrack.model.population import build_population, simulate_arm
from psotrack.model.trial import power_estimate, simulate_trial

ONE_INFUSION = "uc-msc-iv:1.5e6/kg"
CHENG = "uc-msc-iv:1.5e6/kg x4 q2w"
PUBLISHED_IL17_DECLINE = 0.11  # 1/day, secukinumab (../shared/reference/models.md)
DAYS = [0, 3, 7, 14, 28]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--replicates", type=int, default=200)
    args = parser.parse_args(argv)
    console = Console()
    console.print("[bold]SIMULATED[/bold] — virtual patients; not a result about any therapy.")
    met = True

    start = time.perf_counter()
    population = build_population(args.n, args.seed)
    for arm in (ONE_INFUSION, "anti-il17"):
        frame = simulate_arm(population, arm, DAYS, args.seed + 1).sort("patient_id", "day")
        pasi = frame["pasi"].to_numpy().reshape(-1, len(DAYS))
        relative = pasi / pasi[:, :1]
        median = np.median(relative, axis=0)
        changes = ", ".join(
            f"day {d} {100 * (m - 1):+.1f} %" for d, m in zip(DAYS[1:], median[1:], strict=True)
        )
        rates = [-math.log(median[k]) / DAYS[k] for k in (1, 2)]
        console.print(
            f"{arm}: median PASI {changes}; halve within a week "
            f"{100 * np.mean(relative[:, 2] <= 0.5):.1f} %; early decline "
            f"{rates[0]:.3f}/day (days 0–3), {rates[1]:.3f}/day (days 0–7)"
        )
        if arm == ONE_INFUSION:
            met &= max(rates) <= PUBLISHED_IL17_DECLINE
    console.print(
        f"  ({2 * args.n} patient-trajectories, {time.perf_counter() - start:.1f} s; target "
        f"≤ {PUBLISHED_IL17_DECLINE}/day for the MSC arm)"
    )

    start = time.perf_counter()
    trial = simulate_trial([CHENG, "anti-il17 x4 q4w", "control"], args.n, 12, args.seed)
    table = (
        trial.rates.filter(pl.col("endpoint") == "PASI75", pl.col("day").is_in([7, 14, 28, 84]))
        .pivot(on="visit", index="arm", values="responders")
        .sort("arm")
    )
    console.print(f"PASI 75 responders of {args.n} by visit:")
    console.print(str(table))
    console.print(f"  ({3 * args.n} patient-trajectories, {time.perf_counter() - start:.1f} s)")

    start = time.perf_counter()
    power = power_estimate([CHENG, "control"], 17, 26, args.replicates, args.seed, null=True)
    row = power.row(0, named=True)
    console.print(
        f"power, 17 per arm, PASI 75 week 26, {args.replicates} trials: {row['power']:.1%} "
        f"({row['ci_low']:.1%}–{row['ci_high']:.1%}); arm rate {row['arm_rate']:.1%}, "
        f"reference rate {row['reference_rate']:.1%}, null false-positive rate "
        f"{row['false_positive_rate']:.1%} (alpha {row['alpha']:g})"
    )
    met &= row["false_positive_rate"] <= row["alpha"]
    console.print(
        f"  ({3 * 17 * args.replicates} patient-trajectories, {time.perf_counter() - start:.1f} s)"
    )
    console.print("targets met" if met else "targets NOT met")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
