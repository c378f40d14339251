"""The text an audit row stores for each kind of value (``services.audit.as_text``).

Known answers are the ISO 8601 forms of the values (``datetime.isoformat``), written out by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum

import pytest

from psotrack.services.audit import as_text
from tests.audit_rows import audited_values

PLUS_1 = timezone(timedelta(hours=1))


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # ISO 8601 with the "T" separator, microseconds and the UTC offset kept.
        (datetime(2026, 12, 2, 5, 6, 7, 123456, tzinfo=UTC), "2026-12-02T05:06:07.123456+00:00"),
        (datetime(2026, 12, 2, 5, 6, 7, tzinfo=PLUS_1), "2026-12-02T05:06:07+01:00"),
        (datetime(2026, 12, 2, 5, 6, 7), "2026-12-02T05:06:07"),
        (date(2026, 12, 2), "2026-12-02"),
        (None, None),
        (Colour.RED, "red"),
        (True, "True"),
        (7, "7"),
        (Decimal("7.60"), "7.60"),
        ("text", "text"),
        ({"b": 1, "a": [2, "x"]}, '{"a": [2, "x"], "b": 1}'),
    ],
)  # fmt: skip
def test_audit_text_of_each_kind_of_value(value: object, text: str | None) -> None:
    assert as_text(value) == text


def test_a_secret_column_is_logged_as_set_never_its_value():
    from psotrack.services.audit import logged

    assert logged("password_hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA") == "set"
    assert logged("password_hash", None) is None
    assert logged("display_name", "Dr Who") == "Dr Who"


def test_any_path_that_audits_a_new_user_with_a_hash_logs_only_that_it_was_set(db):
    # Defence in depth: the user services never audit the hash, but a generic create path that
    # met one (an import, a future service) must not copy it into the append-only log.
    from sqlalchemy import select

    from psotrack.services.audit import audit_created
    from psotrack.services.context import SYSTEM, Permission, resolve_actor
    from psotrack.store.models import AuditEntry, User
    from psotrack.store.vocabulary import Role

    secret = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    with db.transaction() as session:
        actor = resolve_actor(session, SYSTEM, Permission.MANAGE_USERS)
        user = User(username="u1", display_name="U", role=Role.CLINICIAN, password_hash=secret)
        session.add(user)
        audit_created(session, actor, user)
        user_id = user.id
    with db.transaction() as session:
        created = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "users", AuditEntry.entity_id == user_id)
        ).all()
        every_value = session.scalars(select(AuditEntry.new_value)).all()
    assert [audited_values([row])["password_hash"] for row in created] == ["set"]
    assert not any(secret in (value or "") for value in every_value)
