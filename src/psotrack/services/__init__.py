"""Use cases: one function per thing a user does, each one transaction with its audit rows.

The read services the web app, the CLI and the reports share are exported here; they are
imported on first use (so importing one service module does not load them all).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psotrack.services.cohort import CohortRates, cohort_rates
    from psotrack.services.search import PatientListRow, PatientPage, search_patients
    from psotrack.services.status import PatientStatus, patient_status

#: Exported name → the module that defines it.
_EXPORTS = {
    "CohortRates": "cohort",
    "cohort_rates": "cohort",
    "PatientListRow": "search",
    "PatientPage": "search",
    "search_patients": "search",
    "PatientStatus": "status",
    "patient_status": "status",
}

__all__ = [
    "CohortRates",
    "PatientListRow",
    "PatientPage",
    "PatientStatus",
    "cohort_rates",
    "patient_status",
    "search_patients",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"psotrack.services.{_EXPORTS[name]}"), name)
