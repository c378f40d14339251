"""`psotrack import redcap` and `psotrack import dlqi` on the hand-written files.

DLQI known answers (items 0–3 summed, instruments.md): S01 baseline 3+3+2+2+1+1+3+0+0+1 = 16 and
week 12 1+1+2 = 4 (q7 coded 2 = "no, a lot"); S02 baseline 2×9 + 0 = 18, the file says 20; S02
week 12 q7 blank, one blank scores 0: 0; S03 baseline two blanks: not scored, the file says 7.
"""

from pathlib import Path

from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.services.context import SYSTEM, Database
from psotrack.services.users import create_user
from psotrack.store import make_engine
from psotrack.store.models import Assessment, AuditEntry, Patient, Visit

DATA = Path(__file__).parents[1] / "data"


def database(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    engine = make_engine(url)
    form = {"username": "ada", "display_name": "Ada", "role": "admin"}
    create_user(Database.from_engine(engine), SYSTEM, form)
    engine.dispose()
    return url


def counts(url: str) -> tuple[int, ...]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = tuple(
            conn.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Patient, Visit, Assessment, AuditEntry)
        )
    engine.dispose()
    return found


def redcap(url: str, records: str, *more: str) -> list[str]:
    return [
        "import", "redcap", "--database-url", url, "--user", "ada", "--program", "P",
        "--dictionary", str(DATA / "redcap" / "dictionary.csv"),
        "--records", str(DATA / "redcap" / records), *more,
    ]  # fmt: skip


def test_redcap_dry_run_then_import_lists_the_wrong_calculated_pasi(tmp_path, capsys):
    url = database(tmp_path)
    before = counts(url)
    assert main(redcap(url, "records.csv", "--create-program", "--dry-run")) == 0
    out = capsys.readouterr().out
    assert "would import (dry run, nothing stored)" in out
    assert "record 1, event week_4_arm_1: pasi_total=12.4 in the file, psotrack computes 7.4" in out
    assert counts(url) == before
    assert main(redcap(url, "records.csv", "--create-program")) == 0
    out = capsys.readouterr().out
    assert "3 records, 3 new patients, 4 visits, 8 assessments, 2 lab results" in out
    assert "1 rows without data skipped" in out
    assert counts(url)[:3] == (3, 4, 8)


def test_bad_redcap_export_exit_2_every_problem_named_nothing_stored(tmp_path, capsys):
    url = database(tmp_path)
    before = counts(url)
    assert main(redcap(url, "records_bad.csv", "--create-program")) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 6
    assert err[0] == (
        "error: record 1, event baseline_arm_1: pasi_trunk_area=7 is outside 0–6 (an area score)"
    )
    assert err[-1].startswith(
        "error: record 1, event week_4_arm_1, instance 2: ae_serious_criteria"
    )
    assert counts(url) == before  # no program, patient, visit, assessment or audit row


def test_a_bad_mapping_is_refused_before_any_work(tmp_path, capsys):
    url = database(tmp_path)
    mapping = tmp_path / "map.toml"
    mapping.write_text("[pasi.fields]\ntrunk_area = 3\n")
    assert main(redcap(url, "records.csv", "--mapping", str(mapping))) == 2
    assert (
        "mapping [pasi.fields] trunk_area=3 is not a REDCap field name" in capsys.readouterr().err
    )


def test_dlqi_items_import_lists_each_disagreeing_total(tmp_path, capsys):
    url = database(tmp_path)
    argv = ["import", "dlqi", "--database-url", url, "--user", "ada", "--program", "P"]
    assert main([*argv, "--input", str(DATA / "dlqi" / "items.csv"), "--create-program"]) == 0
    out = capsys.readouterr().out
    assert "3 records, 3 new patients, 5 visits, 5 assessments" in out
    assert "2 totals in the file disagree" in out
    assert (
        "row 3 (patient S02, visit BASELINE): DLQITOT=20 in the file, psotrack computes 18" in out
    )
    assert (
        "row 5 (patient S03, visit BASELINE): DLQITOT=7 in the file, psotrack computes no score"
        in out
    )
    engine = make_engine(url)
    with engine.connect() as conn:
        scores = conn.execute(select(Assessment.score).order_by(Assessment.id)).scalars().all()
    engine.dispose()
    assert scores == ["16", "4", "18", "0", None]


def test_bad_dlqi_file_exit_2_nothing_stored(tmp_path, capsys):
    url = database(tmp_path)
    before = counts(url)
    argv = ["import", "dlqi", "--database-url", url, "--user", "ada", "--program", "P"]
    assert main([*argv, "--input", str(DATA / "dlqi" / "items_bad.csv"), "--create-program"]) == 2
    err = capsys.readouterr().err
    assert "row 1 (patient S01, visit BASELINE): DLQI103='4' is not a DLQI item coded 0–3" in err
    assert "row 2 (patient S01, visit WEEK 12): DLQI107='Y' is not DLQI question 7" in err
    assert "row 2 (patient S01, visit WEEK 12): QSDTC is missing" in err
    assert counts(url) == before


def test_import_needs_a_person(tmp_path, capsys):
    url = database(tmp_path)
    argv = redcap(url, "records.csv", "--create-program")
    argv[argv.index("ada")] = "system"
    assert main(argv) == 2
    assert "a person's user name" in capsys.readouterr().err
