"""A bounded, thread-safe memo for pure derivations, keyed by what they are derived from.

The web app asks for the same derived numbers (a patient's change from baseline, their status)
on every view. The derivations are pure functions of the recorded values, so the key is those
values, or what stands for them: the patient's revision, which the database raises on every
change to their record (migration 0008), with :func:`database_token` (revisions of two
databases are not comparable). A correction or a new visit makes a new key, and a kept result
is never stale. Oldest entries go first when the memo is full.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Final, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.pool import Pool

V = TypeVar("V")


class Memo(Generic[V]):
    """At most ``size`` results, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a memo keeps at least one result")
        self.size = size
        self._kept: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            if key not in self._kept:
                return None
            self._kept.move_to_end(key)
            return self._kept[key]

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._kept[key] = value
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


_TOKENS: Final[WeakKeyDictionary[Pool, int]] = WeakKeyDictionary()
_NEXT_TOKEN: Final = itertools.count(1)
_TOKENS_LOCK: Final = Lock()


def database_token(engine: Engine) -> int:
    """A number for ``engine``'s database in this process, never given to another database (an
    id() could be, once the engine is gone): a memo key that holds a revision holds it too.

    The number goes with the engine's connection pool, which the engines made from it with
    other execution options share (:meth:`~psotrack.services.context.Database.reads`): what
    one kept, the other finds. A disposed engine gets a new pool, and so a new number.
    """
    with _TOKENS_LOCK:
        token = _TOKENS.get(engine.pool)
        if token is None:
            token = _TOKENS[engine.pool] = next(_NEXT_TOKEN)
        return token
