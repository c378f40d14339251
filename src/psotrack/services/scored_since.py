"""Which patients were scored since this process last looked (:class:`ScoredSince`).

The derived values a server process keeps (a patient's status, the list's change from baseline;
see :mod:`psotrack.services.memo`) are keyed by the recorded values they come from, so a patient
whose values changed is derived again. One pass of the endpoint engine costs about as much for
fifty patients as for one, so when a view must derive, it derives in the same pass every patient
scored since the last look (new assessments, written by any process): the views that follow find
them ready. This is only about when work is done; what a view shows is always derived from the
values it has just read.
"""

from __future__ import annotations

from threading import Lock
from typing import Final
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Integer, bindparam, func, select
from sqlalchemy.pool import Pool

from psotrack.store.models import Assessment

#: The newest assessments one look reads at most: a look takes the patients of the assessments
#: written since the last one, newest first, and more than this many (a bulk import) leaves the
#: older ones' patients to be derived on their next view.
LOOKED_AT: Final = 65_536
#: The assessments after the id ``seen``, newest first (at most ``rows``): a range of the primary
#: key. Grouped by patient in one statement, SQLite instead walked the whole patient index of the
#: assessments (all of them, however few were new): 1.45 ms a look on the benchmark's 35 000,
#: growing with the record, against 0.02 ms.
_NEWER: Final = (
    select(Assessment.patient_id, Assessment.id)
    .where(Assessment.id > bindparam("seen", type_=Integer))
    .order_by(Assessment.id.desc())
    .limit(bindparam("rows", type_=Integer))
    .subquery("newer")
)
#: The patients of those assessments (the latest scored first), each with their newest one's id.
_SCORED_SINCE: Final = (
    select(_NEWER.c.patient_id, func.max(_NEWER.c.id))
    .group_by(_NEWER.c.patient_id)
    .order_by(func.max(_NEWER.c.id).desc())
    .limit(bindparam("limit", type_=Integer))
)
_NEWEST: Final = select(func.coalesce(func.max(Assessment.id), 0))


class ScoredSince:
    """The patients with an assessment newer than the newest one this process has looked at,
    per database (one tracker per kind of kept value: each is derived at its own moments).

    A database is its engine's connection pool, which the engines made from it with other
    execution options share (as :func:`~psotrack.services.memo.database_token` counts them).
    """

    def __init__(self) -> None:
        self._seen: WeakKeyDictionary[Pool, int] = WeakKeyDictionary()
        self._lock = Lock()

    def start(self, connection: Connection) -> None:
        """Look now: :meth:`take` then gives the patients scored from here on."""
        newest = int(connection.execute(_NEWEST).scalar_one())
        with self._lock:
            self._seen[connection.engine.pool] = newest

    def take(self, connection: Connection, limit: int) -> list[int]:
        """The patients scored since the last look (at most ``limit``, the latest scored first,
        among the :data:`LOOKED_AT` newest assessments), and look now; none on the first look at
        a database (see :meth:`start`)."""
        database = connection.engine.pool
        with self._lock:  # two threads never take the same patients
            seen = self._seen.get(database)
            if seen is None:
                self._seen[database] = int(connection.execute(_NEWEST).scalar_one())
                return []
            values = {"seen": seen, "rows": LOOKED_AT, "limit": limit}
            scored = connection.execute(_SCORED_SINCE, values).all()
            if scored:
                self._seen[database] = max(seen, int(scored[0][1]))
        return [patient_id for patient_id, _ in scored]
