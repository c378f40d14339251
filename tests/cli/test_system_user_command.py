"""The command line acts as the named ``system`` user, and the audit log says so."""

from sqlalchemy import select

from psotrack.cli import main
from psotrack.store import make_engine
from psotrack.store.models import AuditEntry, User


def test_an_import_from_the_command_line_is_audited_as_the_system_user(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    source = tmp_path / "scores.csv"
    source.write_text("patient_id,visit,day,pasi\nP1,W0,0,12.0\nP1,W4,28,6.0\n")
    assert main(["db", "upgrade", "--database-url", url]) == 0
    argv = ["import", "assessments", "--database-url", url, "--program", "P"]
    assert main([*argv, "--input", str(source), "--create-program"]) == 0
    engine = make_engine(url)
    with engine.connect() as conn:
        actors = conn.execute(
            select(User.username, User.password_hash)
            .join(AuditEntry, AuditEntry.actor_id == User.id)
            .distinct()
        ).all()
        anonymous = conn.execute(select(AuditEntry.id).where(AuditEntry.actor_id.is_(None)))
        assert anonymous.first() is None
    engine.dispose()
    assert actors == [("system", None)]  # named, and without a password: no one signs in as it
