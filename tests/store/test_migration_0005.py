"""Migration 0005 on a database holding users: sign-in columns added, and dropped again cleanly."""

from sqlalchemy import text

from psotrack.services.context import SYSTEM, Database
from psotrack.services.users import create_user
from psotrack.store import current_revision, downgrade, upgrade


def rows(engine, query: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query))]


def test_existing_users_start_unlocked_and_the_downgrade_keeps_them(empty_engine):
    upgrade(empty_engine)
    db = Database.from_engine(empty_engine)
    create_user(db, SYSTEM, {"username": "ada", "display_name": "Ada", "role": "admin"})
    downgrade(empty_engine, "0004")  # the audit log now references both users
    columns = "SELECT * FROM users ORDER BY username"
    with empty_engine.connect() as conn:
        assert "failed_sign_ins" not in conn.execute(text(columns)).keys()
    upgrade(empty_engine, "0005")
    assert current_revision(empty_engine) == "0005"
    query = "SELECT username, failed_sign_ins, locked_until, password_changed_at FROM users"
    assert sorted(rows(empty_engine, query)) == [("ada", 0, None, None), ("system", 0, None, None)]


def test_the_backfilled_count_is_audited_so_every_stored_value_has_its_row(empty_engine):
    from sqlalchemy import text

    from psotrack.store import upgrade
    from psotrack.store.audit_chain import verify_chain

    upgrade(empty_engine, "0005")
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.username, a.old_value, a.new_value, a.reason FROM audit_log a "
                "JOIN users u ON u.id = a.entity_id "
                "WHERE a.entity = 'users' AND a.field = 'failed_sign_ins'"
            )
        ).all()
        assert verify_chain(conn).intact
    assert [tuple(row) for row in rows] == [
        ("system", None, "0", "migration 0005: sign-in bookkeeping")
    ]
