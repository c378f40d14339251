"""SQLAlchemy 2 models of the clinical record; ``Base.metadata`` is what migrations build."""

from psotrack.store.models.audit import AuditEntry
from psotrack.store.models.base import Base
from psotrack.store.models.clinical import (
    Administration,
    Assessment,
    ConcomitantTherapy,
    LabResult,
    Photo,
    Visit,
)
from psotrack.store.models.people import (
    KEPT_BY_THE_DATABASE,
    Enrollment,
    Patient,
    PatientIdentity,
    Program,
    User,
)
from psotrack.store.models.safety import AdverseEvent, SafetyFlag

__all__ = [
    "KEPT_BY_THE_DATABASE",
    "Administration",
    "AdverseEvent",
    "Assessment",
    "AuditEntry",
    "Base",
    "ConcomitantTherapy",
    "Enrollment",
    "LabResult",
    "Patient",
    "PatientIdentity",
    "Photo",
    "Program",
    "SafetyFlag",
    "User",
    "Visit",
]
