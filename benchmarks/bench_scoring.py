"""Benchmark: vectorised PASI over 10 million rows against a per-row loop over the scalar PASI.

Run: ``.venv/bin/python benchmarks/bench_scoring.py [--rows N] [--loop-rows M] [--seed S]``.
Prints rows/second for each path, their ratio (measured in this same run), the peak memory of the
batch (tracemalloc, which sees NumPy's buffers) and the process's peak resident size.
Targets on the project's 2-core machine: batch ≥ 30 M rows/s, ≥ 100× the loop, < 1 GB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc

import numpy as np
from rich.console import Console
from rich.progress import Progress

from psotrack.instruments.pasi import REGIONS, SIGNS, PasiInput, RegionScore, pasi
from psotrack.instruments.pasi_batch import SCORE_COLUMNS, pasi_batch

TARGET_ROWS_PER_S = 30e6
TARGET_RATIO = 100
TARGET_PEAK_BYTES = 1 << 30


def random_columns(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.integers(0, 7 if name.endswith("_area") else 5, n, dtype=np.int8)
        for name in SCORE_COLUMNS
    }


def time_batch(columns: dict[str, np.ndarray], repeats: int) -> tuple[float, float, int]:
    """First (cold) and best wall time of ``repeats`` batch runs, and one run's traced peak."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pasi_batch(columns)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    pasi_batch(columns)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return times[0], min(times), peak


def score_loop(columns: dict[str, np.ndarray]) -> list[str]:
    """Score row by row the way a script would: build the scalar input, call ``pasi``."""
    rows = {name: values.tolist() for name, values in columns.items()}
    totals = []
    for i in range(len(rows[SCORE_COLUMNS[0]])):
        parts = {
            region: RegionScore(
                *(rows[f"{region}_{sign}"][i] for sign in SIGNS), rows[f"{region}_area"][i]
            )
            for region in REGIONS
        }
        totals.append(str(pasi(PasiInput(**parts)).total))
    return totals


def time_loop(columns: dict[str, np.ndarray]) -> float:
    start = time.perf_counter()
    score_loop(columns)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--loop-rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating random valid rows", total=4)
        batch_columns = random_columns(args.rows, args.seed)
        input_bytes = sum(v.nbytes for v in batch_columns.values())
        progress.update(task, advance=1, description=f"batch: {args.rows:,} rows")
        cold_s, batch_s, batch_peak = time_batch(batch_columns, args.repeats)
        rss_after_batch = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        progress.update(task, advance=1, description="checking batch == loop on 1,000 rows")
        sample = {k: v[:1000] for k, v in batch_columns.items()}
        batch_text = pasi_batch(sample).totals_text()
        loop_text = score_loop(sample)
        if batch_text != loop_text:
            console.print("[red]batch and scalar totals differ[/red]")
            return 1
        progress.update(task, advance=1, description=f"loop: {args.loop_rows:,} rows")
        loop_s = time_loop(random_columns(args.loop_rows, args.seed + 1))
        progress.update(task, advance=1)
    batch_rate = args.rows / batch_s
    loop_rate = args.loop_rows / loop_s
    ratio = batch_rate / loop_rate
    checks = [
        (
            "batch rows/s",
            f"{batch_rate / 1e6:,.1f} M",
            f"≥ {TARGET_ROWS_PER_S / 1e6:.0f} M",
            batch_rate >= TARGET_ROWS_PER_S,
        ),
        ("batch rows/s, first (cold) run", f"{args.rows / cold_s / 1e6:,.1f} M", "", True),
        ("loop rows/s", f"{loop_rate:,.0f}", "baseline", True),
        ("batch / loop", f"{ratio:,.0f}×", f"≥ {TARGET_RATIO}×", ratio >= TARGET_RATIO),
        (
            "batch peak memory (traced, beyond the inputs)",
            f"{batch_peak / 2**20:,.0f} MiB",
            "",
            True,
        ),
        (
            "process peak RSS incl. inputs",
            f"{rss_after_batch / 2**20:,.0f} MiB",
            "< 1024 MiB",
            rss_after_batch < TARGET_PEAK_BYTES,
        ),
    ]
    console.print(
        f"PASI scoring benchmark: batch {args.rows:,} rows (best of {args.repeats}, "
        f"{batch_s:.3f} s; inputs {input_bytes / 2**20:,.0f} MiB int8), "
        f"loop {args.loop_rows:,} rows ({loop_s:.2f} s)"
    )
    for name, value, target, ok in checks:
        mark = "" if not target or target == "baseline" else ("  ok" if ok else "  MISSED")
        console.print(f"  {name:<48} {value:>12}  {target}{mark}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
