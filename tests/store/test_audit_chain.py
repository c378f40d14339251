"""The audit hash chain: written by every service, rebuilt by the migration, and checked by
`psotrack audit verify`, which names the first row changed, removed or inserted out of order —
on both databases, with the triggers dropped as someone editing the file by hand would."""

import hashlib
import itertools
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from psotrack.cli import main
from psotrack.services.audit import append
from psotrack.services.context import SYSTEM
from psotrack.services.patients import create_user
from psotrack.store import downgrade, upgrade
from psotrack.store.audit_chain import GENESIS, row_hash, verify_chain
from psotrack.store.models import AuditEntry
from tests.store.conftest import url_of


def test_row_hash_is_sha256_of_the_documented_canonical_text():
    # Known answer: the canonical text written out by hand, hashed with hashlib directly.
    entry = {
        "seq": 1,
        "at": datetime(2026, 1, 5, tzinfo=UTC),
        "actor_id": None,
        "action": "create",
        "entity": "patients",
        "entity_id": 1,
        "field": "sex",
        "old_value": None,
        "new_value": "female",
        "reason": None,
    }
    canonical = (
        f'["{GENESIS}",1,"2026-01-05T00:00:00.000000Z",null,"create","patients",1,"sex",'
        'null,"female",null]'
    )
    assert row_hash(GENESIS, entry) == hashlib.sha256(canonical.encode()).hexdigest()
    naive = dict(entry, at=datetime(2026, 1, 5))  # SQLite returns naive UTC times
    assert row_hash(GENESIS, naive) == row_hash(GENESIS, entry)
    assert row_hash(GENESIS, dict(entry, new_value="male")) != row_hash(GENESIS, entry)


def audit_rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)))


def test_services_write_a_gap_free_chain(recorded):
    rows = audit_rows(recorded.engine)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == GENESIS
    assert all(row.prev_hash == before.row_hash for before, row in itertools.pairwise(rows))
    assert [row.id for row in rows] == sorted(row.id for row in rows)
    with recorded.engine.connect() as conn:
        report = verify_chain(conn)
    assert (report.intact, report.rows, report.head_hash) == (True, len(rows), rows[-1].row_hash)


def test_audit_verify_command_reports_the_count_when_intact(recorded, capsys):
    count = len(audit_rows(recorded.engine))
    assert main(["audit", "verify", "--database-url", url_of(recorded.engine)]) == 0
    assert f"audit log intact: {count} rows; head seq {count}" in capsys.readouterr().out


