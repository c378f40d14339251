"""Benchmark: recording assessments through the service layer, and loading one patient's timeline.

Run: ``.venv/bin/python benchmarks/bench_store.py [--assessments N] [--loads M] [--postgres URL]``.
On SQLite (a temporary file) and, when a URL is given or PSOTRACK_TEST_POSTGRES_URL is set, on
PostgreSQL (a temporary schema, dropped afterwards):

1. records N PASI assessments one service call each (validation, scoring by ``instruments``,
   audit rows, flare check; one transaction per call) and, as the baseline measured in the same
   run, inserts the same rows with one plain SQLAlchemy Core INSERT per row (no checks, no audit);
2. builds one patient with 50 visits and rows in every table, and loads the full timeline M times.

Targets on the project's 2-core machine: ≥ 1 000 recorded assessments/s on SQLite, timeline p95
≤ 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine, insert

from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.demo import synthetic_photo
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import create_program, create_user, enroll_patient, record_visit
from psotrack.services.photos import attach_photo
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.services.timeline import load_timeline
from psotrack.store import make_engine, upgrade
from psotrack.store.engine import temporary_schema_engine
from psotrack.store.models import Assessment
from psotrack.store.vocabulary import Role

TARGET_PER_S = 1000
TARGET_P95_MS = 20.0
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        yield engine
        engine.dispose()


def setup(db: Database, patients: int, visits_each: int) -> tuple[Actor, list[int]]:
    """A program, a clinician, and patients with visits (not timed)."""
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV",
            "regimen": "1.5e6 cells/kg x3 q4w",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1e6,
            "dose_max_per_kg": 3e6,
            "viability_threshold_pct": 80.0,
        },
    )
    user = create_user(db, SYSTEM, {"username": "dr", "display_name": "Dr", "role": "clinician"})
    clinician = Actor(user_id=user, role=Role.CLINICIAN, name="dr")
    visit_ids = []
    for p in range(patients):
        patient = enroll_patient(
            db,
            clinician,
            {
                "mrn": f"MRN-{p:05d}",
                "family_name": "Synthetic",
                "given_name": f"P{p}",
                "birth_date": date(1970, 1, 1),
                "sex": "female",
                "program_id": program,
                "start_date": date(2026, 1, 5),
                "status": "active",
                "synthetic": True,
            },
        )
        for v in range(visits_each):
            visit_ids.append(
                record_visit(
                    db,
                    clinician,
                    {
                        "patient_id": patient,
                        "visit_date": date(2026, 1, 5) + timedelta(days=7 * v),
                        "visit_type": "baseline" if v == 0 else "follow-up",
                        "label": f"W{v}",
                    },
                )
            )
    return clinician, visit_ids


def random_pasi(rng: np.random.Generator) -> dict[str, dict[str, int]]:
    return {
        r: {
            "erythema": int(rng.integers(0, 5)),
            "induration": int(rng.integers(0, 5)),
            "desquamation": int(rng.integers(0, 5)),
            "area": int(rng.integers(0, 7)),
        }
        for r in REGIONS
    }


def time_recording(
    db: Database, clinician: Actor, visit_ids: list[int], n: int, progress: Progress
) -> tuple[float, float]:
    rng = np.random.default_rng(7)
    payloads = [
        {
            "visit_id": visit_ids[i % len(visit_ids)],
            "instrument": "pasi",
            "responses": random_pasi(rng),
        }
        for i in range(n)
    ]
    task = progress.add_task("recording through services", total=n)
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        record_assessment(db, clinician, payload)
        if i % 500 == 0:
            progress.update(task, completed=i)
    service_s = time.perf_counter() - start
    progress.update(task, completed=n)
    # Baseline: the same rows, one plain INSERT per row and transaction, no checks or audit.
    rows = [
        {
            "visit_id": p["visit_id"],
            "patient_id": 1,
            "instrument": "pasi",
            "responses": p["responses"],
            "score": "0.0",
            "score_value": 0.0,
            "created_at": datetime.now(UTC),
        }
        for p in payloads
    ]
    start = time.perf_counter()
    for row in rows:
        with db.engine.begin() as conn:
            conn.execute(insert(Assessment), row)
    raw_s = time.perf_counter() - start
    return service_s, raw_s


def full_patient(db: Database, clinician: Actor, program_name: str = "UC-MSC IV") -> int:
    """One patient, 50 visits, and rows in every table (not timed)."""
    patient = enroll_patient(
        db,
        clinician,
        {
            "mrn": "MRN-TIMELINE",
            "family_name": "Synthetic",
            "given_name": "Timeline",
            "birth_date": date(1975, 6, 1),
            "sex": "male",
            "program_id": 1,
            "start_date": date(2026, 1, 5),
            "status": "active",
            "synthetic": True,
        },
    )
    rng = np.random.default_rng(3)
    photo = synthetic_photo()
    for v in range(50):
        day = date(2026, 1, 5) + timedelta(days=7 * v)
        visit = record_visit(
            db,
            clinician,
            {"patient_id": patient, "visit_date": day, "visit_type": "follow-up", "label": f"W{v}"},
        )
        record_assessment(
            db, clinician, {"visit_id": visit, "instrument": "pasi", "responses": random_pasi(rng)}
        )
        record_assessment(
            db,
            clinician,
            {
                "visit_id": visit,
                "instrument": "itch_nrs",
                "responses": {"score": int(rng.integers(0, 11))},
            },
        )
        moment = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        for analyte in ("treg_pct_cd4", "th17_pct_cd4"):
            record_lab_result(
                db,
                clinician,
                {
                    "patient_id": patient,
                    "visit_id": visit,
                    "analyte": analyte,
                    "value": float(rng.uniform(1, 8)),
                    "unit": "%",
                    "sampled_at": moment,
                },
            )
        if v % 4 == 0 and v < 12:
            log_administration(
                db,
                clinician,
                {
                    "patient_id": patient,
                    "visit_id": visit,
                    "product_source": "UC-MSC",
                    "manufacturer": "Synthetic Cells",
                    "lot": f"L{v}",
                    "cryopreserved": True,
                    "total_cells": 105_000_000,
                    "body_weight_kg": 70.0,
                    "cells_per_kg": 1.5e6,
                    "viability_pct": 92.0,
                    "route": "IV",
                    "started_at": moment,
                },
            )
        if v % 10 == 5:
            report_adverse_event(
                db,
                clinician,
                {
                    "patient_id": patient,
                    "term": "fever",
                    "onset_date": day,
                    "grade": 1,
                    "serious": False,
                    "relatedness": "possible",
                    "outcome": "recovered",
                },
            )
            attach_photo(
                db,
                clinician,
                patient_id=patient,
                image_bytes=photo,
                body_site="trunk",
                view="front",
                visit_id=visit,
            )
    record_concomitant_therapy(
        db,
        clinician,
        {
            "patient_id": patient,
            "therapy_class": "topical steroid",
            "agent": "clobetasol",
            "start_date": date(2026, 1, 5),
        },
    )
    return patient


def time_timeline(db: Database, clinician: Actor, patient: int, loads: int) -> list[float]:
    load_timeline(db, clinician, patient)  # warm caches once
    times = []
    for _ in range(loads):
        start = time.perf_counter()
        load_timeline(db, clinician, patient)
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(name: str, engine: Engine, args: argparse.Namespace, console: Console) -> bool:
    upgrade(engine)
    with tempfile.TemporaryDirectory() as photos:
        db = Database.from_engine(engine, photo_dir=Path(photos))
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{name}: setting up patients and visits", total=None)
            clinician, visit_ids = setup(db, patients=40, visits_each=25)
            progress.remove_task(task)
            service_s, raw_s = time_recording(db, clinician, visit_ids, args.assessments, progress)
            task = progress.add_task(f"{name}: building a 50-visit patient", total=None)
            patient = full_patient(db, clinician)
            progress.remove_task(task)
            times = time_timeline(db, clinician, patient, args.loads)
    timeline = load_timeline(db, clinician, patient)
    rate = args.assessments / service_s
    raw_rate = args.assessments / raw_s
    p50 = statistics.median(times)
    p95 = float(np.percentile(times, 95))
    console.print(f"[bold]{name}[/bold]")
    console.print(
        f"  record {args.assessments:,} assessments via services: {service_s:.2f} s = {rate:,.0f}/s"
        + (
            f"  (target ≥ {TARGET_PER_S:,}/s: {'ok' if rate >= TARGET_PER_S else 'MISSED'})"
            if name == "SQLite"
            else ""
        )
    )
    console.print(
        f"  baseline, plain INSERT per row (no checks, no audit): {raw_rate:,.0f}/s; "
        f"services / baseline = {rate / raw_rate:.2f}"
    )
    t = timeline
    contents = (
        f"{len(t.visits)} visits, {len(t.assessments)} assessments, {len(t.labs)} labs, "
        f"{len(t.administrations)} administrations, {len(t.adverse_events)} AEs, "
        f"{len(t.photos)} photos, {len(t.flags)} flags"
    )
    verdict = "ok" if p95 <= TARGET_P95_MS else "MISSED"
    console.print(f"  timeline of one patient ({contents}) loaded {args.loads:,} times:")
    console.print(
        f"    p50 {p50:.2f} ms, p95 {p95:.2f} ms (target ≤ {TARGET_P95_MS:.0f} ms: {verdict})"
    )
    return p95 <= TARGET_P95_MS and (name != "SQLite" or rate >= TARGET_PER_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=20_000)
    parser.add_argument("--loads", type=int, default=1_000)
    parser.add_argument("--postgres", default=os.environ.get("PSOTRACK_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    console = Console()
    ok = True
    with sqlite_engine() as engine:
        ok &= run("SQLite", engine, args, console)
    if args.postgres:
        with temporary_schema_engine(args.postgres, prefix="bench") as engine:
            ok &= run("PostgreSQL", engine, args, console)
    else:
        console.print(
            "PostgreSQL: skipped (no --postgres URL and PSOTRACK_TEST_POSTGRES_URL unset)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
