"""Benchmark: interoperability paths on a 1 000-patient cohort (issue 17).

Parts: the research export, then the CDISC export.

Run: ``.venv/bin/python benchmarks/bench_interop.py [--patients 1000] [--seed-patients 20]``.

Set-up (not timed): a SQLite file gets the synthetic demo cohort of ``--seed-patients`` patients
through the services, then copies of those patients' rows (new row numbers, research ids and
MRNs; photos and audit rows not copied) until it holds ``--patients`` patients — recording 1 000
patients one service call at a time would take many minutes on the project's 2-core machine.

Research export: ``research_dataset`` (one read transaction through the services, the column
rules, the audit row) plus ``write_research_export`` (parquet, then CSV, into a new folder),
timed end to end, with rows/s. Baselines measured in the same run: writing the same frames with
polars directly (no rules, no manifest, no atomic folder), and a plain SELECT of every exported
table (no rules). Target: ≤ 10 s for 1 000 patients.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import Engine, func, insert, select

from psotrack.interop.research_files import write_research_export
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.demo import build_demo
from psotrack.services.patients import create_user
from psotrack.services.research_export import research_dataset
from psotrack.services.research_tables import EXPORTED
from psotrack.store import make_engine, upgrade
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    ConcomitantTherapy,
    Enrollment,
    LabResult,
    Patient,
    PatientIdentity,
    SafetyFlag,
    Visit,
)
from psotrack.store.vocabulary import Role

TARGET_S = 10.0
#: Copied per patient, in an order that puts every row after the rows it points to.
COPIED = (
    Patient,
    PatientIdentity,
    Enrollment,
    Visit,
    Assessment,
    Administration,
    ConcomitantTherapy,
    LabResult,
    AdverseEvent,
    SafetyFlag,
)


def grow_cohort(engine: Engine, patients: int) -> None:
    """Copy the stored patients' rows until ``patients`` exist (bench set-up only: no audit)."""
    with engine.begin() as connection:
        tables = {model.__tablename__: model.__table__ for model in COPIED}
        tops = {
            name: int(connection.scalar(select(func.max(t.c.id))) or 0)
            for name, t in tables.items()
            if "id" in t.c
        }
        rows = {
            name: [dict(r) for r in connection.execute(select(t)).mappings()]
            for name, t in tables.items()
        }
        held = sorted(r["id"] for r in rows["patients"])
        copy = 0
        while (copy + 1) * len(held) < patients:
            copy += 1
            chosen = set(held[: min(len(held), patients - copy * len(held))])
            for name, table in tables.items():
                owner = "id" if name == "patients" else "patient_id"
                fresh = [
                    _copied(name, row, copy, tops) for row in rows[name] if row[owner] in chosen
                ]
                if fresh:
                    connection.execute(insert(table), fresh)


