"""On the synthetic demo cohort, the dashboard and its charts say the data are synthetic."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from psotrack.services.demo import build_demo
from psotrack.store.models import Patient
from psotrack.store.vocabulary import Role


@pytest.fixture
def own_patient(db) -> int:
    """Only synthetic patients: the demo's (the patient user is linked to the second)."""
    build_demo(db, patients=2, seed=3)
    with db.transaction() as session:
        return session.scalars(select(Patient.id).order_by(Patient.id)).all()[1]


def test_the_synthetic_cohort_is_labelled_synthetic(client_for):
    client = client_for(Role.RESEARCHER)
    page = client.get("/cohort")
    assert page.status_code == 200
    assert 'id="synthetic-label">SYNTHETIC DATA<' in page.text
    assert "they describe no real patient" in page.text
    for path in ("/cohort/rates.svg", "/cohort/waterfall.svg", "/cohort/adverse-events.svg"):
        assert "SYNTHETIC DATA" in client.get(path).text
