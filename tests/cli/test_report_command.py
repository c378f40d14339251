"""`psotrack report patient`: the file written whole, bad options refused in one line (exit 2)."""

import pytest

from psotrack.cli import main
from psotrack.services.context import Database
from psotrack.services.demo import build_demo
from psotrack.store import make_engine, upgrade


@pytest.fixture
def demo(tmp_path) -> list[str]:
    """A one-patient synthetic demo; the options every command below needs."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    photos = tmp_path / "photos"
    engine = make_engine(url)
    upgrade(engine)
    build_demo(Database.from_engine(engine, photo_dir=photos), patients=1, seed=2)
    engine.dispose()
    return ["--database-url", url, "--photo-dir", str(photos)]


def test_writes_the_html_report_with_the_date_asked_for(tmp_path, demo, capsys):
    out = tmp_path / "report.html"
    args = ["report", "patient", "1", "--user", "demo-clinician", "--output", str(out)]
    assert main([*args, "--format", "html", "--generated-at", "2026-12-01", *demo]) == 0
    text = out.read_text(encoding="utf-8")
    assert "Generated 2026-12-01 00:00 UTC by psotrack" in text
    assert text.count("SYNTHETIC DATA") >= 2  # the banner and the title line
    printed = capsys.readouterr().out
    assert f"wrote the progress report of patient 1 to {out} (html)" in printed
    assert not list(tmp_path.glob(".report.html.*"))  # no temporary file left beside it


def test_writes_a_pdf_by_default(tmp_path, demo):
    out = tmp_path / "report.pdf"
    args = ["report", "patient", "1", "--user", "demo-coordinator", "--output", str(out)]
    assert main([*args, *demo]) == 0
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        ("--format", "docx", "error: --format='docx': pdf or html"),
        ("--generated-at", "2026-13-45", "error: --generated-at='2026-13-45': an ISO 8601 date"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, demo, capsys, option, value, line):
    out = tmp_path / "report.pdf"
    args = ["report", "patient", "1", "--user", "demo-clinician", "--output", str(out)]
    assert main([*args, option, value, *demo]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(line)
    assert not out.exists()


def test_a_patient_id_outside_the_number_grammar_is_refused(tmp_path, demo, capsys):
    out = tmp_path / "report.pdf"
    args = ["report", "patient", "1_0", "--user", "demo-clinician", "--output", str(out)]
    assert main([*args, *demo]) == 2
    assert "PATIENT_ID='1_0'" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("user", "patient", "message"),
    [
        ("demo-researcher", "1", "error: "),
        ("demo-clinician", "999", "error: no patient"),
    ],
)
def test_no_report_for_a_role_without_identified_access_or_an_unknown_patient(
    tmp_path, demo, capsys, user, patient, message
):
    out = tmp_path / "report.pdf"
    args = ["report", "patient", patient, "--user", user, "--output", str(out)]
    assert main([*args, *demo]) == 1
    assert capsys.readouterr().err.startswith(message)
    assert not out.exists()
