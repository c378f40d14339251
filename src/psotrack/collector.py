"""Pausing Python's cyclic garbage collector while a large structure is built or written.

An import or export holds hundreds of thousands of small objects (rows, dicts, audit entries)
that all stay alive to the end; each full collection would walk all of them again, to free
nothing. Paused, memory is unchanged for that (mostly acyclic) data; reference counting still frees
everything else at once, and what cycles were left are collected when the pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if on) for the ``with`` block; restore it after."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
