"""Benchmark: SIGKILL `psotrack demo` and `psotrack import` at random moments; count the damage.

Run: ``.venv/bin/python benchmarks/bench_durability.py [--cycles N] [--postgres URL] [--seed S]``.
Each cycle starts from a fresh SQLite file (or a fresh PostgreSQL schema on the server of
``--postgres``/``PSOTRACK_TEST_POSTGRES_URL``), runs one command in a child process and kills it
with SIGKILL after a random delay (from 0 to 1.2 × the time a whole run takes, so a few runs
finish first). The commands, in turn: ``demo`` into a migrated empty database, ``demo`` into a
SQLite file that does not exist yet (SQLite only), and ``import assessments`` of a follow-up file
into a database holding the patients' baseline visits. Then every cycle is judged:

- **lost**: a row stored before the cycle is gone or changed, a run that exited 0 is not whole,
  or a photo row's file is missing after ``photos sweep`` (which restores staged copies);
- **partial**: the tables are neither as before nor as after a whole run, or a published photo
  file has no row;
- **corrupt**: SQLite's integrity check fails, or a stored value has no audit row saying so.

Target: 0 lost, 0 partial, 0 corrupt. Ctrl-C stops between or during cycles and prints the
figures so far. The test suite runs a few cycles of the same code (tests/cli/test_durability.py).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, inspect, select, text

from psotrack.services.audit import SECRETS, SKIPPED, as_text, created_fields, entity_name
from psotrack.services.context import SYSTEM, Database
from psotrack.services.imports import import_assessments
from psotrack.services.photo_sweep import sweep_photos
from psotrack.store import make_engine, upgrade
from psotrack.store.models import KEPT_BY_THE_DATABASE, AuditEntry, Base

DEMO_PATIENTS = 6
IMPORT_PATIENTS = 400
PROGRAM = "Durability follow-up"
CLI = [sys.executable, "-c", "from psotrack.cli import main; main()"]


@dataclass
class Tally:
    """What the cycles of one database came to."""

    cycles: int = 0
    finished: int = 0  # the run ended (exit 0) before the kill
    untouched: int = 0
    whole: int = 0
    lost: int = 0
    partial: int = 0
    corrupt: int = 0
    staged_swept: int = 0  # staged photo files of killed runs removed by the sweep
    restored: int = 0  # photo files published by the sweep from a staged copy
    leftovers: int = 0  # temporary ``.part`` database files of killed new-file demos
    problems: list[str] = field(default_factory=list)


@dataclass
class Target:
    """One fresh database for one cycle, reachable by URL from the child process."""

    kind: str
    url: str
    photo_dir: Path
    sqlite_file: Path | None

    def engine(self) -> Engine:
        return make_engine(self.url)


@contextmanager
def fresh_target(kind: str, folder: Path, postgres: str | None) -> Iterator[Target]:
    """A new SQLite file or PostgreSQL schema (dropped afterwards) and a new photo folder."""
    cycle = folder / uuid.uuid4().hex[:8]
    cycle.mkdir()
    try:
        if kind == "sqlite":
            path = cycle / "record.db"
            yield Target(kind, f"sqlite:///{path}", cycle / "photos", path)
            return
        if postgres is None:
            raise ValueError("a PostgreSQL URL is needed")
        schema = f"durability_{uuid.uuid4().hex[:12]}"
        admin = make_engine(postgres)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            separator = "&" if "?" in postgres else "?"
            url = f"{postgres}{separator}options={quote(f'-csearch_path={schema}')}"
            yield Target(kind, url, cycle / "photos", None)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    finally:
        shutil.rmtree(cycle, ignore_errors=True)


def follow_up_file(folder: Path) -> Path:
    """Week 4 and week 12 PASI of every imported patient (baseline stored beforehand)."""
    ids = [f"D{n:04d}" for n in range(1, IMPORT_PATIENTS + 1)]
    frame = pl.DataFrame(
        {
            "patient_id": [i for i in ids for _ in range(2)],
            "visit": ["W4", "W12"] * len(ids),
            "day": [28, 84] * len(ids),
            "pasi": [f"{(n % 90) / 10 + 1:.1f}" for n in range(2 * len(ids))],
        }
    )
    path = folder / "follow-up.csv"
    frame.write_csv(path)
    return path


def prepare(target: Target, operation: str) -> None:
    """Bring the database to its state before the command (nothing for a new-file demo)."""
    if operation == "demo-new-file":
        return
    engine = target.engine()
    try:
        upgrade(engine)
        if operation == "import":
            ids = [f"D{n:04d}" for n in range(1, IMPORT_PATIENTS + 1)]
            baseline = pl.DataFrame(
                {"patient_id": ids, "visit": ["W0"] * len(ids), "day": [0] * len(ids)}
            ).with_columns(pl.Series("pasi", ["12.0"] * len(ids)))
            db = Database.from_engine(engine, photo_dir=target.photo_dir)
            import_assessments(
                db,
                SYSTEM,
                baseline,
                program=PROGRAM,
                create_program=True,
                day_zero=date(2026, 1, 5),
                source="baseline.csv",
            )
    finally:
        engine.dispose()


def command(target: Target, operation: str, csv: Path) -> list[str]:
    if operation.startswith("demo"):
        return [*CLI, "demo", "--patients", str(DEMO_PATIENTS), "--database-url", target.url]
    return [
        *CLI,
        "import",
        "assessments",
        "--input",
        str(csv),
        "--program",
        PROGRAM,
        "--day-zero",
        "2026-01-05",
        "--database-url",
        target.url,
    ]


def environment(target: Target) -> dict[str, str]:
    """The child's settings: this cycle's photo folder (never the working folder's)."""
    return {**os.environ, "PSOTRACK_PHOTO_DIR": str(target.photo_dir)}


def snapshot(target: Target) -> dict[str, set[tuple[Any, ...]]] | None:
    """Every row of every table, without :data:`KEPT_BY_THE_DATABASE` (None when the database
    does not exist)."""
    if target.sqlite_file is not None and not target.sqlite_file.exists():
        return None
    engine = target.engine()
    try:
        with engine.connect() as conn:
            return {
                name: {tuple(map(repr, row)) for row in conn.execute(_stored(table))}
                for name, table in Base.metadata.tables.items()
            }
    finally:
        engine.dispose()


def _stored(table: Any) -> Any:
    return select(*(c for c in table.columns if c.key not in KEPT_BY_THE_DATABASE))


def unaudited(target: Target) -> list[str]:
    """Stored values with no audit row recording them (the rule services keep: every value).

    A value is recorded by the row's creation or by an update to it (a migration that backfills
    a new column audits it as an update of the existing row)."""
    engine = target.engine()
    try:
        db = Database.from_engine(engine)
        with db.transaction() as session:
            audited = set()
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action.in_(("create", "update")))
            ):
                created = created_fields(entry)  # a creation row holds every created value
                fields = {entry.field: entry.new_value} if created is None else created
                audited |= {(entry.entity, entry.entity_id, f, v) for f, v in fields.items()}
            secrets_logged = {(e, i, f) for e, i, f, v in audited if f in SECRETS and v}
            missing = []
            for mapper in Base.registry.mappers:
                model = mapper.class_
                if model is AuditEntry:
                    continue
                for row in session.scalars(select(model)):
                    state = inspect(row)
                    for column in state.mapper.column_attrs:
                        value = getattr(row, column.key)
                        if column.key in SKIPPED or value is None:
                            continue
                        key = (entity_name(row), int(state.identity[0]), column.key)
                        if column.key in SECRETS:  # a hash is logged only as set or changed
                            seen = key in secrets_logged
                        else:
                            seen = (*key, as_text(_utc(value))) in audited
                        if not seen:
                            missing.append(f"{key[0]} {key[1]} {key[2]}")
            return missing
    finally:
        engine.dispose()


