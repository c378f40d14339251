"""`psotrack serve`: the clinic web app under uvicorn, on the configured database."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Annotated, Any, Final

import typer

from psotrack.cli.db import DatabaseUrl, open_engine
from psotrack.cli.listening import claim_port
from psotrack.cli.number_options import whole_number
from psotrack.errors import PsotrackError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(help="Port (1–65535).", parser=whole_number("--port", (1, 65535), "a port")),
    ] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (1–16); each opens its own connections.",
            parser=whole_number("--workers", (1, 16), "server processes"),
        ),
    ] = 1,
    url: DatabaseUrl = None,
    pin_cores: Annotated[
        bool,
        typer.Option(
            help="With several processes, run each on a core of its own (Linux; when there "
            "are no more processes than cores).",
        ),
    ] = True,
) -> None:
    """Serve the web app and its JSON API (/api/v1) until Ctrl-C.

    The database must exist at the newest schema (psotrack db upgrade, or psotrack demo). Set
    PSOTRACK_SECRET_KEY (32+ characters) to keep sessions across restarts.
    """
    import logging
    import os
    import secrets

    server_defaults(os.environ)  # before the app's modules import polars
    os.environ.pop(CORE_SLOTS, None)  # the run's own, set below for several processes only
    import uvicorn
    from rich.console import Console
    from uvicorn.supervisors import Multiprocess

    from psotrack.services.context import Database
    from psotrack.settings import load_settings
    from psotrack.web import create_app
    from psotrack.web.app import connections_held
    from psotrack.web.cores import usable_cores

    settings = load_settings()
    # The port is claimed before anything starts (a clear error if taken); with several
    # processes each listens on a socket of its own where it can (psotrack.cli.listening).
    claim = claim_port(host, port, processes=workers)
    try:
        connections = connections_held(settings)
        with open_engine(url, require_schema=True, connections=connections) as engine:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
            address = f"[bold]http://{host}:{port}/[/bold]"
            Console().print(f"psotrack is serving at {address} (Ctrl-C stops)")
            # uvicorn's own access log prints query strings (a search holds names): psotrack
            # logs requests itself (psotrack.web) without them.
            if workers == 1:
                db = Database.from_engine(engine, photo_dir=settings.photo_dir)
                server = uvicorn.Server(
                    uvicorn.Config(create_app(settings, db=db), **_uvicorn_options())
                )
                server.run(sockets=[claim])
                if not server.started:  # uvicorn has logged why
                    raise PsotrackError("the web app did not start")
                return
        # Several processes build the app themselves from the environment: they must share the
        # database URL and the key that signs sessions (a random one per process would not do).
        if url:
            os.environ["PSOTRACK_DATABASE_URL"] = url
        if not settings.secret_key:
            os.environ["PSOTRACK_SECRET_KEY"] = secrets.token_urlsafe(48)
        options = {"factory": True, "workers": workers, **_uvicorn_options()}
        config = uvicorn.Config("psotrack.web.app:create_app", **options)
        with core_slots(os.environ, pin_cores and workers <= len(usable_cores())):
            Multiprocess(config, sockets=[claim]).run()
    finally:
        claim.close()


#: The setting (``Settings.freeze_after_start``) that a server process turns on for itself.
FREEZE_AFTER_START: Final = "PSOTRACK_FREEZE_AFTER_START"
#: The setting (``Settings.core_slots``) that several server processes claim their cores in.
CORE_SLOTS: Final = "PSOTRACK_CORE_SLOTS"
#: The environment variable polars reads, once, when it is imported: its thread pool's size.
POLARS_THREADS: Final = "POLARS_MAX_THREADS"


def server_defaults(environ: MutableMapping[str, str]) -> None:
    """What each server process runs with unless the operator chose otherwise: polars on one
    thread, and what the process has made by the end of its start frozen
    (``Settings.freeze_after_start``).

    Polars: a request derives over one patient or one page (tens of rows), where a pool of
    threads costs more CPU than it saves: its idle threads wait for work by spinning, on cores
    that the other requests and server processes need. Measured on this project's 2-core
    machine, one batch pass of the endpoint engine for 20 patients took 13.2 ms of CPU on one
    thread against 17.5 ms on two (the list's change from baseline: 4.9 against 8.0 ms).
    """
    environ.setdefault(POLARS_THREADS, "1")
    environ.setdefault(FREEZE_AFTER_START, "1")


@contextmanager
def core_slots(environ: MutableMapping[str, str], pin: bool) -> Iterator[None]:
    """While serving: when ``pin``, a folder of core slots for the server's processes to claim
    (``Settings.core_slots``, see :mod:`psotrack.web.cores`), removed at the end."""
    if not pin:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="psotrack-cores-") as slots:
        environ[CORE_SLOTS] = slots
        try:
            yield
        finally:
            environ.pop(CORE_SLOTS, None)


def _uvicorn_options() -> dict[str, Any]:
    return {"access_log": False, "log_level": "warning"}
