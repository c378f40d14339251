"""Benchmark: the cohort report of a 1 000-patient cohort (issue 16), step by step.

Run: ``.venv/bin/python benchmarks/bench_cohort_report.py [--patients 1000]
[--seed-patients 50] [--repeats 3]``.

Set-up (not timed): a SQLite file in ``.bench-cache/`` gets the synthetic demo of
``--seed-patients`` patients through the services, then copies of their rows until it holds
``--patients`` (:func:`bench_interop.grow_cohort`); the file is kept and reused.

Timed, ``--repeats`` times after one warm-up run (matplotlib's and Typst's first use), as the
command runs them: the data read (``cohort_report``: one transaction, the endpoint engine, the
statistics), the figures alone (``draw_cohort_figures``), the view and its HTML, the PDF step
alone (Typst), and the total of read + figures + view + PDF. The median of the repeats is
printed. Target: the whole 1 000-patient PDF in ≤ 8 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench_interop import grow_cohort
from psotrack.reports.cohort_report import (
    cohort_view,
    draw_cohort_figures,
    render_cohort_html,
    render_cohort_pdf,
)
from psotrack.services.cohort_report import cohort_report
from psotrack.services.context import Database
from psotrack.services.demo import build_demo, count_patients
from psotrack.services.users import actor_named
from psotrack.store import make_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
TARGET_S = 8.0
PRINTED = datetime(2026, 12, 1, tzinfo=UTC)


def prepare(patients: int, seed_patients: int, console: Console) -> Database:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"cohort-report-{patients}.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=CACHE / "photos")
    if count_patients(db) == 0:
        started = time.perf_counter()
        with console.status(f"building a {patients}-patient synthetic demo (once)…"):
            build_demo(db, patients=min(patients, seed_patients), seed=11)
            grow_cohort(engine, patients)
        console.print(f"demo built in {time.perf_counter() - started:.0f} s ({path.name})")
    return db


def one_run(db: Database) -> tuple[dict[str, float], int, int]:
    """The seconds of each step, the PDF's size in bytes and the patients reported."""
    actor = actor_named(db, "demo-researcher")
    times = {}
    start = time.perf_counter()
    report = cohort_report(db, actor)
    times["data read"] = time.perf_counter() - start
    mark = time.perf_counter()
    images = draw_cohort_figures(report)
    times["figures"] = time.perf_counter() - mark
    mark = time.perf_counter()
    view = cohort_view(report, images, generated_at=PRINTED)
    render_cohort_html(view, images)
    times["view + HTML"] = time.perf_counter() - mark
    mark = time.perf_counter()
    pdf = render_cohort_pdf(view, images)
    times["PDF step (Typst)"] = time.perf_counter() - mark
    times["total PDF report"] = (
        times["data read"] + times["figures"] + times["PDF step (Typst)"]
        + (times["view + HTML"])  # the view is needed by the PDF; the HTML adds ~ms
    )  # fmt: skip
    return times, len(pdf), report.patients


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed-patients", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    met = report_steps(Console(), args.patients, args.seed_patients, args.repeats)
    return 0 if met else 1


def report_steps(console: Console, patients: int, seed_patients: int, repeats: int) -> bool:
    """Time and print each step; whether the target was met."""
    db = prepare(patients, seed_patients, console)
    one_run(db)  # warm-up: imports, matplotlib's fonts, Typst's first compile
    runs = [one_run(db) for _ in range(repeats)]
    steps = list(runs[0][0])
    grid = Table(title=f"Cohort report, {runs[0][2]} patients (median of {repeats} runs)")
    grid.add_column("step")
    grid.add_column("seconds", justify="right")
    for step in steps:
        grid.add_row(step, f"{statistics.median(r[0][step] for r in runs):.2f}")
    console.print(grid)
    total = statistics.median(r[0]["total PDF report"] for r in runs)
    console.print(f"PDF {runs[0][1] / 1024:.0f} KiB; target ≤ {TARGET_S:.0f} s: "
                  + ("met" if total <= TARGET_S else "NOT met"))  # fmt: skip
    return total <= TARGET_S


if __name__ == "__main__":
    sys.exit(main())
