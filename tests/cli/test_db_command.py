"""`psotrack db upgrade | current | downgrade` on a fresh SQLite file, and an unreachable server."""

from alembic.script import ScriptDirectory

from psotrack.cli import main
from psotrack.store.migrate import MIGRATIONS


def test_upgrade_current_downgrade(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "current", "--database-url", url]) == 0
    assert "base" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"schema at revision {head}" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == head
    assert main(["db", "downgrade", "--to", "base", "--database-url", url]) == 0
    assert "schema at revision base" in capsys.readouterr().out


def test_default_url_comes_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PSOTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "env.db").exists()


def test_unreachable_database_is_a_message_not_a_traceback(capsys):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    assert main(["db", "upgrade", "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "error: cannot open the database postgresql+psycopg://postgres@127.0.0.1:1"
    )
    assert "Traceback" not in err


def test_unknown_revision_and_percent_in_password_are_handled(tmp_path, capsys):
    # Found in review: both ended in tracebacks (Alembic's CommandError; ini interpolation).
    from psotrack.store import make_engine
    from psotrack.store.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--to", "abc123", "--database-url", url]) == 2
    assert "revision='abc123'" in capsys.readouterr().err
    config = alembic_config(make_engine("postgresql+psycopg://u:p%40ss@127.0.0.1/x"))
    assert config.get_main_option("sqlalchemy.url") == "postgresql+psycopg://u:p%40ss@127.0.0.1/x"


HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def holding_patients(tmp_path) -> str:
    """A migrated SQLite file with two patients recorded through the services."""
    from psotrack.services.context import Database
    from tests.store.conftest import record_a_patient

    url = f"sqlite:///{tmp_path / 'held.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    db = Database.from_url(url, photo_dir=tmp_path / "photos")
    record_a_patient(db, "MRN-1")
    record_a_patient(db, "MRN-2")
    db.engine.dispose()
    return url


def test_downgrade_of_a_database_with_patients_needs_yes_destroy_data(
    tmp_path, capsys, monkeypatch
):
    url = holding_patients(tmp_path)
    capsys.readouterr()
    assert main(["db", "downgrade", "--to", "base", "--database-url", url]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: --to='base': the database holds 2 patients (")
    assert captured.err.strip().endswith(
        "add --yes-destroy-data to go ahead (a backup is written first)"
    )
    assert len(captured.err.strip().splitlines()) == 1
    assert main(["db", "current", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == HEAD  # nothing done
    monkeypatch.chdir(tmp_path)
    assert (
        main(["db", "downgrade", "--to", "base", "--yes-destroy-data", "--database-url", url]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("backup of ") and " rows written to psotrack-backup-" in out[0]
    assert out[1].endswith("schema at revision base")
    written = tmp_path / out[0].split(" written to ")[1]
    assert written.name.endswith(f"-{HEAD}.sqlite") and written.stat().st_size > 0
    # The backup brings the data back.
    assert main(["db", "restore", str(written), "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert f"(revision {HEAD})" in out and "audit chain intact" in out


def test_backup_and_restore_commands(tmp_path, capsys):
    url = holding_patients(tmp_path)
    output = tmp_path / "copy.sqlite"
    assert main(["db", "backup", "--output", str(output), "--database-url", url]) == 0
    assert f"written to {output}" in capsys.readouterr().out
    assert main(["db", "backup", "--output", str(output), "--database-url", url]) == 2
    assert "a backup never overwrites" in capsys.readouterr().err
    assert main(["db", "restore", str(output), "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "add --replace to overwrite it" in err and len(err.strip().splitlines()) == 1
    assert main(["db", "restore", str(output), "--replace", "--database-url", url]) == 0
    new = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["db", "restore", str(output), "--database-url", new]) == 0
    assert main(["audit", "verify", "--database-url", new]) == 0
    assert main(["db", "restore", str(tmp_path / "none"), "--database-url", new]) == 2


def test_db_commands_use_the_migration_url(tmp_path, capsys, monkeypatch):
    # The app's URL (runtime role) and the schema owner's may differ; db commands take the
    # owner's, audit verify the app's.
    monkeypatch.setenv("PSOTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("PSOTRACK_MIGRATION_URL", f"sqlite:///{tmp_path / 'owner.db'}")
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "owner.db").exists() and not (tmp_path / "app.db").exists()
    monkeypatch.delenv("PSOTRACK_MIGRATION_URL")
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip().endswith("base (no tables)")  # the app's file now


def test_verify_and_backup_refuse_a_missing_or_unmigrated_database(tmp_path, capsys):
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["audit", "verify", "--database-url", missing]) == 2
    assert main(["db", "backup", "--output", str(tmp_path / "b"), "--database-url", missing]) == 2
    assert "an existing database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b").exists()
    old = f"sqlite:///{tmp_path / 'old.db'}"
    assert main(["db", "upgrade", "--to", "0001", "--database-url", old]) == 0
    assert main(["audit", "verify", "--database-url", old]) == 2
    err = capsys.readouterr().err
    assert "(run psotrack db upgrade)" in err and "Traceback" not in err
