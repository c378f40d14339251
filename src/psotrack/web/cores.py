"""One core per server process: ``psotrack serve --workers N`` runs each process on a core of
its own (Linux).

A request hands work from thread to thread: from the event loop to a handler thread and back,
and from the handler to polars' pool thread and back for every polars step of the endpoint
engine. Between two cores each hand-over wakes the other core, and the woken thread, or the
one waiting for it, spins a while first: on this project's 2-core machine one pass of the
engine over one patient took 6.2–7.8 ms of CPU with the process free to use both cores, against
4.5–5.5 ms with it held to one. In the benchmark (``benchmarks/bench_web.py``, SQLite, two
processes, four alternating runs) the server took 4.3 and 5.2 ms of CPU per request with each
process on a core of its own, against 5.7 and 5.8 ms without; on PostgreSQL (six runs) there
was no difference beyond the runs' spread (5.5–6.4 ms pinned, 5.6–6.1 unpinned).

The processes share the cores among themselves by claiming them: ``psotrack serve`` makes a
folder of slots for the run (``Settings.core_slots``), and each process, when it starts, takes
the first core whose slot file it can lock (``flock``) and holds the lock while it lives. A
process that uvicorn starts again after a crash finds its predecessor's core free (the kernel
drops a dead process's locks), and a process that finds none free (more processes than cores)
runs unpinned. Other programs on the machine (the database server) still use every core.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

try:
    import fcntl
except ImportError:  # not POSIX: nothing is pinned
    fcntl = None  # type: ignore[assignment]

#: Whether this platform lets a process hold its threads to one core.
PINS: Final = fcntl is not None and hasattr(os, "sched_setaffinity") and Path("/proc").is_dir()
#: The slot files' names: this prefix and the core's number.
SLOT_PREFIX: Final = "core-"
#: The slot files this process holds locked (open file descriptors), kept for its lifetime.
_HELD: list[int] = []


def usable_cores() -> list[int]:
    """The cores this process may run on, in order (one core where that cannot be told)."""
    if not hasattr(os, "sched_getaffinity"):
        return [0]
    return sorted(os.sched_getaffinity(0))


def claim_core(slots: Path, cores: list[int]) -> int | None:
    """The first of ``cores`` whose slot file in ``slots`` no other holder has locked, now
    locked by this process until it exits; ``None`` when every one is held (or this platform
    has no file locks)."""
    if fcntl is None:
        return None
    for core in cores:
        descriptor = os.open(slots / f"{SLOT_PREFIX}{core}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        _HELD.append(descriptor)
        return core
    return None


def pin_process(core: int) -> None:
    """Hold every thread of this process, and the threads they start, to ``core``."""
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that has just ended
            os.sched_setaffinity(int(task), {core})


def pin_to_free_core(slots: Path) -> int | None:
    """Claim a core in ``slots`` (see the module text) and pin this process to it; the core,
    or ``None`` when none is free or this platform cannot pin."""
    if not PINS:
        return None
    core = claim_core(slots, usable_cores())
    if core is not None:
        pin_process(core)
    return core
