"""Benchmark: the web app under load from 50 concurrent clients, on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/bench_web.py [--patients 1000] [--seconds 30] [--clients 50]
[--postgres URL]``.

For each database a synthetic demo of ``--patients`` patients is built (not timed; the SQLite
file is kept in ``.bench-cache/`` and reused while the schema is the same; each run serves a
copy of it, so the assessment POSTs of one run do not grow the next one's database), then
``psotrack serve --workers N`` (default one process per core) runs on 127.0.0.1 (each process
derives its patients' statuses when it starts, as it does in use) and this process drives it for
``--seconds`` with ``--clients`` concurrent clients (one keep-alive connection each, through a
lean HTTP/1.1 client on uvloop: the load generator shares the cores with the server, and httpx
cost about 2 ms of CPU per request here against 0.1 ms for this one). Each client
sends its requests at random (Poisson) moments so that together they offer ``--rate`` requests/s
(default 300, the target); a client whose answer has not come yet waits for it (so an overloaded
server shows as a lower rate and longer times, never as lost requests). With ``--rate 0`` the
clients send back to back (the server's saturation throughput). The requests follow a weighted
mix:

======================  ======  ===================================================
route                   share   what it does
======================  ======  ===================================================
patient page            40 %    ``GET /patients/{id}`` of a random patient (HTML)
patient list            20 %    ``GET /patients?page=…`` sorted by last visit
assessment POST         15 %    ``POST /api/v1/assessments`` (a PASI, bearer token)
live score              25 %    ``POST /api/v1/score/pasi`` (bearer token)
======================  ======  ===================================================

It prints requests/s overall, p50/p95/p99 per route and the errors (any answer other than the
expected status, or a failed connection), and the CPU the load generator, the server's
processes and, on PostgreSQL, the database server's processes (each process named ``postgres``
on this machine, so the URL must point at a local server; a connection that closes while
driving takes its CPU with it: a lower bound) used while driving (read from ``/proc``): the CPU
per request says how far a target is from this machine's cores.
``--route "patient page"`` (or another route of the mix) drives that route alone, for its own
CPU per request. The baseline, measured in the same run against the
same server, is ``GET /healthz`` alone (no database): the ratio says how much of the server's
capacity the clinical routes get. Targets on the project's 2-core machine (the load generator
shares the cores with the server): ≥ 300 requests/s overall, patient page p95 ≤ 100 ms,
assessment POST p95 ≤ 50 ms, live score p95 ≤ 20 ms, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httptools
import httpx
import uvloop
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select, text

from bench_interop import grow_cohort
from psotrack.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
PASSWORD = "bench-web-password-1"
SECRET = "bench-web-secret-key-0123456789abcdefghij"
MIX = (("patient page", 40), ("patient list", 20), ("assessment POST", 15), ("live score", 25))
TARGETS_P95_MS = {"patient page": 100.0, "assessment POST": 50.0, "live score": 20.0}
TARGET_RPS = 300.0
#: Seconds a client waits for an answer before counting it as an error.
TIMEOUT_S = 30.0
#: Patients recorded through the services (with audit); the rest are copies of them.
RECORDED = 50
REGION = {"erythema": 2, "induration": 2, "desquamation": 1, "area": 3}
PASI = {r: REGION for r in ("head", "upper_limbs", "trunk", "lower_limbs")}


@dataclass
class Results:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)
    #: CPU seconds while driving: the load generator (this process) and the server's processes.
    client_cpu: float = 0.0
    server_cpu: float | None = None
    database_cpu: float | None = None


def prepare(url: str, patients: int, console: Console) -> tuple[list[int], list[int]]:
    """Build the demo (unless there) and set every demo user's password; patient and visit ids."""
    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.demo import build_demo, count_patients
    from psotrack.services.users import set_password
    from psotrack.store import make_engine, upgrade
    from psotrack.store.models import Patient, User, Visit

    engine = make_engine(url)
    try:
        upgrade(engine)
        db = Database.from_engine(engine, photo_dir=CACHE / "photos")
        if count_patients(db) == 0:
            started = time.perf_counter()
            recorded = min(patients, RECORDED)
            with console.status(f"building a {patients}-patient synthetic demo (once)…"):
                build_demo(db, patients=recorded, seed=11)
                grow_cohort(engine, patients)
                if engine.dialect.name == "postgresql":
                    restart_sequences(engine)
                    vacuum(engine)
            console.print(
                f"demo built in {time.perf_counter() - started:.0f} s ({recorded} patients "
                f"recorded through the services, copied to {patients}; copies are not audited)"
            )
        with db.transaction() as session:
            users = session.scalars(select(User.id).where(User.username.like("demo-%"))).all()
            patient_ids = list(session.scalars(select(Patient.id)).all())
            visit_ids = list(session.scalars(select(Visit.id).where(Visit.deleted_at.is_(None))))
        for user_id in users:
            set_password(db, SYSTEM, user_id, PASSWORD)
        return patient_ids, visit_ids
    finally:
        engine.dispose()


