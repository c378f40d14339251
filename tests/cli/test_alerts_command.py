"""The `psotrack alerts` command on a temporary SQLite file filled through the services."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from psotrack.cli import main
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, create_user, enroll_patient
from psotrack.store import make_engine, upgrade
from psotrack.store.models import SafetyFlag
from psotrack.store.vocabulary import Role
from tests.services.conftest import patient_form
from tests.services.test_administrations import dose_form
from tests.services.test_adverse_events import serious_form


@pytest.fixture
def filled(tmp_path) -> tuple[str, dict[str, int]]:
    """Two patients: one low-viability dose (patient a), one serious adverse event (patient b)."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database.from_engine(engine)
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV",
            "regimen": "UC-MSC 1.5e6 cells/kg IV",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
            "viability_threshold_pct": 80.0,
        },
    )
    # Dosing and reporting an adverse event need a person: a clinician does them.
    user = {"username": "dr-a", "display_name": "Dr A", "role": "clinician"}
    clinician = Actor(create_user(db, SYSTEM, user), Role.CLINICIAN)
    a = enroll_patient(db, clinician, patient_form(program, mrn="A"))
    b = enroll_patient(db, clinician, patient_form(program, mrn="B"))
    log_administration(db, clinician, dose_form(a, viability_pct=75.0))
    form = serious_form(b, ["hospitalisation"], grade=2)
    report_adverse_event(db, clinician, form, recorded_on=date(2026, 3, 2))
    engine.dispose()
    return url, {"a": a, "b": b}


def run_json(capsys, *args: str) -> list[dict]:
    assert main(["alerts", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_open_flags_newest_first(filled, capsys):
    url, patients = filled
    rows = run_json(capsys, "--database-url", url)
    assert [(r["kind"], r["patient_id"]) for r in rows] == [
        ("serious adverse event", patients["b"]),
        ("viability below release threshold", patients["a"]),
    ]
    assert rows[0]["due_date"] == "2026-03-17"  # hospitalisation, unexpected, related: 15 days
    assert rows[1]["due_date"] is None
    assert rows[1]["entity"] == "administrations"
    assert rows[0]["acknowledged"] is False
    datetime.fromisoformat(rows[0]["raised_at"])  # ISO text


def test_patient_filter_and_acknowledged_flags(filled, capsys):
    url, patients = filled
    rows = run_json(capsys, "--database-url", url, "--patient", str(patients["a"]))
    assert [r["kind"] for r in rows] == ["viability below release threshold"]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(SafetyFlag).values(acknowledged_at=datetime(2026, 3, 3, tzinfo=UTC)))
    engine.dispose()
    assert run_json(capsys, "--database-url", url) == []
    everything = run_json(capsys, "--database-url", url, "--all")
    assert len(everything) == 2
    assert all(r["acknowledged"] for r in everything)


def test_text_output_shows_kind_due_date_and_message(filled, capsys):
    url, patients = filled
    assert main(["alerts", "--database-url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Safety flags (2, newest first)"
    assert f"patient {patients['b']}  serious adverse event  raised " in lines[1]
    assert lines[1].endswith("report due 2026-03-17")
    assert lines[2].startswith(
        "    serious adverse event 'thromboembolic event' "
        "(reported as 'Pulmonary embolism', grade 2"
    )
    assert "viability below release threshold" in lines[3]
    assert "viability 75 % is below the release threshold 80 %" in lines[4]


def test_database_url_comes_from_settings(filled, capsys, monkeypatch):
    url, _ = filled
    monkeypatch.setenv("PSOTRACK_DATABASE_URL", url)
    assert len(run_json(capsys)) == 2


def test_empty_database_asks_for_an_upgrade(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = make_engine(url)
    with engine.connect():
        pass  # creates the file with no tables
    engine.dispose()
    assert main(["alerts", "--database-url", url]) == 2  # issue 14: bad input, one line, exit 2
    assert "run psotrack db upgrade first" in capsys.readouterr().err


def test_missing_sqlite_file_is_not_created(tmp_path, capsys):
    path = tmp_path / "nowhere.db"
    assert main(["alerts", "--database-url", f"sqlite:///{path}", "--json"]) == 2
    assert "run psotrack db upgrade first" in capsys.readouterr().err
    assert not path.exists()


def test_no_flags_prints_a_plain_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'quiet.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    assert main(["alerts", "--database-url", url]) == 0
    assert "No safety flags." in capsys.readouterr().out
    assert run_json(capsys, "--database-url", url) == []