def _copied(name: str, row: dict[str, Any], copy: int, tops: dict[str, int]) -> dict[str, Any]:
    """The row of copy number ``copy``: every row number moved past the originals'."""

    def moved(table: str, value: int | None) -> int | None:
        return None if value is None else value + copy * tops[table]

    new = dict(row)
    if "id" in new:
        new["id"] = moved(name, row["id"])
    if "patient_id" in new:
        new["patient_id"] = moved("patients", row["patient_id"])
    for link, target in (("visit_id", "visits"), ("administration_id", "administrations")):
        if link in new:
            new[link] = moved(target, row[link])
    if name == "patients":
        new["research_id"] = f"PT-{new['id']:08X}"
    if name == "patient_identities":
        new["mrn"] = f"BENCH-{new['patient_id']:07d}"
    if name == "safety_flags":
        new["entity_id"] = moved(row["entity"], row["entity_id"])
    return new


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def bench_research_export(db: Database, researcher: Actor, console: Console) -> bool:
    """Time the research export (parquet and CSV) beside polars and a plain SELECT."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        results = {}
        for file_format in ("parquet", "csv"):

            def export(file_format: str = file_format) -> Any:
                dataset = research_dataset(db, researcher, dates="date-shift", seed=1)
                return write_research_export(dataset, out / file_format, file_format)

            seconds, written = timed(export)
            results[file_format] = (seconds, written.rows)
        dataset = research_dataset(db, researcher)
        rows = sum(t.frame.height for t in dataset.tables)

        def polars_only() -> None:
            (out / "plain").mkdir()
            for table in dataset.tables:
                table.frame.write_parquet(out / "plain" / f"{table.name}.parquet")

        plain_write, _ = timed(polars_only)

        def plain_select() -> int:
            with db.transaction() as session:
                return sum(
                    len(session.execute(select(model.__table__)).all())
                    for model, _ in EXPORTED.values()
                )

        select_s, _ = timed(plain_select)
    console.print(
        f"research export, {dataset.patients:,} patients, {rows:,} rows in {len(dataset.tables)} "
        "tables (date shift):"
    )
    for file_format, (seconds, count) in results.items():
        console.print(
            f"  {file_format:<8} {seconds:6.2f} s  {count / seconds:>10,.0f} rows/s  "
            f"(target ≤ {TARGET_S:.0f} s)"
        )
    console.print(
        f"  baselines: polars write_parquet of the same frames {plain_write:6.3f} s; "
        f"plain SELECT of the same tables {select_s:6.3f} s"
    )
    return all(seconds <= TARGET_S for seconds, _ in results.values())


def bench_cdisc_export(db: Database, researcher: Actor, console: Console) -> bool:
    """Time the CDISC export (SDTM + ADaM, XPT v5 + CSV + define.csv) end to end, by phase."""
    from psotrack.interop.cdisc_files import cdisc_export, write_cdisc_export
    from psotrack.services.timeline import assessments_frame

    # The command runs in a process of its own: the set-up's and the research export's objects
    # are frozen out of the garbage collector's reach, which would otherwise rescan them over
    # and over while pyreadstat allocates (14 s instead of 9 s measured on 2026-12-02).
    gc.collect()
    gc.freeze()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        dataset = research_dataset(db, researcher)
        assessments = assessments_frame(db, researcher)
        read = time.perf_counter()
        export = cdisc_export(dataset, assessments)
        derived = time.perf_counter()
        write_cdisc_export(export, Path(folder) / "cdisc")
        written = time.perf_counter()
    gc.unfreeze()
    seconds = written - start
    records = sum(d.frame.height for d in export.datasets)
    console.print(
        f"CDISC export, {export.patients:,} patients, {records:,} records in "
        f"{len(export.datasets)} data sets (XPT v5 + CSV + define.csv):"
    )
    console.print(
        f"  total {seconds:6.2f} s  {export.patients / seconds:>8,.0f} patients/s  "
        f"{records / seconds:>10,.0f} records/s  (target ≤ {TARGET_S:.0f} s)"
    )
    console.print(
        f"  phases: read {read - start:5.2f} s, lay out + derive {derived - read:5.2f} s, "
        f"write {written - derived:5.2f} s"
    )
    return seconds <= TARGET_S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seed-patients", type=int, default=20)
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        db = Database.from_engine(engine, photo_dir=Path(folder) / "photos")
        seconds, _ = timed(lambda: build_demo(db, patients=args.seed_patients, seed=1))
        form = {"username": "bench-researcher", "display_name": "Bench", "role": "researcher"}
        researcher = Actor(create_user(db, SYSTEM, form), Role.RESEARCHER, "bench-researcher")
        grow, _ = timed(lambda: grow_cohort(engine, args.patients))
        console.print(
            f"set-up: demo of {args.seed_patients} patients {seconds:.1f} s, "
            f"grown to {args.patients:,} patients {grow:.1f} s (not timed below)"
        )
        ok = bench_research_export(db, researcher, console)
        ok = bench_cdisc_export(db, researcher, console) and ok
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
