"""Least privilege on PostgreSQL: `psotrack db grant --role` makes a runtime role that can run
every service but cannot change, remove or unprotect the audit log. Roles are cluster-wide, so
each test makes its own with a random name and drops it afterwards."""

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from psotrack.cli import main
from psotrack.services.context import Database
from psotrack.store import make_engine
from psotrack.store.audit_chain import verify_chain
from tests.store.conftest import record_a_patient, url_of


@pytest.fixture
def runtime(engine: Engine) -> Iterator[tuple[str, Engine]]:
    """A runtime role granted on the test's schema, and an engine connected as it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("roles exist on PostgreSQL only (SQLite is refused: see the CLI test)")
    role = f"psotrack_rt_{uuid.uuid4().hex[:12]}"
    try:
        assert main(["db", "grant", "--role", role, "--database-url", url_of(engine)]) == 0
        as_role = make_url(url_of(engine)).set(username=role)
        runtime_engine = make_engine(as_role.render_as_string(hide_password=False))
        try:
            yield role, runtime_engine
        finally:
            runtime_engine.dispose()
    finally:
        with engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET new_value = 'male'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        "DROP TABLE audit_log",
        "DELETE FROM patients",  # the services soft-delete; nothing may remove a record
        "TRUNCATE patients",
        "CREATE TABLE intruder (id integer)",
        "UPDATE alembic_version SET version_num = '0001'",
    ],
)
def test_runtime_role_cannot_touch_the_audit_log(runtime, statement, tmp_path):
    _, engine = runtime
    record_a_patient(Database.from_engine(engine, photo_dir=tmp_path), "MRN-R")
    with pytest.raises(ProgrammingError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    assert caught.value.orig.sqlstate == "42501"  # insufficient_privilege
    with engine.connect() as conn:
        report = verify_chain(conn)
        assert report.intact and report.rows > 0


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_services_work_as_the_runtime_role(runtime, tmp_path):
    role, engine = runtime
    db = Database.from_engine(engine, photo_dir=tmp_path)
    assessment_id = record_a_patient(db, "MRN-1")
    record_a_patient(db, "MRN-2")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == role
        score = conn.execute(text(f"SELECT score FROM assessments WHERE id = {assessment_id}"))
        assert score.scalar_one() == "4.0"
        assert verify_chain(conn).intact
    # Granting again (after an upgrade, say) updates the role in place.
    owner_url = url_of(engine).replace(f"{role}@", "postgres@")
    assert main(["db", "grant", "--role", role, "--database-url", owner_url]) == 0


@pytest.mark.parametrize("empty_engine", ["postgresql"], indirect=True)
def test_grant_refuses_a_superuser_or_the_owner(engine, capsys):
    assert main(["db", "grant", "--role", "postgres", "--database-url", url_of(engine)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --role='postgres': a role separate from the schema's owner")
    assert len(err.strip().splitlines()) == 1


def test_grant_on_sqlite_says_sqlite_has_no_roles(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "grant", "--role", "psotrack_app", "--database-url", url]) == 2
    assert "SQLite has no roles" in capsys.readouterr().err
