"""Each server process keeps its patients' derived statuses and list changes ready.

The patient page's status and the patient list's change from baseline are derived by the
endpoint engine and kept per process, keyed by the recorded values they come from
(:mod:`psotrack.services.memo`): a kept value is never stale, and a patient whose values have
changed is derived again on their next view. One pass of the engine costs about the same for one
patient as for fifty (about 6 ms on the project's machine), so deriving many patients at once is
what keeps the views fast after data entry. :class:`Warmer` derives the patients with the latest
visits when the process starts and then, each time it is asked (the web app asks every
``Settings.warm_every_ms``), the patients scored since it last looked (new assessments written by
any process), each group in one pass.

Nothing here decides what a page shows: a view whose values are not kept derives them itself, as
it always did. A change that adds no assessment (a correction, a deleted visit, a first dose) is
derived on that patient's next view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Integer, bindparam, func, select

from psotrack.services.context import Database
from psotrack.services.search import keep_changes
from psotrack.services.status import KEPT_STATUSES, keep_statuses, recent_patients
from psotrack.store.models import Assessment

#: The patients scored after the assessment id ``seen`` (the latest scored first), each with
#: their newest assessment id.
_SCORED_SINCE: Final = (
    select(Assessment.patient_id, func.max(Assessment.id))
    .where(Assessment.id > bindparam("seen", type_=Integer))
    .group_by(Assessment.patient_id)
    .order_by(func.max(Assessment.id).desc())
    .limit(KEPT_STATUSES)
)
_NEWEST: Final = select(func.coalesce(func.max(Assessment.id), 0))


@dataclass
class Warmer:
    """Derives patients' statuses and list changes in batches for this process (module text).

    ``limit``: how many patients :meth:`start` derives (0: none). ``seen``: the newest assessment
    id already looked at; :meth:`refresh` derives the patients scored after it.
    """

    db: Database
    limit: int = KEPT_STATUSES
    seen: int = 0

    def start(self) -> int:
        """Derive the ``limit`` patients with the latest visits; the number of statuses kept."""
        self.seen = self._newest()
        patients = recent_patients(self.db, self.limit)
        kept = keep_statuses(self.db, patients)
        keep_changes(self.db, patients)
        return kept

    def refresh(self) -> int:
        """Derive the patients scored since the last look (at most :data:`KEPT_STATUSES`, the
        latest scored first); the number of those patients."""
        with self.db.reading() as connection:
            scored = connection.execute(_SCORED_SINCE, {"seen": self.seen}).all()
        if not scored:
            return 0
        self.seen = max(self.seen, scored[0][1])
        patients = [patient_id for patient_id, _ in scored]
        keep_statuses(self.db, patients)
        keep_changes(self.db, patients)
        return len(patients)

    def _newest(self) -> int:
        with self.db.reading() as connection:
            return int(connection.execute(_NEWEST).scalar_one())