def tamper(engine, *statements: str) -> None:
    """Edit the audit log as an intruder with the owner's rights would: guards off first."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


def id_at(engine, seq: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT id FROM audit_log WHERE seq = {seq}")).scalar_one()


def check_broken(engine, capsys, expected: str) -> None:
    with engine.connect() as conn:
        report = verify_chain(conn)
    assert not report.intact
    assert report.problem == expected
    assert main(["audit", "verify", "--database-url", url_of(engine)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: audit log broken: {expected}")
    assert "Traceback" not in err


def test_a_changed_value_is_named(recorded, capsys):
    engine = recorded.engine
    row_id = id_at(engine, 5)
    tamper(engine, "UPDATE audit_log SET new_value = 'male' WHERE seq = 5")
    check_broken(
        engine,
        capsys,
        f"audit row seq 5 (id {row_id}) was changed: its values no longer match its hash",
    )


def test_a_removed_row_is_named(recorded, capsys):
    engine = recorded.engine
    after = id_at(engine, 8)
    tamper(engine, "DELETE FROM audit_log WHERE seq = 7")
    check_broken(
        engine,
        capsys,
        f"audit row seq 8 (id {after}): seq 7 removed (the chain jumps from seq 6 to 8)",
    )


def test_a_row_inserted_out_of_order_is_named(recorded, capsys):
    # A forged row at the end, a copy of row 3 with its own (valid) hash: it does not follow
    # the head.
    engine = recorded.engine
    with engine.connect() as conn:
        head = conn.execute(select(func.max(AuditEntry.seq))).scalar_one()
    tamper(
        engine,
        "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, field, old_value, "
        "new_value, reason, seq, prev_hash, row_hash) SELECT at, actor_id, action, entity, "
        f"entity_id, field, old_value, new_value, reason, {head + 1}, prev_hash, row_hash "
        "FROM audit_log WHERE seq = 3",
    )
    forged = id_at(engine, head + 1)
    check_broken(
        engine,
        capsys,
        f"audit row seq {head + 1} (id {forged}) was inserted out of order: it does not follow "
        f"seq {head}",
    )


def test_a_reordered_pair_is_named(recorded, capsys):
    engine = recorded.engine
    third, fourth = id_at(engine, 3), id_at(engine, 4)
    tamper(
        engine,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )
    check_broken(
        engine,
        capsys,
        f"audit row seq 3 (id {fourth}) was inserted out of order: it does not follow seq 2",
    )
    assert third != fourth


def test_migration_chains_rows_written_before_it_in_id_order(empty_engine):
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        for value in ("female", "male", "other"):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, field, "
                    "old_value, new_value, reason) VALUES (CURRENT_TIMESTAMP, NULL, 'create', "
                    f"'patients', 1, 'sex', NULL, '{value}', NULL)"
                )
            )
    upgrade(empty_engine, "0003")  # later revisions add audit rows of their own
    rows = audit_rows(empty_engine)
    assert [(row.seq, row.id, row.new_value) for row in rows] == [
        (1, rows[0].id, "female"),
        (2, rows[0].id + 1, "male"),
        (3, rows[0].id + 2, "other"),
    ]
    with empty_engine.connect() as conn:
        assert verify_chain(conn).rows == 3
    # Down and up again with rows in place: the chain is rebuilt the same way.
    downgrade(empty_engine, "0001")
    upgrade(empty_engine, "0003")
    assert audit_rows(empty_engine) == rows
    with pytest.raises(Exception, match="append-only"), empty_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET new_value = 'x'"))


def test_concurrent_writers_do_not_fork_the_chain(recorded):
    # Four threads, each with its own connection, create users at the same time. Every call
    # that commits adds its rows to one chain; SQLite may refuse a writer whose snapshot went
    # stale (database is locked), which writes nothing.
    failures: list[Exception] = []

    def create(worker: int) -> None:
        for n in range(5):
            name = f"w{worker}-{n}"
            try:
                create_user(
                    recorded, SYSTEM, {"username": name, "display_name": name, "role": "researcher"}
                )
            except Exception as exc:  # counted and checked below
                failures.append(exc)

    threads = [threading.Thread(target=create, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if recorded.engine.dialect.name == "postgresql":
        assert failures == []
    assert all("locked" in str(exc) for exc in failures)
    rows = audit_rows(recorded.engine)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    with recorded.engine.connect() as conn:
        users = conn.execute(
            text("SELECT count(*) FROM users WHERE username <> 'system'")
        ).scalar_one()
        report = verify_chain(conn)
    assert report.intact and report.rows == len(rows)
    assert users == 2 + 20 - len(failures)


def test_a_session_goes_on_from_its_own_head_only_inside_its_transaction(recorded):
    """The appends of one transaction follow one another (the second goes on from the head the
    session kept: the transaction holds the append lock); once it ends, the session's next
    append goes on from the log's head as it is then, another writer's rows included."""

    def entry(value: str) -> dict:
        return {
            "at": datetime.now(UTC),
            "actor_id": None,
            "action": "update",
            "entity": "probe",
            "entity_id": 1,
            "field": "x",
            "old_value": None,
            "new_value": value,
            "reason": "test",
        }

    with recorded.sessions() as session:
        with session.begin():
            append(session, [entry("a")])
            append(session, [entry("b"), entry("c")])
        create_user(recorded, SYSTEM, {"username": "w", "display_name": "w", "role": "researcher"})
        with session.begin():
            append(session, [entry("d")])
    rows = audit_rows(recorded.engine)
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    probes = [row for row in rows if row.entity == "probe"]
    assert [row.new_value for row in probes] == ["a", "b", "c", "d"]
    assert probes[1].seq == probes[0].seq + 1 and probes[2].seq == probes[1].seq + 1
    assert any(row.entity == "users" for row in rows if probes[2].seq < row.seq < probes[3].seq)
    with recorded.engine.connect() as conn:
        assert verify_chain(conn).intact
