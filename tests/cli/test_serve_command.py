"""`psotrack serve` runs polars on one thread per server process unless the operator chose."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from psotrack.cli import main
from psotrack.cli.serve import POLARS_THREADS, one_polars_thread

#: Serve with uvicorn replaced: print the thread pool of the polars the app imported, and stop.
SERVED_POOL = textwrap.dedent(
    """
    import sys
    import uvicorn

    def report(server, sockets=None):
        import polars
        print(polars.thread_pool_size())
        server.started = True

    uvicorn.Server.run = report
    from psotrack.cli import main
    raise SystemExit(main(["serve", "--port", sys.argv[2], "--database-url", sys.argv[1]]))
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_one_thread_unless_the_operator_chose() -> None:
    environ: dict[str, str] = {}
    one_polars_thread(environ)
    assert environ == {POLARS_THREADS: "1"}
    chosen = {POLARS_THREADS: "4"}
    one_polars_thread(chosen)
    assert chosen == {POLARS_THREADS: "4"}


@pytest.mark.parametrize(("chosen", "expected"), [(None, 1), ("2", 2)])
def test_the_served_app_runs_polars_on_the_threads_chosen(
    tmp_path, capsys, chosen: str | None, expected: int
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    env = {k: v for k, v in os.environ.items() if k != POLARS_THREADS}
    if chosen is not None:
        env[POLARS_THREADS] = chosen
    done = subprocess.run(
        [sys.executable, "-c", SERVED_POOL, url, str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(expected)
