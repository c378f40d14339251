"""psotrack: measure, with its uncertainty, whether each psoriasis patient is improving and safe."""

from psotrack.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Problem,
    PsotrackError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "PsotrackError",
    "ValidationError",
    "__version__",
]
