"""`psotrack db upgrade | current | downgrade` on a fresh SQLite file, and an unreachable server."""

from alembic.script import ScriptDirectory

from psotrack.cli import main
from psotrack.store.migrate import MIGRATIONS

#: The newest migration file's revision, whatever it is when the migrations are re-chained.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_upgrade_current_downgrade(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "current", "--database-url", url]) == 0
    assert "base" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert f"schema at revision {HEAD}" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() == HEAD
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