def _utc(value: Any) -> Any:
    """SQLite hands back the UTC times psotrack stores without their offset: put it back."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def integrity_ok(target: Target) -> bool:
    if target.sqlite_file is None or not target.sqlite_file.exists():
        return True
    engine = target.engine()
    try:
        with engine.connect() as conn:
            return conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        engine.dispose()


def sweep(target: Target) -> tuple[int, int, int, int]:
    """Run the photo sweep: (staged removed, restored, unreferenced published, missing)."""
    engine = target.engine()
    try:
        db = Database.from_engine(engine, photo_dir=target.photo_dir)
        report = sweep_photos(db, SYSTEM, older_than=timedelta(0), apply=True)
        return (
            len(report.stale_staged),
            len(report.restored),
            len(report.unreferenced),
            len(report.missing),
        )
    finally:
        engine.dispose()


def whole_run(folder: Path, kind: str, operation: str, postgres: str | None) -> tuple[Any, float]:
    """The tables after an uninterrupted run (row counts per table) and how long it took."""
    csv = follow_up_file(folder)
    with fresh_target(kind, folder, postgres) as target:
        prepare(target, operation)
        started = time.perf_counter()
        done = subprocess.run(
            command(target, operation, csv), env=environment(target), capture_output=True
        )
        took = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{operation} on {kind} failed: {done.stderr.decode()[-500:]}")
        after = snapshot(target)
        missing = unaudited(target) if after is not None else ["no database"]
        if missing:
            raise RuntimeError(
                f"an uninterrupted {operation} on {kind} is not audited: {missing[:5]}"
            )
        return shape(after), took


def shape(rows: dict[str, set[tuple[Any, ...]]] | None) -> dict[str, int] | None:
    return None if rows is None else {name: len(found) for name, found in rows.items()}


def one_cycle(
    folder: Path,
    kind: str,
    operation: str,
    postgres: str | None,
    whole: dict[str, int] | None,
    delay: float,
    tally: Tally,
) -> None:
    """Run, kill after ``delay`` seconds, and judge one cycle into ``tally``."""
    csv = folder / "follow-up.csv"
    with fresh_target(kind, folder, postgres) as target:
        prepare(target, operation)
        before = snapshot(target)
        child = subprocess.Popen(
            command(target, operation, csv),
            env=environment(target),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        finally:  # also on Ctrl-C: the child is in its own session and did not get the SIGINT
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            code = child.wait()
        tally.cycles += 1
        finished = code == 0
        tally.finished += finished
        verdicts = judge(target, before, whole, finished, tally)
        for verdict in verdicts:
            setattr(tally, verdict, getattr(tally, verdict) + 1)
            tally.problems.append(f"{kind} {operation} killed after {delay:.2f}s: {verdict}")
        if target.sqlite_file is not None:
            tally.leftovers += len(list(target.sqlite_file.parent.glob(".record.db.*.part")))


def judge(
    target: Target,
    before: dict[str, set[tuple[Any, ...]]] | None,
    whole: dict[str, int] | None,
    finished: bool,
    tally: Tally,
) -> set[str]:
    """The verdicts of one cycle: a subset of {lost, partial, corrupt}; empty when all is well."""
    verdicts: set[str] = set()
    try:
        if not integrity_ok(target):
            return {"corrupt"}
        after = snapshot(target)
    except Exception as exc:  # an unreadable database is a corrupt one: say why
        tally.problems.append(f"unreadable: {type(exc).__name__}: {str(exc).splitlines()[0]}")
        return {"corrupt"}
    if before is not None:
        if after is None or any(not rows <= after[name] for name, rows in before.items()):
            verdicts.add("lost")
    if after is not None and shape(after) == whole:
        tally.whole += 1
    elif shape(after) == shape(before):
        tally.untouched += 1
        if finished:
            verdicts.add("lost")  # it said it finished, and nothing is there
    else:
        verdicts.add("partial")
    if after is not None:
        if unaudited(target):
            verdicts.add("corrupt")
        staged, restored, orphans, missing = sweep(target)
        tally.staged_swept += staged
        tally.restored += restored
        if orphans:
            verdicts.add("partial")
        if missing:
            verdicts.add("lost")
    return verdicts


OPERATIONS = {
    "sqlite": ("demo", "demo-new-file", "import"),
    "postgresql": ("demo", "import"),
}


def run_cycles(
    kind: str,
    cycles: int,
    *,
    postgres: str | None = None,
    seed: int = 1,
    progress: Progress | None = None,
    tally: Tally | None = None,
) -> Tally:
    """``cycles`` kill cycles on one kind of database (into ``tally``); operations take turns."""
    rng = random.Random(seed)
    tally = tally if tally is not None else Tally()
    with tempfile.TemporaryDirectory(prefix="psotrack-durability-") as name:
        folder = Path(name)
        operations = OPERATIONS[kind]
        reference = {op: whole_run(folder, kind, op, postgres) for op in operations}
        task = progress.add_task(f"{kind}: kill -9 cycles", total=cycles) if progress else None
        for number in range(cycles):
            operation = operations[number % len(operations)]
            whole, took = reference[operation]
            delay = rng.uniform(0.0, 1.2 * took)
            one_cycle(folder, kind, operation, postgres, whole, delay, tally)
            if progress is not None and task is not None:
                progress.update(task, completed=number + 1)
    return tally


def report(console: Console, tallies: dict[str, Tally]) -> None:
    table = Table(title="SIGKILL at random moments: demo, demo into a new file, import")
    for column in (
        "database",
        "cycles",
        "finished first",
        "untouched",
        "whole",
        "lost",
        "partial",
        "corrupt",
        "staged photos swept",
        "photos restored",
        ".part files left",
    ):
        table.add_column(column, justify="right")
    for kind, t in tallies.items():
        table.add_row(
            kind,
            *(
                str(v)
                for v in (
                    t.cycles,
                    t.finished,
                    t.untouched,
                    t.whole,
                    t.lost,
                    t.partial,
                    t.corrupt,
                    t.staged_swept,
                    t.restored,
                    t.leftovers,
                )
            ),
        )
    console.print(table)
    for t in tallies.values():
        for problem in t.problems[:20]:
            console.print(f"  {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100, help="Cycles per database.")
    parser.add_argument("--postgres", default=os.environ.get("PSOTRACK_TEST_POSTGRES_URL"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)  # a whole table in a log
    kinds = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    if not args.postgres:
        console.print(
            "PostgreSQL: skipped (no --postgres URL and PSOTRACK_TEST_POSTGRES_URL unset)"
        )
    tallies: dict[str, Tally] = {}
    try:
        with Progress(console=console, transient=True) as progress:
            for kind in kinds:
                tallies[kind] = Tally()  # filled cycle by cycle, so Ctrl-C keeps what was done
                run_cycles(
                    kind,
                    args.cycles,
                    postgres=args.postgres,
                    seed=args.seed,
                    progress=progress,
                    tally=tallies[kind],
                )
    except KeyboardInterrupt:
        console.print("interrupted: the figures of the cycles finished so far")
        report(console, tallies)
        return 130
    report(console, tallies)
    bad = sum(t.lost + t.partial + t.corrupt for t in tallies.values())
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
