"""`psotrack serve` runs polars on one thread per server process, and freezes what each process
has made by the end of its start, unless the operator chose otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from psotrack.cli import main
from psotrack.cli.serve import FREEZE_AFTER_START, POLARS_THREADS, server_defaults

#: Serve with uvicorn replaced: print the thread pool of the polars the app imported and whether
#: the app freezes its start, and stop.
SERVED_POOL = textwrap.dedent(
    """
    import sys
    import uvicorn

    def report(server, sockets=None):
        import polars
        print(server.config.app.state.settings.freeze_after_start)
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


def test_one_thread_and_a_frozen_start_unless_the_operator_chose() -> None:
    environ: dict[str, str] = {}
    server_defaults(environ)
    assert environ == {POLARS_THREADS: "1", FREEZE_AFTER_START: "1"}
    chosen = {POLARS_THREADS: "4", FREEZE_AFTER_START: "0"}
    server_defaults(chosen)
    assert chosen == {POLARS_THREADS: "4", FREEZE_AFTER_START: "0"}


@pytest.mark.parametrize(("chosen", "expected"), [(None, 1), ("2", 2)])
def test_the_served_app_runs_polars_on_the_threads_chosen(
    tmp_path, capsys, chosen: str | None, expected: int
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    env = {k: v for k, v in os.environ.items() if k not in (POLARS_THREADS, FREEZE_AFTER_START)}
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
    assert done.stdout.strip().splitlines()[-2:] == ["True", str(expected)]
