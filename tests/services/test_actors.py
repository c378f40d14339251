"""Services trust no caller: every actor is resolved from the users table (issue 14, part 3).

Each reproduction of the issue is here, on both databases: an unknown user id read an
identified timeline, a deactivated clinician wrote visits, a researcher claiming the admin role
created a user, an actor without a user id wrote rows audited as the system; role values that
are not roles raised a bare KeyError.
"""

from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select, update

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.context import SYSTEM, Actor, Permission, resolve_actor
from psotrack.services.corrections import correct_value, delete_record
from psotrack.services.imports import import_assessments
from psotrack.services.patients import create_user
from psotrack.services.timeline import load_timeline
from psotrack.store.models import AuditEntry, User, Visit
from psotrack.store.vocabulary import SYSTEM_USERNAME, Role
from tests.services.conftest import add_visit, administration_form


def count(db, model) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def system_user(db) -> User:
    with db.transaction() as session:
        return session.scalars(select(User).where(User.username == SYSTEM_USERNAME)).one()


def test_an_unknown_user_id_reads_nothing(db, patient_id):
    # Reproduction: Actor(99999, CLINICIAN) read an identified timeline.
    with pytest.raises(PermissionDenied, match="user 99999 does not exist"):
        load_timeline(db, Actor(99999, Role.CLINICIAN), patient_id)


def test_a_deactivated_clinician_writes_no_visit(db, clinician, patient_id):
    # Reproduction: a deactivated clinician still wrote visits.
    add_visit(db, clinician, patient_id)
    with db.transaction() as session:
        session.execute(update(User).where(User.id == clinician.user_id).values(active=False))
    with pytest.raises(PermissionDenied, match="deactivated"):
        add_visit(db, clinician, patient_id, label="W4")
    assert count(db, Visit) == 1


def test_a_deleted_user_may_not_act(db, clinician, patient_id):
    with db.transaction() as session:
        user = session.get(User, clinician.user_id)
        user.deleted_at = user.created_at
    with pytest.raises(PermissionDenied, match="deactivated"):
        load_timeline(db, clinician, patient_id)


def test_a_researcher_claiming_the_admin_role_creates_no_user(db, actors):
    # Reproduction: Actor(<a researcher's id>, Role.ADMIN) created a user.
    before = count(db, User)
    claim = Actor(actors[Role.RESEARCHER].user_id, Role.ADMIN, "admin")
    form = {"username": "mallory", "display_name": "Mallory", "role": "admin"}
    with pytest.raises(PermissionDenied, match="the researcher role may not manage users"):
        create_user(db, claim, form)
    assert count(db, User) == before


def test_the_stored_role_decides_not_the_claimed_one(db, actors, patient_id):
    # A clinician's id acts as a clinician whatever role the caller wrote, and is audited so.
    claim = Actor(actors[Role.CLINICIAN].user_id, Role.RESEARCHER)
    visit_id = add_visit(db, claim, patient_id)
    with db.transaction() as session:
        actors_of_visit = set(
            session.scalars(
                select(AuditEntry.actor_id).where(
                    AuditEntry.entity == "visits", AuditEntry.entity_id == visit_id
                )
            )
        )
    assert actors_of_visit == {actors[Role.CLINICIAN].user_id}


def test_an_actor_without_a_user_id_writes_nothing(db, patient_id):
    # Reproduction: Actor(None, CLINICIAN) wrote rows audited as if by the system.
    before = count(db, AuditEntry)
    for anonymous in (Actor(None, Role.CLINICIAN), Actor(None, Role.ADMIN, "system")):
        with pytest.raises(PermissionDenied, match="without a user id"):
            add_visit(db, anonymous, patient_id)
    assert count(db, Visit) == 0
    assert count(db, AuditEntry) == before


@pytest.mark.parametrize("role", ["Researcher", " admin", "", None, "root", 3])
def test_role_values_that_are_not_roles_are_denied(db, clinician, patient_id, role):
    # Reproduction: these raised a bare KeyError in the GRANTS lookup.
    odd = Actor(clinician.user_id, role)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied, match="is not a role"):
        load_timeline(db, odd, patient_id)
    with pytest.raises(PermissionDenied, match="is not a role"):
        add_visit(db, odd, patient_id)
    assert odd.may(Permission.READ_RESEARCH) is False
    with pytest.raises(PermissionDenied, match="is not a role"):
        odd.require(Permission.READ_RESEARCH)
    assert count(db, Visit) == 0


@pytest.mark.parametrize("user_id", [True, "3", 3.0])
def test_a_user_id_that_is_not_an_integer_is_denied(db, user_id):
    with pytest.raises(PermissionDenied, match="names no user"), db.transaction() as session:
        resolve_actor(session, Actor(user_id, Role.ADMIN), Permission.READ_RESEARCH)


def test_imports_run_as_the_named_system_user_and_the_audit_log_says_so(db, program_id):
    system = system_user(db)
    assert (system.role, system.password_hash, system.active) == (Role.ADMIN, None, True)
    frame = pl.DataFrame({"patient_id": ["P1"], "visit": ["W0"], "day": [0], "pasi": ["7.6"]})
    import_assessments(
        db, SYSTEM, frame, program_id=program_id, day_zero=date(2026, 1, 5), source="f.csv"
    )
    with db.transaction() as session:
        named = session.execute(
            select(AuditEntry.actor_id, User.username)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .where(AuditEntry.reason == "import f.csv")
            .distinct()
        ).all()
    assert named == [(system.id, "system")]


def test_the_system_user_may_not_do_what_a_person_must(db, clinician, patient_id):
    visit_id = add_visit(db, clinician, patient_id)
    event = {
        "patient_id": patient_id,
        "term": "fever",
        "onset_date": date(2026, 1, 6),
        "grade": 1,
        "serious": False,
        "relatedness": "possible",
        "outcome": "recovered",
    }
    # The explicit system actor, and the system user's id however it is claimed.
    as_claimed = Actor(system_user(db).id, Role.ADMIN, "anyone")
    for system in (SYSTEM, as_claimed):
        with pytest.raises(PermissionDenied, match="the system user may not report adverse"):
            report_adverse_event(db, system, event)
        with pytest.raises(PermissionDenied, match="the system user may not correct"):
            correct_value(db, system, "visits", visit_id, "label", "W0b", "typo")
        with pytest.raises(PermissionDenied, match="the system user may not correct"):
            delete_record(db, system, "visits", visit_id, "duplicate")
        with pytest.raises(PermissionDenied, match="the system user may not record cell-therapy"):
            log_administration(db, system, administration_form(patient_id))
    # What it may do: set-up work such as adding users.
    form = {"username": "dr-b", "display_name": "Dr B", "role": "clinician"}
    assert create_user(db, SYSTEM, form) > 0


@pytest.mark.parametrize("name", ["system", "System"])
def test_no_person_may_take_the_system_users_name(db, name):
    form = {"username": name, "display_name": "Impostor", "role": "admin"}
    with pytest.raises(ValidationError, match="reserved"):
        create_user(db, SYSTEM, form)
