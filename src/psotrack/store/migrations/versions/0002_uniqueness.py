"""A visit is recorded once: one live visit per patient and label, enforced by the database

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 04:00:00

The services already refused a second visit with the same label by reading first; two imports
running at the same moment could both pass that read. This partial unique index (rows not
deleted) makes the second one fail. The other uniqueness rules the services promise (MRN,
username, program name, research id) were unique constraints from 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from psotrack.errors import Problem, ValidationError

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    _refuse_duplicate_visits()
    op.create_index(
        "uq_visits_patient_id_label",
        "visits",
        ["patient_id", "label"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_visits_patient_id_label", table_name="visits")


def _refuse_duplicate_visits() -> None:
    """Name each patient and label already recorded twice (the index could not be built)."""
    doubled = op.get_bind().execute(
        sa.text(
            "SELECT patient_id, label, COUNT(*) FROM visits WHERE deleted_at IS NULL "
            "GROUP BY patient_id, label HAVING COUNT(*) > 1 ORDER BY patient_id, label"
        )
    )
    problems = [
        Problem(
            "visits.label",
            label,
            f"one live visit per label, but patient {patient_id} has {count}: relabel or "
            "delete the duplicates before upgrading",
            "invalid",
        )
        for patient_id, label, count in doubled
    ]
    if problems:
        raise ValidationError(problems=problems[:50])
