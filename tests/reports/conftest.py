"""The services' fixtures (a migrated database of each kind, one user per role, one program)."""

from tests.services.conftest import actors, clinician, db, patient_id, program_id  # noqa: F401
