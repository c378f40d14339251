"""services.own_record: the patient is the one linked to the account, read from the database."""

import pytest
from sqlalchemy import update

from psotrack.errors import NotFound, PermissionDenied
from psotrack.services.own_record import own_record, record_own_outcome
from psotrack.store.models import User
from psotrack.store.vocabulary import Role
from tests.services.conftest import add_visit


def test_a_linked_patient_with_nothing_recorded_reads_an_empty_record(db, actors):
    record = own_record(db, actors[Role.PATIENT])
    assert record.research_id == "PT-ACCOUNT1"
    assert (record.status_kind, record.status_sentence) == (
        "no_baseline",
        "no baseline PASI recorded yet",
    )
    assert record.scores.height == 0 and record.visits == ()


def test_the_claimed_actor_does_not_choose_the_patient(db, actors, clinician, patient_id):
    """Another patient's visit is not found for the patient account, whatever it claims."""
    visit = add_visit(db, clinician, patient_id)
    with pytest.raises(NotFound):
        record_own_outcome(db, actors[Role.PATIENT], visit, "itch_nrs", {"score": 4})


def test_a_deactivated_or_relinked_account_reads_nothing(db, actors):
    patient = actors[Role.PATIENT]
    with db.transaction() as session:
        session.execute(update(User).where(User.id == patient.user_id).values(active=False))
    with pytest.raises(PermissionDenied, match="deactivated"):
        own_record(db, patient)
    with db.transaction() as session:
        session.execute(update(User).where(User.id == patient.user_id).values(patient_id=None))
    with pytest.raises(PermissionDenied):
        own_record(db, patient)
