"""`psotrack report cohort`: the file written, and bad options refused in one line (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from psotrack.cli import main
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.users import create_user
from psotrack.store.vocabulary import Role
from tests.cohort_records import build_tiny_cohort


@pytest.fixture
def database(engine, tmp_path) -> str:
    """The tiny cohort in a SQLite file (the command opens it by URL); its URL."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the command is run against the SQLite file")
    db = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    users = {}
    for role in (Role.RESEARCHER, Role.CLINICIAN):
        form = {"username": role.value, "display_name": role.value, "role": role.value}
        users[role] = create_user(db, SYSTEM, form)
    build_tiny_cohort(db, Actor(users[Role.CLINICIAN], Role.CLINICIAN, "clinician"))
    return str(engine.url)


def run(url: str, *args: str) -> int:
    return main(["report", "cohort", "--database-url", url, "--user", "researcher", *args])


def test_writes_html_and_pdf(database, tmp_path: Path, capsys):
    html = tmp_path / "cohort.html"
    assert run(database, "--format", "html", "--output", str(html),
               "--generated-at", "2026-12-01") == 0  # fmt: skip
    assert "Cohort report" in html.read_text(encoding="utf-8")
    assert "Generated 2026-12-01 00:00 UTC" in html.read_text(encoding="utf-8")
    pdf = tmp_path / "cohort.pdf"
    assert run(database, "--output", str(pdf), "--from", "2026-01-01", "--to", "2026-01-31") == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "3 enrolled patients" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--format", "docx"), "--format"),
        (("--from", "2026-13-01"), "--from"),
        (("--from", "2026-02-01", "--to", "2026-01-01"), "--to"),
        (("--program", "1_0"), "--program"),
        (("--generated-at", "yesterday"), "--generated-at"),
    ],
)
def test_bad_options_are_refused_naming_the_option(database, tmp_path, capsys, args, named):
    output = tmp_path / "never.html"
    assert run(database, "--output", str(output), *args) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert not output.exists()
