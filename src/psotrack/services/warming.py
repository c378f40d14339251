"""Each server process keeps its patients' derived statuses and list changes ready.

The patient page's status and the patient list's change from baseline are derived by the
endpoint engine and kept per process, keyed by the recorded values they come from
(:mod:`psotrack.services.memo`): a kept value is never stale, and a patient whose values have
changed is derived again. One pass of the engine costs about the same for one patient as for
fifty (about 6 ms on the project's machine), so deriving many patients at once is what keeps the
views fast after data entry. :class:`Warmer` derives the patients with the latest visits when
the process starts; from then on, whenever a view must derive, it derives in the same pass every
patient scored since the last look (:mod:`psotrack.services.scored_since`), and
:meth:`Warmer.refresh` (the web app calls it every ``Settings.warm_every_ms``) does the same
without waiting for a view.

Nothing here decides what a page shows: a view whose values are not kept derives them from what
it has just read, as it always did. A change that adds no assessment (a correction, a deleted
visit, a first dose) is derived on that patient's next view.
"""

from __future__ import annotations

from dataclasses import dataclass

from psotrack.services import search, status
from psotrack.services.context import Database


@dataclass
class Warmer:
    """Derives patients' statuses and list changes in batches for this process (module text).

    ``limit``: how many patients :meth:`start` derives (0: none).
    """

    db: Database
    limit: int = status.KEPT_STATUSES

    def start(self) -> int:
        """Derive the ``limit`` patients with the latest visits; the number of statuses kept.
        Patients scored from the moment it starts are left to :meth:`refresh` and the views."""
        with self.db.reading() as connection:
            for pending in (status.PENDING, search.PENDING):
                pending.start(connection)
        patients = status.recent_patients(self.db, self.limit)
        kept = status.keep_statuses(self.db, patients)
        search.keep_changes(self.db, patients)
        return kept

    def refresh(self) -> int:
        """Derive the patients scored since the last look, statuses and list changes (each in
        one pass); the number of statuses kept."""
        with self.db.transaction() as session:
            kept = status.keep_pending_statuses(session)
            search.keep_pending_changes(session)
        return kept
