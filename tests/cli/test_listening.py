"""`psotrack serve --workers N`: each process listens on a socket of its own on the one port, so
that the kernel spreads new connections over the processes (psotrack.cli.listening)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import httpx
import pytest

from psotrack.cli import main
from psotrack.cli.listening import SPREADS, SharedPort, claim_port
from psotrack.errors import PsotrackError
from psotrack.web.cores import usable_cores

SERVE = [sys.executable, "-c", "from psotrack.cli import main; main()", "serve"]
linux_only = pytest.mark.skipif(
    not SPREADS, reason="the kernel spreads connections over sockets sharing a port on Linux only"
)


def as_worker_gets_it(claim: socket.socket) -> socket.socket:
    """The socket a worker process finds after uvicorn passed it the claim (by pickling)."""
    own: socket.socket = ForkingPickler.loads(ForkingPickler.dumps(claim))
    return own


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@linux_only
def test_each_worker_listens_on_its_own_socket_and_connections_spread_over_them() -> None:
    with claim_port("127.0.0.1", free_port(), processes=2) as claim:
        assert isinstance(claim, SharedPort)
        workers = [as_worker_gets_it(claim) for _ in range(2)]
        try:
            assert len({claim.fileno(), *(w.fileno() for w in workers)}) == 3
            for own in workers:
                assert own.getsockname() == claim.getsockname()
                own.listen(64)
                own.setblocking(False)
            clients = [socket.create_connection(claim.getsockname()[:2]) for _ in range(32)]
            time.sleep(0.2)
            accepted = [_accept_all(own) for own in workers]
            for client in clients:
                client.close()
            # By a hash of each connection's addresses: all 32 on one socket has odds 2 ** -31.
            assert sum(accepted) == 32
            assert min(accepted) >= 1, accepted
        finally:
            for own in workers:
                own.close()


@linux_only
def test_the_claim_itself_is_given_no_connection() -> None:
    with claim_port("127.0.0.1", free_port(), processes=2) as claim:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(claim.getsockname()[:2], timeout=2)


def test_one_process_listens_on_the_claim_itself() -> None:
    with claim_port("127.0.0.1", free_port(), processes=1) as claim:
        assert not isinstance(claim, SharedPort)
        claim.listen()
        socket.create_connection(claim.getsockname()[:2], timeout=2).close()


@pytest.mark.parametrize("processes", [1, 2])
def test_a_port_taken_by_another_program_is_one_clear_error(processes: int) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PsotrackError) as raised:
            claim_port("127.0.0.1", port, processes=processes)
    assert str(raised.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"


def test_serve_on_a_taken_port_says_so_in_one_line_before_it_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = subprocess.run(
            [*SERVE, "--port", str(port), "--database-url", url],
            env={**os.environ, "PSOTRACK_SECRET_KEY": "k" * 40},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert "serving" not in done.stdout


@contextmanager
def serving_two(tmp_path: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """``psotrack serve --workers 2`` on a fresh database, once both processes listen."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    port = free_port()
    env = {**os.environ, "PSOTRACK_SECRET_KEY": "k" * 40, "PSOTRACK_PHOTO_DIR": str(tmp_path)}
    server = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", "2", "--database-url", url, *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while _listening(port) < 2 and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.2)
        assert _listening(port) == 2, server.stderr.read().decode() if server.stderr else ""
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        yield server
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert _listening(port) == 0


@linux_only
def test_serve_with_two_workers_listens_twice_on_its_port(tmp_path: Path) -> None:
    with serving_two(tmp_path):
        pass


@linux_only
@pytest.mark.skipif(len(usable_cores()) < 2, reason="two processes on cores of their own: 2 cores")
@pytest.mark.parametrize("pinned", [True, False])
def test_two_workers_run_each_on_a_core_of_its_own(tmp_path: Path, pinned: bool) -> None:
    options = () if pinned else ("--no-pin-cores",)
    with serving_two(tmp_path, *options) as server:
        workers = _children(server.pid)
        assert len(workers) == 2
        allowed = [_cores_of_every_thread(pid) for pid in workers]
    usable = set(usable_cores())
    if pinned:  # one core each, every thread of the process on it, and not the same one
        assert all(len(cores) == 1 and cores <= usable for cores in allowed)
        assert allowed[0] != allowed[1]
    else:
        assert allowed == [usable, usable]


def _children(pid: int) -> list[int]:
    """The server processes uvicorn started for ``pid`` (spawned: their command names it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def _cores_of_every_thread(pid: int) -> set[int]:
    """The cores any thread of ``pid`` may run on."""
    cores: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        cores |= os.sched_getaffinity(int(task.name))
    return cores


def _accept_all(listening: socket.socket) -> int:
    count = 0
    while True:
        try:
            connection, _ = listening.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def _listening(port: int) -> int:
    """Sockets listening on 127.0.0.1:``port`` (``/proc/net/tcp``, state 0A)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = f"0100007F:{port:04X}"
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")
