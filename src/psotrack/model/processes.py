"""Running independent parts of one integration in forked processes that write shared arrays.

The solver's rows are independent: on a machine with several cores, blocks of rows can be
integrated at the same time. Threads do not help (each NumPy operation on a block of a few
thousand rows holds the interpreter lock for about a third of its time; two threads were slower
than one), so the parts run in processes made by ``fork``: each child starts with the parent's
memory (parameters, states, the trigger stream's generator, copied as they are at the fork) and
writes its rows into an array in memory shared with the parent, so nothing is pickled. The
parent runs the first part itself. A child that fails is reported as a :class:`RuntimeError`
after all parts end; an interrupted parent stops its children before it returns.

Fork is used only where the platform has it (Linux, the supported server), and only for the
integration's own NumPy arithmetic: a child never touches a database, a file or a lock.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def shared_empty(shape: tuple[int, ...]) -> FloatArray:
    """An uninitialised float64 array in anonymous shared memory (seen by forked children)."""
    size = max(1, int(np.prod(shape)) * 8)
    buffer = mmap.mmap(-1, size)
    return np.frombuffer(buffer, dtype=np.float64, count=int(np.prod(shape))).reshape(shape)


def run_parts(parts: Sequence[Callable[[], None]]) -> None:
    """Run every part, the first in this process and the others in forked children, and wait.

    Each part must write its results into arrays made by :func:`shared_empty` before the fork.
    Raises :class:`RuntimeError` naming the parts whose child did not end cleanly.
    """
    if not parts:
        return
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=part, daemon=True) for part in parts[1:]]
    try:
        for child in children:
            child.start()
        parts[0]()
        for child in children:
            child.join()
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join()
    failed = [k + 2 for k, child in enumerate(children) if child.exitcode != 0]
    if failed:
        raise RuntimeError(
            f"forked part(s) {failed} of {len(parts)} did not finish (exit codes "
            f"{[children[k - 2].exitcode for k in failed]}); the integration was not completed"
        )
