"""The web app's routers: each handler takes one trip to a thread, and writes have their own.

FastAPI runs a plain (``def``) handler on the handler threads and then, for a route with a
response model, checks the handler's answer against that model on the handler threads again.
Under load the second trip waits in the same queue as the page reads, so an API write took
about twice as long as a page (measured: assessment POST p50 461 ms against a page's 231 ms in
the benchmark's mix). :class:`Router` hands FastAPI each plain handler as a coroutine that runs
it on a thread once; the answer is then checked on the event loop, where the check of these
small models takes microseconds.

A route that changes the record (POST, PUT, PATCH, DELETE) runs on write threads of its own per
server process (:func:`write_thread_count`) instead of the handler threads (``Settings.threads``):
data entry (a clinician saving a score at the bedside) does not queue behind page and list reads,
which cost several times more. Reads still get their own threads, so writes cannot hold them up.

A read across many patients (the patient list, the alerts, the cohort views: each marked
:func:`reads_many_patients`) runs on a thread of its own per process (:data:`WIDE_READ_THREADS`),
so that a patient's page does not wait behind a page of the list, which costs several times more
(a list page derives the change from baseline of every patient on it scored since it was last
shown). Measured in the benchmark's mix
on SQLite (two alternating pairs of runs): the patient page p95 fell from 168 and 319 ms to 60
and 84 ms; the list's own p95 was 150 against 194 ms in the first pair, 860 against 349 ms in the
second, a slower phase of the machine in which the list's one thread could not keep up.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from typing import Any, Final, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from fastapi import APIRouter

F = TypeVar("F", bound=Callable[..., Any])

#: Threads per server process for the routes that change the record, on a database server;
#: one on SQLite (see :func:`write_thread_count`).
WRITE_THREADS: Final = 2
WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WRITE_LIMITER: RunVar[CapacityLimiter] = RunVar("psotrack_write_threads")
#: Threads per server process for the reads across many patients (:func:`reads_many_patients`).
WIDE_READ_THREADS: Final = 1
_WIDE_READ_LIMITER: RunVar[CapacityLimiter] = RunVar("psotrack_wide_read_threads")
#: The attribute :func:`reads_many_patients` marks a handler with.
_WIDE: Final = "__psotrack_reads_many_patients__"


class Router(APIRouter):
    """An :class:`~fastapi.APIRouter` whose plain handlers run in one trip, writes on their
    own threads (see the module text); coroutine handlers are kept as they are."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        methods: Collection[str] = options.get("methods") or ("GET",)
        writes = any(method.upper() in WRITES for method in methods)
        super().add_api_route(path, one_trip(endpoint, writes=writes), **options)


def one_trip(endpoint: Callable[..., Any], *, writes: bool = False) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that runs it on the handler threads (``writes``: on the
    write threads); FastAPI reads the parameters, their types and the return type from
    ``endpoint`` itself (``__wrapped__``)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    wide = getattr(endpoint, _WIDE, False)

    @functools.wraps(endpoint)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(endpoint, *args, **kwargs)
        limiter = write_threads() if writes else wide_read_threads() if wide else None
        return await to_thread.run_sync(call, limiter=limiter)

    return handler


def reads_many_patients(endpoint: F) -> F:
    """Mark a plain handler that reads across many patients: it runs on the wide-read thread
    (see the module text). Put it under the route's decorator."""
    setattr(endpoint, _WIDE, True)
    return endpoint


def wide_read_threads() -> CapacityLimiter:
    """This event loop's limiter of threads for the reads across many patients."""
    try:
        return _WIDE_READ_LIMITER.get()
    except LookupError:
        limiter = CapacityLimiter(WIDE_READ_THREADS)
        _WIDE_READ_LIMITER.set(limiter)
        return limiter


def write_thread_count(dialect: str) -> int:
    """How many writes one server process runs at once on a database of ``dialect``.

    SQLite lets one writer at a time hold its file: a second write thread would only wait for
    that lock, so writes take turns on one. A database server lets writers work side by side
    and makes them take turns only for the audit log's append lock, held from a write's first
    change to a patient's record (migration 0008) or its first audit row to its commit: with
    :data:`WRITE_THREADS`, one write reads and checks while another holds the lock. Measured in
    the benchmark's mix on PostgreSQL (2 processes, 45 writes/s): with one thread, a write
    waited for it p95 25–52 ms; with two, 4–11 ms.
    """
    return 1 if dialect == "sqlite" else WRITE_THREADS


def use_write_threads(count: int) -> None:
    """Run this event loop's writes on ``count`` threads (the app's start sets it from its
    database: :func:`write_thread_count`)."""
    _WRITE_LIMITER.set(CapacityLimiter(count))


def write_threads() -> CapacityLimiter:
    """This event loop's limiter of threads for writes (one until :func:`use_write_threads`)."""
    try:
        return _WRITE_LIMITER.get()
    except LookupError:
        limiter = CapacityLimiter(1)
        _WRITE_LIMITER.set(limiter)
        return limiter