def vacuum(engine: Engine) -> None:
    """Leave the tables as a clinic's would be after the same records came in over months.

    Each row recorded raises its patient's revision (migration 0008), so the build, which
    copies some 58 000 rows in seconds, leaves every patient row with as many dead versions:
    739 pages for 1 000 patients, which each list read scanned (1.35 of its 4.0 ms, measured).
    In a clinic autovacuum frees those versions as they come and new ones reuse the space
    (this machine's server runs with autovacuum off); ``VACUUM FULL`` gives that compact
    table at once, and ``ANALYZE`` the planner's statistics.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in Base.metadata.sorted_tables:  # this schema's tables only
            connection.execute(text(f'VACUUM FULL ANALYZE "{table.name}"'))


def restart_sequences(engine: Engine) -> None:
    """After copying rows with their ids (PostgreSQL), let each id sequence go on past them."""
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c:
                continue
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                )
            )


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its live descendants, read from
    ``/proc`` (Linux); ``None`` where there is no ``/proc``."""
    proc = Path("/proc")
    if not (proc / str(pid)).exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = (proc / str(current) / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in (proc / str(current) / "task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended meanwhile
    return total


def processes_cpu_seconds(name: str) -> dict[int, float] | None:
    """Process id → CPU seconds (user + system) used so far, of each live process called
    ``name`` (its ``/proc/PID/comm``), whoever runs it; ``None`` where there is no ``/proc``."""
    proc = Path("/proc")
    if not proc.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != name:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process ended meanwhile
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes used between two :func:`processes_cpu_seconds`: a process
    that started meanwhile counts whole; one that ended meanwhile is left out (its last
    moments are not known), so this is a lower bound."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """``psotrack serve`` on a free port in its own process; its base address and process id."""
    port = free_port()
    env = {**os.environ, "PSOTRACK_DATABASE_URL": url, "PSOTRACK_SECRET_KEY": SECRET}
    env["PSOTRACK_PHOTO_DIR"] = str(CACHE / "photos")
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/psotrack"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start within 60 s")
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads each answer's
    status and body (parsed by httptools, uvicorn's own parser).

    The load generator shares the machine's cores with the server: httpx spent about 2 ms of
    CPU per request here, a third of what the server spends, so the timed requests go through
    this lean client instead (signing in, not timed, still uses httpx).
    """

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(
            f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items()
        )
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, target: str, body: bytes = b"", **headers: str
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
        if body:
            extra += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(f"{method} {target} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + body)
        chunks: list[bytes] = []
        done = False

        class Callbacks:
            def on_body(self, data: bytes) -> None:
                chunks.append(data)

            def on_message_complete(self) -> None:
                nonlocal done
                done = True

        parser = httptools.HttpResponseParser(Callbacks())
        try:
            async with asyncio.timeout(TIMEOUT_S):  # a late answer is an error (TimeoutError)
                while not done:
                    data = await self.reader.read(1 << 16)
                    if not data:
                        raise ConnectionError("the server closed the connection")
                    parser.feed_data(data)
        except BaseException:
            await self.close()
            raise
        return parser.get_status_code(), b"".join(chunks)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer, self.reader = None, None


async def signed_in(base: str) -> tuple[str, str]:
    """The demo clinician's page session cookie and API bearer token."""
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:
        login = await client.get("/login")
        token = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"username": "demo-clinician", "password": PASSWORD, "csrf_token": token}
        answer = await client.post("/login", data=form)
        assert answer.status_code == 303, answer.text
        cookie = client.cookies["psotrack_session"]
    async with httpx.AsyncClient(base_url=base, timeout=30) as bare:  # no cookie: no CSRF
        api = await bare.post(
            "/api/v1/token", data={"username": "demo-clinician", "password": PASSWORD}
        )
    return cookie, api.json()["access_token"]


def connect(base: str, headers: dict[str, str]) -> Connection:
    host, port = base.removeprefix("http://").split(":")
    return Connection(host, int(port), headers)


async def drive(
    base: str,
    pid: int,
    seconds: float,
    clients: int,
    rate: float,
    patients: list[int],
    visits: list[int],
    only: str | None = None,
    database_process: str | None = None,
) -> tuple[Results, float]:
    """Drive the server (process ``pid``) with the mix (or ``only`` that route); the results and
    the wall time. ``database_process``: the name of the database server's processes, whose CPU
    is measured too."""
    results = Results()
    pages = max(1, len(patients) // 50)
    routes = [name for name, share in MIX for _ in range(share) if only in (None, name)]
    sessions = [await signed_in(base) for _ in range(clients)]
    score_body = json.dumps(PASI).encode()
    stop = time.perf_counter() + seconds

    async def one_client(cookie: str, bearer: str, rng: random.Random) -> None:
        connection = connect(base, {"Cookie": f"psotrack_session={cookie}"})
        auth = f"Bearer {bearer}"
        due = time.perf_counter()
        while time.perf_counter() < stop:
            if rate > 0:  # Poisson arrivals: this client's share of the offered rate
                due += rng.expovariate(rate / clients)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            route = rng.choice(routes)
            started = time.perf_counter()
            try:
                if route == "patient page":
                    status, body = await connection.request(
                        "GET", f"/patients/{rng.choice(patients)}"
                    )
                elif route == "patient list":
                    status, body = await connection.request(
                        "GET", f"/patients?page={rng.randint(1, pages)}"
                    )
                elif route == "assessment POST":
                    form = {"visit_id": rng.choice(visits), "instrument": "pasi", "responses": PASI}
                    status, body = await connection.request(
                        "POST", "/api/v1/assessments", json.dumps(form).encode(), Authorization=auth
                    )
                else:
                    status, body = await connection.request(
                        "POST", "/api/v1/score/pasi", score_body, Authorization=auth
                    )
            except (OSError, httptools.HttpParserError) as error:
                results.errors[route] += 1
                results.samples.setdefault(route, type(error).__name__)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if status not in (200, 201):
                results.errors[route] += 1
                results.samples.setdefault(route, f"{status} {body[:120].decode(errors='replace')}")
            else:
                results.times[route].append(elapsed)
        await connection.close()

    database_began = processes_cpu_seconds(database_process) if database_process else None
    began, server_began, client_began = (
        time.perf_counter(),
        tree_cpu_seconds(pid),
        time.process_time(),
    )
    await asyncio.gather(*(one_client(c, t, random.Random(i)) for i, (c, t) in enumerate(sessions)))
    wall = time.perf_counter() - began
    results.client_cpu = time.process_time() - client_began
    server_ended = tree_cpu_seconds(pid)
    if server_began is not None and server_ended is not None:
        results.server_cpu = server_ended - server_began
    database_ended = processes_cpu_seconds(database_process) if database_process else None
    if database_began is not None and database_ended is not None:
        results.database_cpu = cpu_used(database_began, database_ended)
    return results, wall


async def baseline(base: str, seconds: float, clients: int) -> float:
    """Requests/s of ``GET /healthz`` (no database) from the same number of clients."""
    count = 0
    stop = time.perf_counter() + seconds

    async def one() -> None:
        nonlocal count
        connection = connect(base, {})
        while time.perf_counter() < stop:
            if (await connection.request("GET", "/healthz"))[0] == 200:
                count += 1
        await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(clients)))
    return count / (time.perf_counter() - began)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def report(
    console: Console, name: str, results: Results, wall: float, base_rps: float, rate: float
) -> bool:
    total = sum(len(v) for v in results.times.values())
    errors = sum(results.errors.values())
    rps = (total + errors) / wall
    table = Table(title=f"{name}: {rps:.0f} requests/s answered, {errors} errors, {wall:.0f} s")
    for column in ("route", "requests", "p50 ms", "p95 ms", "p99 ms", "target p95", "errors"):
        table.add_column(column, justify="left" if column == "route" else "right")
    met = rps >= TARGET_RPS * 0.97 and errors == 0  # Poisson arrivals: ±3 % of the rate
    for route, _ in MIX:
        if route not in results.times and route not in results.errors:
            continue
        times = results.times.get(route, [])
        target = TARGETS_P95_MS.get(route)
        p95 = percentile(times, 95) if times else float("nan")
        if target is not None and not p95 <= target:
            met = False
        table.add_row(
            route,
            str(len(times)),
            f"{statistics.median(times):.1f}" if times else "—",
            f"{p95:.1f}" if times else "—",
            f"{percentile(times, 99):.1f}" if times else "—",
            f"≤ {target:.0f}" if target else "—",
            str(results.errors.get(route, 0)),
        )
    console.print(table)
    for route, sample in results.samples.items():
        console.print(f"  first error of {route}: {sample}")
    console.print(
        f"  baseline GET /healthz: {base_rps:.0f} requests/s; clinical mix / baseline = "
        f"{rps / base_rps:.2f}; targets (≥ {TARGET_RPS:.0f} req/s, p95s, 0 errors) "
        f"{'met' if met else 'NOT met'}"
    )
    return met


def run_one(console: Console, name: str, url: str, args: argparse.Namespace) -> None:
    patients, visits = prepare(url, args.patients, console)
    with server(url, args.workers) as (base, pid):
        # The load generator runs on uvloop, as the server does: less of the shared CPU.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            base_rps = runner.run(baseline(base, min(10.0, args.seconds), args.clients))
            results, wall = runner.run(
                drive(
                    base,
                    pid,
                    args.seconds,
                    args.clients,
                    args.rate,
                    patients,
                    visits,
                    args.route,
                    "postgres" if url.startswith("postgresql") else None,
                )
            )
    offered = f"offered {args.rate:.0f}/s" if args.rate else "back to back"
    offered += f", {args.route} only" if args.route else ""
    offered += f", {args.workers} server process{'es' if args.workers > 1 else ''}"
    report(console, f"{name} ({offered})", results, wall, base_rps, args.rate)
    answered = sum(len(v) for v in results.times.values()) + sum(results.errors.values())
    line = f"  CPU while driving, {os.cpu_count()} cores: load generator "
    line += f"{results.client_cpu / wall:.2f} cores"
    if results.server_cpu is not None:
        line += (
            f", server {results.server_cpu / wall:.2f} cores = "
            f"{1000 * results.server_cpu / max(answered, 1):.1f} ms of server CPU per request"
        )
    if results.database_cpu is not None:
        line += (
            f", PostgreSQL's processes at least {results.database_cpu / wall:.2f} cores = "
            f"{1000 * results.database_cpu / max(answered, 1):.1f} ms per request"
        )
    console.print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, min(16, os.cpu_count() or 1)),
        help="server processes (1–16; default: one per core, as a server would be run)",
    )
    parser.add_argument("--rate", type=float, default=TARGET_RPS, help="offered requests/s")
    parser.add_argument("--postgres", default=os.environ.get("PSOTRACK_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--route",
        choices=[name for name, _ in MIX],
        help="drive this route only (its server CPU per request; the targets are the mix's)",
    )
    args = parser.parse_args()
    if not 1 <= args.patients <= 10_000 or not 1 <= args.seconds <= 600:
        raise SystemExit("--patients must be 1–10000 and --seconds 1–600")
    if not 1 <= args.clients <= 500 or not 0 <= args.rate <= 10_000:
        raise SystemExit("--clients must be 1–500 and --rate 0–10000")
    console = Console()
    console.print("[bold]SYNTHETIC DEMO DATA[/bold] — load test of the web app")
    CACHE.mkdir(exist_ok=True)
    sqlite_file = CACHE / f"web-{args.patients}.db"
    prepare(f"sqlite:///{sqlite_file}", args.patients, console)
    # The run writes (its assessment POSTs): it works on a copy, so that every run starts from
    # the same database and the cached one does not grow from run to run.
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        copy = Path(scratch) / sqlite_file.name
        shutil.copyfile(sqlite_file, copy)
        run_one(console, "SQLite", f"sqlite:///{copy}", args)
    if args.postgres:
        from psotrack.store.engine import temporary_schema_engine

        with temporary_schema_engine(args.postgres, prefix="bench_web") as engine:
            schema = engine.dialect.default_schema_name
            with engine.connect() as connection:
                schema = connection.exec_driver_sql("select current_schema()").scalar_one()
            url = f"{args.postgres}?options=-csearch_path%3D{schema}"
            run_one(console, "PostgreSQL", url, args)
    else:
        console.print("PostgreSQL skipped: pass --postgres URL or set PSOTRACK_TEST_POSTGRES_URL")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
