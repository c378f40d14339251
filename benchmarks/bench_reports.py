"""Benchmark: the progress reports (issue 16). Targets: the patient report's PDF ≤ 1.5 s for a
patient with 30 visits and 10 photos; the cohort report's PDF ≤ 8 s for 1 000 patients.

Run: ``.venv/bin/python benchmarks/bench_reports.py [--repeats 5] [--part patient|cohort|both]``.
The cohort part is :mod:`bench_cohort_report` (also runnable alone); this section describes the
patient part.

Set-up (not timed): a SQLite file with one patient recorded through the services: 30 visits two
weeks apart (PASI, BSA, PGA, DLQI and itch at each), 3 administrations, Treg and IL-17A at every
fourth visit, and 10 photos (5 body sites × first and latest visit) of 2 400 × 1 800 pixels, as a
clinic camera takes them.

Timed, each step on its own so the slow part is visible: reading the record (``patient_report``,
one transaction), drawing the figures (matplotlib charts, photos reduced), the view and its HTML,
the PDF step alone (Typst), and the whole PDF end to end; the median of ``--repeats`` runs after
one warm-up run (the first report of a process also imports and sets up matplotlib and Typst: that
cold run is printed too). Charts kept in memory are dropped before each run, so every chart is
drawn every time; Typst keeps its own memo of fonts and layout between runs in one process, as
it does in a running server. Baseline measured in the same run: WeasyPrint drawing the same report's
HTML (when the ``weasyprint`` package is installed; psotrack chose Typst by these figures).
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from psotrack.reports.document import ReportFormat
from psotrack.reports.patient_report import (
    draw_patient_figures,
    patient_document,
    patient_view,
    render_patient_html,
    render_patient_pdf,
)
from psotrack.reports.view import Images
from psotrack.services.administrations import log_administration
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.labs import record_lab_result
from psotrack.services.patient_report import patient_report
from psotrack.services.patients import create_program, create_user, enroll_patient, record_visit
from psotrack.services.photos import attach_photo
from psotrack.store import make_engine, upgrade
from psotrack.store.vocabulary import Role

TARGET_S = 1.5
VISITS = 30
SITES = ("trunk", "left elbow", "right knee", "scalp", "lower back")
GENERATED = datetime(2026, 12, 1, tzinfo=UTC)
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")


def camera_photo(seed: int) -> bytes:
    """A 2 400 × 1 800 JPEG with a plaque-like ellipse (different for each seed)."""
    image = Image.new("RGB", (2400, 1800), (224 - seed, 186, 160 + seed))
    draw = ImageDraw.Draw(image)
    draw.ellipse((600 + 20 * seed, 500, 1800, 1300), fill=(196, 90 + seed, 84), outline="white")
    draw.text((60, 60), f"SYNTHETIC BENCHMARK IMAGE {seed}", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def pasi_at(step: int) -> dict[str, Any]:
    """PASI items easing from severe to mild over the visits."""
    grade = max(0, 4 - step // 7)
    area = max(1, 5 - step // 6)
    region = {"erythema": grade, "induration": grade, "desquamation": max(0, grade - 1)}
    return {r: {**region, "area": area} for r in REGIONS}


DLQI = {f"q{i}": "a little" for i in range(1, 11)} | {"q7": "no, a little"}


def record_patient(db: Database) -> tuple[Actor, int]:
    clinician_id = create_user(
        db, SYSTEM, {"username": "bench", "display_name": "bench", "role": "clinician"}
    )
    clinician = Actor(user_id=clinician_id, role=Role.CLINICIAN, name="bench")
    program = create_program(
        db,
        SYSTEM,
        {"name": "UC-MSC IV", "regimen": "UC-MSC q4w", "product_source": "UC-MSC", "route": "IV"},
    )
    start = date(2025, 1, 6)
    patient = enroll_patient(
        db,
        clinician,
        {
            "mrn": "BENCH-1",
            "family_name": "Benchmark",
            "given_name": "Patient",
            "birth_date": date(1975, 3, 2),
            "sex": "female",
            "program_id": program,
            "start_date": start,
            "status": "active",
            "synthetic": True,
        },
    )
    visits = []
    for step in range(VISITS):
        when = start + timedelta(days=14 * step)
        kind = "baseline" if step == 0 else "follow-up"
        form = {"patient_id": patient, "visit_date": when, "visit_type": kind, "label": f"V{step}"}
        visit = record_visit(db, clinician, form)
        visits.append((visit, when))
        for instrument, responses in (
            ("pasi", pasi_at(step)),
            ("bsa", {"percent": max(1, 40 - step)}),
            ("pga", {"grade": max(0, 4 - step // 7), "scale": 5}),
            ("dlqi", DLQI),
            ("itch_nrs", {"score": max(0, 9 - step // 3)}),
        ):
            payload = {"visit_id": visit, "instrument": instrument, "responses": responses}
            record_assessment(db, clinician, payload)
        if step % 4 == 0:
            for analyte, value, unit in (("treg_pct_cd4", 4 + step / 10, "%"),
                                         ("il17a", 12 - step / 5, "pg/mL")):  # fmt: skip
                sampled = datetime(when.year, when.month, when.day, 8, tzinfo=UTC)
                record_lab_result(
                    db,
                    clinician,
                    {"patient_id": patient, "visit_id": visit, "analyte": analyte,
                     "value": value, "unit": unit, "sampled_at": sampled},
                )  # fmt: skip
        if step in (0, 2, 4):
            started = datetime(when.year, when.month, when.day, 9, tzinfo=UTC)
            log_administration(
                db,
                clinician,
                {"patient_id": patient, "visit_id": visit, "product_source": "UC-MSC",
                 "manufacturer": "Lab", "lot": f"L{step}", "cryopreserved": True,
                 "total_cells": 105_000_000, "body_weight_kg": 70.0, "cells_per_kg": 1.5e6,
                 "viability_pct": 92.0, "route": "IV", "started_at": started},
            )  # fmt: skip
    for index, site in enumerate(SITES):
        for visit, _ in (visits[0], visits[-1]):
            attach_photo(
                db,
                clinician,
                patient_id=patient,
                image_bytes=camera_photo(2 * index + (visit == visits[-1][0])),
                body_site=site,
                view="front",
                visit_id=visit,
            )
    return clinician, patient


def forget_charts() -> None:
    """Drop the charts kept in memory (``reports.figures`` keeps the last ones drawn)."""
    from psotrack.reports import figures

    figures._KEPT.clear()


def timed(step: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """``(cold seconds, median warm seconds, last result)``."""
    started = time.perf_counter()
    result = step()
    cold = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return cold, statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--part", choices=("patient", "cohort", "both"), default="both")
    options = parser.parse_args()
    console = Console()
    if options.part in ("patient", "both"):
        patient_part(console, options.repeats)
    if options.part in ("cohort", "both"):
        cohort_part(console, repeats=3)


def cohort_part(console: Console, repeats: int) -> None:
    """The 1 000-patient cohort report, step by step (:mod:`bench_cohort_report`)."""
    from bench_cohort_report import report_steps

    report_steps(console, patients=1000, seed_patients=50, repeats=repeats)


def patient_part(console: Console, repeats: int) -> None:
    """The patient report of :func:`record_patient`, step by step, with WeasyPrint beside it."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        db = Database.from_engine(engine, photo_dir=Path(folder) / "photos")
        with console.status("recording the benchmark patient through the services"):
            clinician, patient = record_patient(db)
        n = repeats
        rows = []

        def read() -> Any:
            return patient_report(db, clinician, patient)

        cold_read, warm_read, report = timed(read, n)
        rows.append(("read the record (patient_report)", cold_read, warm_read))

        def figures() -> Images:
            forget_charts()  # each run draws every chart (the web app keeps drawn charts)
            return draw_patient_figures(report)

        cold_fig, warm_fig, images = timed(figures, n)
        rows.append(("figures (charts drawn, photos reduced)", cold_fig, warm_fig))

        def html() -> str:
            return render_patient_html(patient_view(report, images, generated_at=GENERATED), images)

        cold_html, warm_html, page = timed(html, n)
        rows.append(("view + HTML", cold_html, warm_html))
        view = patient_view(report, images, generated_at=GENERATED)
        cold_pdf, warm_pdf, pdf = timed(lambda: render_patient_pdf(view, images), n)
        rows.append(("PDF step alone (Typst)", cold_pdf, warm_pdf))

        def whole() -> bytes:
            forget_charts()
            fresh = patient_report(db, clinician, patient)
            return patient_document(fresh, ReportFormat.PDF, generated_at=GENERATED)

        cold_all, warm_all, _ = timed(whole, n)
        rows.append(("whole PDF report, end to end", cold_all, warm_all))
        baseline = weasyprint_seconds(page, n)
        engine.dispose()

    table = Table(title=f"Patient progress report: {VISITS} visits, {2 * len(SITES)} photos")
    for column in ("step", "first run (s)", f"median of {n} (s)"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for name, cold, warm in rows:
        table.add_row(name, f"{cold:.3f}", f"{warm:.3f}")
    if baseline is not None:
        table.add_row("baseline: WeasyPrint, same HTML, PDF step alone", "", f"{baseline:.3f}")
    console.print(table)
    console.print(f"PDF size {len(pdf) / 1024:.0f} KiB; HTML size {len(page) / 1024:.0f} KiB")
    if baseline is not None:
        console.print(f"ratio WeasyPrint / Typst (PDF step): {baseline / warm_pdf:.1f}")
    else:
        console.print("baseline: WeasyPrint not installed (pip install weasyprint to measure it)")
    verdict = "met" if warm_all <= TARGET_S else "MISSED"
    console.print(f"target whole PDF ≤ {TARGET_S} s: {verdict} ({warm_all:.3f} s median)")


def weasyprint_seconds(html: str, repeats: int) -> float | None:
    try:
        import weasyprint
    except (ImportError, OSError):
        return None
    weasyprint.HTML(string=html).write_pdf()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        weasyprint.HTML(string=html).write_pdf()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
