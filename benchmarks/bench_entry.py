"""Benchmark: the assessment form's POST and the live-score API, over HTTP to a served app.

Run: ``.venv/bin/python benchmarks/bench_entry.py [--requests N] [--clients C] [--postgres URL]``.
The app is served by uvicorn on 127.0.0.1 (a free port, a second process) on a temporary SQLite
file and, when a URL is given or PSOTRACK_TEST_POSTGRES_URL is set, on PostgreSQL (a temporary
schema, dropped afterwards), with one synthetic patient and one visit. A clinician signs in
(cookie and CSRF token, as the browser does); then, from C concurrent clients (default 1, then
8), each route is asked N times in all and its latency is printed (p50 / p95 / p99):

1. ``POST /api/v1/score/pasi``: a full PASI, scored and not stored (what the form asks as the
   assessor types);
2. ``POST /patients/{id}/assessments/new?instrument=pasi``: the whole form, stored (a 303).

Targets (issue 15, on the project's 2-core machine): live score p95 ≤ 20 ms, assessment POST
p95 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from psotrack.services.context import SYSTEM, Database
from psotrack.services.patients import create_program, enroll_patient, record_visit
from psotrack.services.users import create_user
from psotrack.store import make_engine, upgrade

PASSWORD = "bench password 12345"
TARGETS_MS = {"live score": 20.0, "assessment POST": 50.0}
REGIONS = ("head", "upper_limbs", "trunk", "lower_limbs")
#: Every region E2 I2 D1 area 2: PASI 10.0.
RESPONSES = {r: {"erythema": 2, "induration": 2, "desquamation": 1, "area": 2} for r in REGIONS}
FORM = {f"{r}_{k}": str(v) for r, items in RESPONSES.items() for k, v in items.items()}


def set_up(engine: Engine, photo_dir: Path) -> tuple[Database, int, int]:
    """A migrated database with a clinician, a program, a patient and a visit (not timed)."""
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=photo_dir)
    user = {"username": "clin", "display_name": "Bench clinician", "role": "clinician"}
    create_user(db, SYSTEM, user, PASSWORD)
    program = create_program(
        db,
        SYSTEM,
        {"name": "bench", "regimen": "synthetic", "product_source": "UC-MSC", "route": "IV"},
    )
    patient = enroll_patient(
        db,
        SYSTEM,
        {
            "mrn": "BENCH-1",
            "family_name": "Synthetic",
            "given_name": "Patient",
            "birth_date": "1980-01-01",
            "sex": "female",
            "program_id": program,
            "start_date": "2026-01-01",
            "status": "active",
            "synthetic": True,
        },
    )
    visit = {"patient_id": patient, "visit_date": "2026-01-02", "visit_type": "baseline"}
    visit_id = record_visit(db, SYSTEM, {**visit, "label": "Baseline"})
    return db, patient, visit_id


#: The server process: the app on the database URL, uvicorn on the port; the access log (one
#: line per request with the milliseconds the app spent) goes to the log file.
SERVE = """
import logging, sys
import uvicorn
from psotrack.settings import Settings
from psotrack.web import create_app
url, photos, port, log = sys.argv[1:5]
handler = logging.FileHandler(log)
handler.setFormatter(logging.Formatter("%(message)s"))
access = logging.getLogger("psotrack.web")
access.addHandler(handler)
access.setLevel(logging.INFO)
settings = Settings(database_url=url, photo_dir=photos, secret_key="b" * 48)
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
"""


@contextmanager
def served(url: str, photo_dir: Path, log: Path) -> Iterator[str]:
    """The app served by uvicorn in a second process on a free local port; its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", SERVE, url, str(photo_dir), str(port), str(log)]
    server = subprocess.Popen(command)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"the server process stopped (exit {server.returncode})")
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def server_times(log: Path, path: str, since: int) -> list[float]:
    """Milliseconds the app spent on POST ``path`` (the access log's lines after ``since``)."""
    lines = log.read_text().splitlines()[since:]
    found = (re.fullmatch(rf"POST {re.escape(path)} \d+ ([0-9.]+) ms", line) for line in lines)
    return [float(match.group(1)) for match in found if match]


def signed_in(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    form = {"username": "clin", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=form).status_code == 303
    page = client.get("/account/password").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return client, token.group(1)


def timed(
    calls: int, clients: int, one: Callable[[httpx.Client, str], int], base: str
) -> list[float]:
    """``calls`` requests spread over ``clients`` signed-in clients; each latency in ms."""
    sessions = [signed_in(base) for _ in range(clients)]
    for client, token in sessions:  # warm up each connection and code path
        one(client, token)

    def run(index: int) -> list[float]:
        client, token = sessions[index]
        spent = []
        for _ in range(calls // clients):
            started = time.perf_counter()
            status = one(client, token)
            spent.append((time.perf_counter() - started) * 1000)
            if status not in (200, 303):
                raise RuntimeError(f"unexpected status {status}")
        return spent

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(run, range(clients)))
    for client, _ in sessions:
        client.close()
    return [ms for part in results for ms in part]


@contextmanager
def postgres_schema(url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh schema (dropped afterwards) and a URL that the server process opens it with."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    scoped = f"{url}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(scoped)
    try:
        yield scoped, engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench(label: str, url: str, engine: Engine, calls: int, client_counts: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _, patient, visit = set_up(engine, Path(folder) / "photos")
        form_path = f"/patients/{patient}/assessments/new"
        log = Path(folder) / "access.log"
        log.touch()

        def score(client: httpx.Client, token: str) -> int:
            headers = {"X-CSRF-Token": token}
            return client.post("/api/v1/score/pasi", json=RESPONSES, headers=headers).status_code

        def record(client: httpx.Client, token: str) -> int:
            form = {"csrf_token": token, "visit_id": str(visit), **FORM}
            return client.post(f"{form_path}?instrument=pasi", data=form).status_code

        routes = (
            ("live score", score, "/api/v1/score/pasi"),
            ("assessment POST", record, form_path),
        )
        with served(url, Path(folder) / "photos", log) as base:
            for clients in client_counts:
                for name, one, path in routes:
                    since = len(log.read_text().splitlines())
                    spent = timed(calls, clients, one, base)
                    inside = server_times(log, path, since)[clients:]  # after the warm-up
                    report(label, name, clients, spent, inside)


def report(label: str, name: str, clients: int, spent: list[float], inside: list[float]) -> None:
    p50, p95, p99 = (percentile(spent, p) for p in (50, 95, 99))
    verdict = "ok" if p95 <= TARGETS_MS[name] else "OVER TARGET"
    app_p50, app_p95 = (percentile(inside, p) for p in (50, 95)) if inside else (0.0, 0.0)
    print(
        f"{label:10} {name:16} clients={clients:<2} n={len(spent):<4} "
        f"p50={p50:6.1f} p95={p95:6.1f} p99={p99:6.1f} ms "
        f"(in the app: p50={app_p50:5.1f} p95={app_p95:5.1f} ms) "
        f"target p95 ≤ {TARGETS_MS[name]:.0f} ms: {verdict}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 8])
    parser.add_argument("--postgres", default=os.environ.get("PSOTRACK_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = make_engine(url)
        bench("SQLite", url, engine, args.requests, args.clients)
        engine.dispose()
    if args.postgres:
        with postgres_schema(args.postgres) as (url, engine):
            bench("PostgreSQL", url, engine, args.requests, args.clients)
    return 0


if __name__ == "__main__":
    sys.exit(main())
