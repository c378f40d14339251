"""Work shared with forked processes: parts writing shared arrays, or items made in a child.

Two uses, both on the 2-core machines psotrack runs on. The model's solver splits its rows
among processes (:func:`run_parts`); the REDCap import reads and scores the next records in a
child while the parent stores the previous ones (:func:`made_in_child`).

The solver's rows are independent: on a machine with several cores, blocks of rows can be
integrated at the same time. Threads do not help (each NumPy operation on a block of a few
thousand rows holds the interpreter lock for about a third of its time; two threads were slower
than one), so the parts run in processes made by ``fork``: each child starts with the parent's
memory (parameters, states, the trigger stream's generator, copied as they are at the fork) and
writes its rows into an array in memory shared with the parent, so nothing is pickled. The
parent runs the first part itself. A child that fails is reported as a
:class:`~psotrack.errors.ProcessFailed` after all parts end; an interrupted parent stops its
children before it returns.

Fork is used only where the platform has it (Linux, the supported server). A child computes
only: it never touches the database connections, files or locks it inherits, and it ends with
``os._exit`` (multiprocessing's fork start), so nothing it inherited is closed or flushed twice.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Iterable, Sequence
from multiprocessing.connection import Connection
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from psotrack.errors import ProcessFailed

FloatArray = npt.NDArray[np.float64]
T = TypeVar("T")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Whether this process may fork helpers: the platform has ``fork``, and this is not itself a
    daemonic process (multiprocessing forbids those children)."""
    daemonic = multiprocessing.current_process().daemon
    return "fork" in multiprocessing.get_all_start_methods() and not daemonic


def shared_empty(shape: tuple[int, ...]) -> FloatArray:
    """An uninitialised float64 array in anonymous shared memory (seen by forked children)."""
    size = max(1, int(np.prod(shape)) * 8)
    buffer = mmap.mmap(-1, size)
    return np.frombuffer(buffer, dtype=np.float64, count=int(np.prod(shape))).reshape(shape)


def run_parts(parts: Sequence[Callable[[], None]]) -> None:
    """Run every part, the first in this process and the others in forked children, and wait.

    Each part must write its results into arrays made by :func:`shared_empty` before the fork.
    Raises :class:`~psotrack.errors.ProcessFailed` naming the parts whose child did not end cleanly.
    """
    if not parts:
        return
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_in_child, args=(part,), daemon=True) for part in parts[1:]]
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
        raise ProcessFailed(
            f"forked part(s) {failed} of {len(parts)} did not finish (exit codes "
            f"{[children[k - 2].exitcode for k in failed]}); the work was not completed"
        )


def made_in_child(produce: Callable[[], Iterable[T]]) -> Generator[T, None, None]:
    """The items of ``produce()``, made in a forked child and handed over one at a time.

    The child is forked when the first item is asked for (a generator never started leaves no
    child behind). Each item is pickled by the child and unpickled here; the child makes the
    next item while the caller works on this one (one item ahead: the pipe holds no more). A
    child that fails raises :class:`~psotrack.errors.ProcessFailed` here with its error;
    closing the generator stops the child.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_send_all, args=(produce, sender), daemon=True)
    try:
        child.start()
        sender.close()
        while True:
            try:
                kind, item = receiver.recv()
            except EOFError:
                child.join()
                raise ProcessFailed(
                    f"the child process ended before its last item (exit code {child.exitcode})"
                ) from None
            if kind == "done":
                return
            if kind == "error":
                raise ProcessFailed(f"the child process failed: {item}")
            yield item
    finally:
        receiver.close()
        sender.close()
        if child.is_alive():
            child.terminate()
        if child.pid is not None:
            child.join()


def _in_child(part: Callable[[], None]) -> None:
    """Run ``part`` in a child that leaves Ctrl-C to the parent (which stops its children)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    part()


def _send_all(produce: Callable[[], Iterable[object]], sender: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        for item in produce():
            sender.send(("item", item))
    except Exception as exc:
        sender.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    sender.send(("done", None))
