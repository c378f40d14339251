"""Sign-in, passwords and accounts (issue 15, item 1 and 8), on SQLite and PostgreSQL.

Known answers: the lock-out rule of psotrack.services.auth (5 wrong passwords in a row lock for
15 minutes), the password policy (12–128 characters, not the username), and argon2-cffi's
``check_needs_rehash`` for a hash made with weaker parameters than the current ones.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text, update

from psotrack.errors import Conflict, PermissionDenied, ValidationError
from psotrack.services.auth import (
    LOCK_TIME,
    MAX_FAILED_SIGN_INS,
    SIGN_IN_REFUSED,
    authenticate,
    change_password,
    password_hasher,
)
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.users import (
    UserSummary,
    create_user,
    deactivate_user,
    list_users,
    set_password,
)
from psotrack.store.models import AuditEntry, User
from psotrack.store.vocabulary import SYSTEM_USERNAME, Role

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PASSWORD = "plaque-psoriasis-42"  # 19 characters
OTHER = "erythema-induration-7"


def add_user(db: Database, username: str = "jdoe", role: str = "clinician", **kw) -> int:
    form = {"username": username, "display_name": username.title(), "role": role}
    return create_user(db, SYSTEM, form, kw.get("password", PASSWORD), now=T0)


def refusal(db: Database, username: str, password: str, now: datetime = T0) -> str:
    with pytest.raises(PermissionDenied) as caught:
        authenticate(db, username, password, now=now)
    return str(caught.value)


def stored(db: Database, user_id: int) -> User:
    with db.transaction() as session:
        user = session.get(User, user_id)
        session.expunge(user)
        return user


def test_the_right_password_signs_in_as_the_stored_user(db):
    user_id = add_user(db)
    actor = authenticate(db, "jdoe", PASSWORD, now=T0)
    assert actor == Actor(user_id=user_id, role=Role.CLINICIAN, name="jdoe")


def test_wrong_password_and_unknown_user_get_the_same_one_line(db):
    add_user(db)
    wrong = refusal(db, "jdoe", OTHER)
    unknown = refusal(db, "nobody", PASSWORD)
    assert wrong == unknown == SIGN_IN_REFUSED
    assert "\n" not in SIGN_IN_REFUSED


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(db):
    user_id = add_user(db)
    for minute in range(MAX_FAILED_SIGN_INS - 1):
        refusal(db, "jdoe", OTHER, T0 + timedelta(minutes=minute))
    assert stored(db, user_id).failed_sign_ins == 4  # counted in the database
    refusal(db, "jdoe", OTHER, T0 + timedelta(minutes=4))  # the fifth locks until 09:19
    locked_until = T0 + timedelta(minutes=4) + LOCK_TIME
    assert LOCK_TIME == timedelta(minutes=15)
    # While locked even the right password is refused, with the same message.
    just_before = locked_until - timedelta(seconds=1)
    assert refusal(db, "jdoe", PASSWORD, just_before) == SIGN_IN_REFUSED
    # Attempts while locked neither count nor extend the lock: it ends at 09:19 as set.
    assert authenticate(db, "jdoe", PASSWORD, now=locked_until).user_id == user_id
    after = stored(db, user_id)
    assert (after.failed_sign_ins, after.locked_until) == (0, None)


def test_the_lock_holds_for_another_process_on_the_same_database(db):
    add_user(db)
    for _ in range(MAX_FAILED_SIGN_INS):
        refusal(db, "jdoe", OTHER)
    other_process = Database.from_engine(db.engine)  # its own session factory
    assert refusal(other_process, "jdoe", PASSWORD, T0 + timedelta(minutes=1)) == SIGN_IN_REFUSED


def test_a_good_sign_in_resets_the_count(db):
    user_id = add_user(db)
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        refusal(db, "jdoe", OTHER)
    authenticate(db, "jdoe", PASSWORD, now=T0)
    for _ in range(MAX_FAILED_SIGN_INS - 1):  # 4 + 4 wrong, but not 5 in a row: no lock
        refusal(db, "jdoe", OTHER)
    assert stored(db, user_id).locked_until is None
    assert authenticate(db, "jdoe", PASSWORD, now=T0).user_id == user_id


def test_the_lock_is_audited_by_the_system_user(db):
    user_id = add_user(db)
    for _ in range(MAX_FAILED_SIGN_INS):
        refusal(db, "jdoe", OTHER)
    with db.transaction() as session:
        row = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "users",
                AuditEntry.entity_id == user_id,
                AuditEntry.field == "locked_until",
            )
        ).one()
        system_id = session.scalar(select(User.id).where(User.username == SYSTEM_USERNAME))
        assert (row.actor_id, row.new_value) == (system_id, (T0 + LOCK_TIME).isoformat())
        assert row.reason == "5 wrong passwords in a row: locked for 0:15:00"


def test_an_administrator_setting_a_password_unlocks(db):
    user_id = add_user(db)
    for _ in range(MAX_FAILED_SIGN_INS):
        refusal(db, "jdoe", OTHER)
    set_password(db, SYSTEM, user_id, OTHER, now=T0)
    assert authenticate(db, "jdoe", OTHER, now=T0).user_id == user_id
    assert refusal(db, "jdoe", PASSWORD) == SIGN_IN_REFUSED  # the old one no longer works


def test_a_deactivated_user_is_refused_even_with_the_right_password(db):
    user_id = add_user(db)
    deactivate_user(db, SYSTEM, user_id, "left the clinic")
    assert refusal(db, "jdoe", PASSWORD) == SIGN_IN_REFUSED
    assert stored(db, user_id).failed_sign_ins == 0  # nothing to count for a closed account


def test_a_deleted_user_is_refused(db):
    user_id = add_user(db)
    with db.transaction() as session:
        session.execute(update(User).where(User.id == user_id).values(deleted_at=T0))
    assert refusal(db, "jdoe", PASSWORD) == SIGN_IN_REFUSED


@pytest.mark.parametrize("password", ["", "system", PASSWORD])
def test_the_system_user_cannot_sign_in(db, password):
    assert refusal(db, SYSTEM_USERNAME, password) == SIGN_IN_REFUSED


def test_the_system_user_never_gets_a_password_nor_is_deactivated(db):
    with db.transaction() as session:
        system_id = session.scalar(select(User.id).where(User.username == SYSTEM_USERNAME))
    with pytest.raises(ValidationError, match="system user never has a password"):
        set_password(db, SYSTEM, system_id, PASSWORD)
    with pytest.raises(ValidationError, match="imports and the demo act as it"):
        deactivate_user(db, SYSTEM, system_id)
    assert stored(db, system_id).password_hash is None


def test_an_outdated_hash_is_upgraded_at_sign_in(db, monkeypatch):
    # psotrack's own hasher, whatever a session-wide fixture (the browser tests' live server
    # signs in with a light one) has put in its place in this process.
    monkeypatch.setattr("psotrack.services.auth.password_hasher", password_hasher)
    user_id = add_user(db)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert password_hasher().check_needs_rehash(weak)
    with db.transaction() as session:
        session.execute(update(User).where(User.id == user_id).values(password_hash=weak))
    authenticate(db, "jdoe", PASSWORD, now=T0)
    upgraded = stored(db, user_id).password_hash
    assert upgraded != weak
    assert not password_hasher().check_needs_rehash(upgraded)
    assert password_hasher().verify(upgraded, PASSWORD)
    with db.transaction() as session:
        row = session.scalars(select(AuditEntry).where(AuditEntry.new_value == "rehashed")).one()
        assert (row.actor_id, row.field, row.old_value) == (user_id, "password_hash", "changed")


def test_a_user_changes_their_own_password(db):
    user_id = add_user(db)
    actor = authenticate(db, "jdoe", PASSWORD, now=T0)
    later = T0 + timedelta(days=1)
    change_password(db, actor, PASSWORD, OTHER, now=later)
    assert authenticate(db, "jdoe", OTHER, now=later).user_id == user_id
    assert refusal(db, "jdoe", PASSWORD, later) == SIGN_IN_REFUSED
    changed_at = stored(db, user_id).password_changed_at
    assert changed_at.replace(tzinfo=UTC) == later


def test_change_password_needs_the_current_one_and_counts_failures(db):
    user_id = add_user(db)
    actor = authenticate(db, "jdoe", PASSWORD, now=T0)
    with pytest.raises(PermissionDenied, match="current password is wrong"):
        change_password(db, actor, OTHER, "a-brand-new-password", now=T0)
    assert stored(db, user_id).failed_sign_ins == 1
    with pytest.raises(ValidationError, match="other than the current one"):
        change_password(db, actor, PASSWORD, PASSWORD, now=T0)


def test_the_system_actor_has_no_password_to_change(db):
    with pytest.raises(PermissionDenied, match="the system user may not change their own"):
        change_password(db, SYSTEM, "", PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("eleven-char", "password=(hidden, 11 characters) is outside 12–128 characters"),
        ("x" * 129, "password=(hidden, 129 characters) is outside 12–128 characters"),
        ("JDoe-Account", None),  # 12 characters, accepted below as a control
        ("jdoe", "password=(hidden, 4 characters) is outside 12–128 characters"),
    ],
)
def test_password_policy_names_the_field_and_never_the_password(db, password, message):
    if message is None:
        assert add_user(db, password=password) > 0
        return
    with pytest.raises(ValidationError) as caught:
        add_user(db, password=password)
    assert str(caught.value) == message
    assert caught.value.field == "password"
    assert password not in str(caught.value)
    assert password not in repr(caught.value.problems)
    with db.transaction() as session:  # nothing half-written
        assert session.scalar(select(User.id).where(User.username == "jdoe")) is None


def test_the_policy_refuses_the_username_as_password(db):
    username = "dermatologist.a"  # 15 characters: long enough, but the username
    with pytest.raises(ValidationError) as caught:
        add_user(db, username=username, password=username.upper())
    assert str(caught.value) == (
        "password=(hidden, 15 characters): a password other than the username"
    )
    assert username.upper() not in repr(caught.value.problems)


def test_128_characters_are_accepted(db):
    add_user(db, password="p" * 128)
    assert authenticate(db, "jdoe", "p" * 128, now=T0).name == "jdoe"


def test_no_audit_row_holds_a_password_or_its_hash(db):
    user_id = add_user(db)  # created with PASSWORD
    hashes = {stored(db, user_id).password_hash}
    set_password(db, SYSTEM, user_id, OTHER, now=T0)
    hashes.add(stored(db, user_id).password_hash)
    actor = authenticate(db, "jdoe", OTHER, now=T0)
    third = "scalp-nail-palmoplantar"
    change_password(db, actor, OTHER, third, now=T0)
    hashes.add(stored(db, user_id).password_hash)
    secrets = {PASSWORD, OTHER, third} | hashes
    with db.transaction() as session:
        rows = session.scalars(select(AuditEntry)).all()
        texts = [
            " ".join(str(v) for v in (row.field, row.old_value, row.new_value, row.reason) if v)
            for row in rows
        ]
        changes = [
            (row.old_value, row.new_value)
            for row in rows
            if row.entity_id == user_id and row.field == "password_hash"
        ]
    assert len(hashes) == 3
    assert not [text for text in texts for secret in secrets if secret in text]
    assert changes == [(None, "changed"), ("changed", "changed"), ("changed", "changed")]


def test_list_users_shows_accounts_without_hashes(db):
    user_id = add_user(db, "ada", role="admin")
    add_user(db, "zed", role="researcher")
    found = list_users(db, Actor(user_id, Role.ADMIN))
    assert [(u.username, u.role, u.has_password) for u in found] == [
        ("ada", Role.ADMIN, True),
        (SYSTEM_USERNAME, Role.ADMIN, False),
        ("zed", Role.RESEARCHER, True),
    ]
    assert "password_hash" not in UserSummary.__dataclass_fields__
    assert all(u.active and not u.locked(T0) for u in found)


def test_only_administrators_manage_users(db):
    user_id = add_user(db, "zed", role="researcher")
    as_researcher = Actor(user_id, Role.RESEARCHER)
    with pytest.raises(PermissionDenied, match="the researcher role may not manage users"):
        list_users(db, as_researcher)
    with pytest.raises(PermissionDenied, match="may not manage users"):
        set_password(db, as_researcher, user_id, OTHER)


def test_nobody_deactivates_themselves_and_twice_is_a_conflict(db):
    admin_id = add_user(db, "ada", role="admin")
    user_id = add_user(db)
    admin = Actor(admin_id, Role.ADMIN)
    with pytest.raises(ValidationError, match="other than yourself"):
        deactivate_user(db, admin, admin_id)
    deactivate_user(db, admin, user_id)
    with pytest.raises(Conflict, match="already deactivated"):
        deactivate_user(db, admin, user_id)
    with db.transaction() as session:
        row = session.scalars(
            select(AuditEntry).where(AuditEntry.field == "active", AuditEntry.action == "update")
        ).one()
        assert (row.actor_id, row.old_value, row.new_value) == (admin_id, "True", "False")


def test_a_user_without_a_password_cannot_sign_in(db):
    create_user(db, SYSTEM, {"username": "nopw", "display_name": "No PW", "role": "coordinator"})
    assert refusal(db, "nopw", "") == SIGN_IN_REFUSED
    assert refusal(db, "nopw", PASSWORD) == SIGN_IN_REFUSED


def test_a_username_with_a_control_character_is_refused_like_an_unknown_one(db):
    # PostgreSQL cannot compare a text holding NUL: the look-up raised a driver error (a 500).
    add_user(db)
    assert refusal(db, "jd\x00oe", PASSWORD) == refusal(db, "jdoe\x1b", PASSWORD) == SIGN_IN_REFUSED


def test_the_sign_in_look_up_reads_outside_a_transaction_on_postgresql(db):
    """db.reading() (each request's sign-in look-up) sends no BEGIN before its reads on
    PostgreSQL: each statement starts its own transaction (its transaction time is its
    statement time), and each read sees the latest commits (on SQLite too: its driver begins a
    transaction only before a write)."""
    with db.reading() as connection:
        before = connection.scalar(text("SELECT count(*) FROM users"))
        create_user(db, SYSTEM, {"username": "later", "display_name": "L", "role": "researcher"})
        assert connection.scalar(text("SELECT count(*) FROM users")) == before + 1
        if db.engine.dialect.name == "postgresql":
            for _ in range(2):
                assert connection.scalar(text("SELECT now() = statement_timestamp()")) is True
                time.sleep(0.002)
