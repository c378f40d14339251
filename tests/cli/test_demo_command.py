"""`psotrack demo`: builds a synthetic cohort once, through the services, and summarises it."""

import os

from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.store import make_engine
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    AuditEntry,
    LabResult,
    Patient,
    PatientIdentity,
    Photo,
)


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {
            m.__tablename__: conn.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (
                Patient,
                Assessment,
                Administration,
                AdverseEvent,
                LabResult,
                Photo,
                AuditEntry,
            )
        }
        out["synthetic"] = conn.execute(
            select(func.count()).select_from(Patient).where(Patient.synthetic.is_(True))
        ).scalar_one()
        mrns = conn.execute(select(PatientIdentity.mrn)).scalars().all()
    engine.dispose()
    assert all(m.startswith("DEMO-") for m in mrns)
    return out


def test_demo_fills_every_table_once_and_labels_it_synthetic(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "6", "--seed", "3", "--database-url", url]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines to the terminal width
    assert "SYNTHETIC DEMO DATA" in out
    assert "PASI 75 by visit" in out
    assert "say nothing about whether any therapy works" in out
    first = counts(url)
    assert first["patients"] == first["synthetic"] == 6
    assert first["assessments"] == 6 * 7 * 5
    assert first["administrations"] == 6 * 3
    assert first["lab_results"] == 6 * 3 * 3
    assert first["photos"] == 6 * 2 - 2  # the first five patients, at week 0 and week 12
    assert first["audit_log"] > first["assessments"]
    assert main(["demo", "--patients", "6", "--database-url", url]) == 0
    assert "already holds 6 patients" in " ".join(capsys.readouterr().out.split())
    assert counts(url) == first


def test_an_interrupted_demo_leaves_no_half_filled_database(tmp_path, capsys, monkeypatch):
    import psotrack.services.demo as demo_service

    real = demo_service.build_demo

    def interrupted(db, *, patients, seed, progress=None):
        real(db, patients=2, seed=seed)
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_service, "build_demo", interrupted)
    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "6", "--database-url", url]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "demo.db").exists()
    assert [p.name for p in tmp_path.iterdir() if "demo.db" in p.name] == []


def test_a_run_that_finds_the_file_created_meanwhile_discards_its_own(
    tmp_path, capsys, monkeypatch
):
    # Issue 14: two runs into the same new file shared one ".part" file and deleted each other's.
    # Each run now builds under its own name; the one that finishes second finds the file
    # published and says so (exit 2) instead of replacing it with its own.
    import psotrack.cli.demo as demo_command

    target = tmp_path / "demo.db"
    real = demo_command._fill
    parts: list[str] = []

    def other_run_publishes_first(console, engine, patients, seed):
        parts.append(str(engine.url.database))
        real(console, engine, patients, seed)
        target.write_bytes(b"the other run's database")

    monkeypatch.setattr(demo_command, "_fill", other_run_publishes_first)
    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{target}"
    assert main(["demo", "--patients", "2", "--database-url", url]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith(f"error: --database-url='{url}': a file that another run created")
    assert "this run's cohort was discarded" in err
    assert target.read_bytes() == b"the other run's database"
    (part,) = parts
    assert part.startswith(str(tmp_path / ".demo.db.")) and part.endswith(".part")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "photos") == ["demo.db"]


def test_two_demo_processes_into_one_new_file_leave_one_whole_cohort(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "demo.db"
    url = f"sqlite:///{target}"
    env = {**os.environ, "PSOTRACK_PHOTO_DIR": str(tmp_path / "photos")}
    command = [sys.executable, "-c", "from psotrack.cli import main; main()", "demo"]
    runs = [
        subprocess.Popen(
            [*command, "--patients", "3", "--database-url", url],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=300), run.stderr.read() if run.stderr else "") for run in runs]
    codes = sorted(code for code, _ in results)
    # Both finish building (0 and 2), or the second starts after the first published (0 and 0).
    assert codes in ([0, 0], [0, 2]), results
    assert all("Traceback" not in err and "FileNotFoundError" not in err for _, err in results)
    assert counts(url)["patients"] == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "photos") == ["demo.db"]


def test_an_interrupted_demo_into_an_existing_database_adds_nothing_and_a_rerun_completes(
    tmp_path, capsys, monkeypatch
):
    # Issue 14: after `db upgrade`, a demo stopped part-way left part of a cohort for good.
    import psotrack.services.demo as demo_service

    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    empty = counts(url)
    real = demo_service._one_patient

    def stops_at_patient_3(db, clinician, program, number, *args):
        if number == 3:
            raise KeyboardInterrupt
        return real(db, clinician, program, number, *args)  # the patient's id

    monkeypatch.setattr(demo_service, "_one_patient", stops_at_patient_3)
    assert main(["demo", "--patients", "4", "--database-url", url]) == 130
    assert counts(url) == empty
    monkeypatch.setattr(demo_service, "_one_patient", real)
    capsys.readouterr()
    assert main(["demo", "--patients", "4", "--database-url", url]) == 0
    assert "Recorded through the services: 4 patients" in " ".join(capsys.readouterr().out.split())
    assert counts(url)["patients"] == 4


def test_the_demo_prints_one_sign_in_per_role_that_works(tmp_path, capsys, monkeypatch):
    from psotrack.services.auth import authenticate
    from psotrack.services.context import Database
    from psotrack.services.demo import demo_logins
    from psotrack.store.vocabulary import Role

    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "2", "--database-url", url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Demo sign-ins (synthetic demo database only; not secret)" in out
    db = Database.from_engine(make_engine(url))
    for role in Role:
        username = f"demo-{role.value}"
        assert f"{role.value} │ {username} │ {username}-synthetic-demo" in out
        assert authenticate(db, username, f"{username}-synthetic-demo").role == role
    assert [login.role for login in demo_logins(db)] == list(Role)


def test_no_sign_in_is_printed_for_a_database_with_real_patients(tmp_path, capsys, monkeypatch):
    from datetime import date

    from psotrack.services.context import SYSTEM, Database
    from psotrack.services.demo import demo_logins
    from psotrack.services.patients import create_program, enroll_patient

    monkeypatch.setenv("PSOTRACK_PHOTO_DIR", str(tmp_path / "photos"))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--patients", "1", "--database-url", url]) == 0
    db = Database.from_engine(make_engine(url))
    program = create_program(
        db, SYSTEM, {"name": "Real", "regimen": "r", "product_source": "UC-MSC", "route": "IV"}
    )
    real = {
        "mrn": "MRN-REAL-1",
        "family_name": "Real",
        "given_name": "Person",
        "birth_date": date(1970, 1, 1),
        "sex": "male",
        "program_id": program,
        "start_date": date(2026, 1, 5),
        "status": "active",
    }
    enroll_patient(db, SYSTEM, real)
    capsys.readouterr()
    assert main(["demo", "--patients", "1", "--database-url", url]) == 0
    assert "synthetic-demo" not in capsys.readouterr().out
    assert demo_logins(db) == []
