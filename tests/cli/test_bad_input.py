"""Issue 14 §4: bad input gets one clear line, exit code 2, and nothing written.

Each test is a reproduction from the issue: before the fix it ended in a traceback (exit 1) or a
wrong result (exit 0).
"""

import csv
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.store import make_engine
from psotrack.store.models import Patient, Program

LONG = "patient_id,visit,day,pasi\nP1,W0,0,12.0\nP1,W4,28,6.0\n"


def one_error_line(capsys) -> str:
    """The command's stderr, checked to be exactly one ``error:`` line (no traceback)."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def count(url: str, model) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return n


# --- Output paths -----------------------------------------------------------------------------


def bad_outputs(tmp_path: Path) -> list[tuple[str, str]]:
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "missing-folder" / "x.csv")
    return [
        (str(tmp_path), "a file name, not a folder"),
        ("", "a file name (not empty, not a folder)"),
        ("/proc/x", "a path in a folder psotrack can write"),
        ("/sys/x", "a path in a folder psotrack can write"),
        (str(dangling), "not a symbolic link"),
    ]


@pytest.mark.parametrize("command", [["endpoints", "derive"], ["endpoints", "patients"]])
def test_endpoints_refuse_each_bad_output(tmp_path, capsys, command):
    source = write(tmp_path / "in.csv", LONG)
    before = sorted(os.listdir(tmp_path))
    for output, allowed in bad_outputs(tmp_path):
        assert main([*command, "--input", str(source), "--output", output]) == 2, output
        assert allowed in one_error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == sorted([*before, "dangling.csv"])


def test_score_pasi_refuses_each_bad_output(tmp_path, capsys):
    regions = ("head", "upper_limbs", "trunk", "lower_limbs")
    items = ("erythema", "induration", "desquamation", "area")
    header = [f"{region}_{item}" for region in regions for item in items]
    source = write(tmp_path / "in.csv", ",".join(header) + "\n" + ",".join("1" * len(header)))
    for output, allowed in bad_outputs(tmp_path):
        code = main(["score", "pasi", "--input", str(source), "--output", output])
        assert code == 2, output
        assert allowed in one_error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["endpoints", "derive", "--input", "{src}", "--output", "{src}"],
        ["endpoints", "responders", "--missing", "nri", "--input", "{src}", "--output", "{src}"],
        ["forecast", "--schedule", "control", "--input", "{src}", "--output", "{src}"],
    ],
)
def test_output_equal_to_input_is_refused_and_the_input_kept(tmp_path, capsys, argv):
    # Issue 14: `--output` equal to `--input` silently overwrote the input.
    source = write(tmp_path / "in.csv", LONG)
    assert main([a.format(src=source) for a in argv]) == 2
    assert "psotrack never overwrites it" in one_error_line(capsys)
    assert source.read_text() == LONG


def test_output_through_another_path_to_the_input_is_refused(tmp_path, capsys):
    source = write(tmp_path / "in.csv", LONG)
    os.link(source, tmp_path / "same.csv")  # a hard link: another name for the same file
    argv = ["endpoints", "derive", "--input", str(source), "--output", str(tmp_path / "same.csv")]
    assert main(argv) == 2
    assert "psotrack never overwrites it" in one_error_line(capsys)
    assert source.read_text() == LONG


def test_simulate_trial_refuses_unwritable_and_linked_folders(tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    for output, allowed in [
        ("/proc/sim", "a path in a folder psotrack can write"),
        (str(link), "not a symbolic link"),
        ("", "a folder name"),
    ]:
        argv = ["simulate", "trial", "--arm", "control", "--n", "5", "--weeks", "1"]
        assert main([*argv, "--output", output]) == 2, output
        assert allowed in one_error_line(capsys)
    assert not (tmp_path / "missing").exists()


# --- Databases --------------------------------------------------------------------------------


def test_import_into_a_missing_sqlite_file_creates_nothing(tmp_path, capsys):
    # Issue 14: an OperationalError traceback, and an empty file left behind.
    source = write(tmp_path / "in.csv", LONG)
    target = tmp_path / "new.db"
    argv = ["import", "assessments", "--input", str(source), "--program", "P", "--create-program"]
    assert main([*argv, "--database-url", f"sqlite:///{target}"]) == 2
    assert "run psotrack db upgrade first" in one_error_line(capsys)
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]


def test_import_into_an_unmigrated_sqlite_file_leaves_it_as_it_was(tmp_path, capsys):
    source = write(tmp_path / "in.csv", LONG)
    target = tmp_path / "empty.db"
    target.touch()
    argv = ["import", "assessments", "--input", str(source), "--program", "P", "--create-program"]
    assert main([*argv, "--database-url", f"sqlite:///{target}"]) == 2
    assert "run psotrack db upgrade first" in one_error_line(capsys)
    with sqlite3.connect(target) as conn:  # no table was created in it
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


@pytest.mark.parametrize("url", ["foo://bar", "not a url"])
def test_a_database_url_that_is_not_one_is_bad_input(tmp_path, capsys, url):
    source = write(tmp_path / "in.csv", LONG)
    argv = ["import", "assessments", "--input", str(source), "--program", "P"]
    assert main([*argv, "--database-url", url]) == 2
    assert "a SQLAlchemy URL such as sqlite:///psotrack.db" in one_error_line(capsys)


# --- Days, dates, seeds -----------------------------------------------------------------------


@pytest.fixture
def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    return url


def test_import_days_and_day_zero_out_of_range(tmp_path, capsys, migrated):
    argv = ["import", "assessments", "--database-url", migrated, "--program", "P"]
    argv += ["--create-program"]
    big = write(tmp_path / "big.csv", "patient_id,visit,day,pasi\nP1,W0,0,12.0\nP1,W4,3000000,6\n")
    assert main([*argv, "--input", str(big)]) == 2
    assert "row 2: day='3000000': a whole study day from -36500 to 36500" in one_error_line(capsys)
    good = write(tmp_path / "good.csv", LONG)
    assert main([*argv, "--input", str(good), "--day-zero", "9999-12-31"]) == 2
    assert "day_zero='9999-12-31' is outside 1900-01-01–2100-12-31" in one_error_line(capsys)
    assert (count(migrated, Patient), count(migrated, Program)) == (0, 0)


def test_wide_days_out_of_range_and_thirty_digit_days(tmp_path, capsys):
    wide = write(tmp_path / "wide.csv", "patient_id,BASELINE,WEEK04\nP1,12,6\n")
    out = tmp_path / "out.csv"
    argv = ["endpoints", "derive", "--wide", "--input", str(wide), "--output", str(out)]
    assert main([*argv, "--days", "WEEK04=99999999"]) == 2
    assert "days='WEEK04=99999999': a study day from -36500" in one_error_line(capsys)
    assert main([*argv, "--days", "WEEK04=" + "1" * 30]) == 2
    assert "days='WEEK04=111111111111111111111111111111'" in one_error_line(capsys)
    long = write(
        tmp_path / "long.csv", f"patient_id,visit,day,pasi\nP1,W0,0,12\nP1,W4,{'9' * 30},6\n"
    )
    # Before: the row was written with an empty day (exit 0).
    assert main(["endpoints", "derive", "--input", str(long), "--output", str(out)]) == 2
    assert f"row 2: day='{'9' * 30}'" in one_error_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "trial", "--arm", "control", "--output", "{tmp}/sim", "--seed", "-1"],
        ["simulate", "calibrate", "--seed", "-1"],
        ["demo", "--seed", "-1", "--database-url", "sqlite:///{tmp}/demo.db"],
        ["forecast", "--input", "{tmp}/in.csv", "--schedule", "control", "--seed", "-1"],
        ["forecast", "--input", "{tmp}/in.csv", "--schedule", "control", "--seed", "4294967296"],
    ],
)
def test_seeds_outside_0_to_2_32_are_refused(tmp_path, capsys, argv):
    write(tmp_path / "in.csv", LONG)
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    assert "(a seed)" in one_error_line(capsys)
    assert not (tmp_path / "sim").exists() and not (tmp_path / "demo.db").exists()


# --- Dose counts and horizons -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "allowed"),
    [
        ("uc-msc-iv:1.5e6/kg x99999999 q4w", "x99999999 is more than 52 doses"),
        ("uc-msc-iv:1e8/kg x100000 q1d", "x100000 is more than 52 doses"),
        ("uc-msc-iv:1e6/kg x52 q6w", "a dose on day 2142 is beyond day 1826"),
        ("anti-il17 x2 q4w @300w", "a dose on day 2128 is beyond day 1826"),
        ("uc-msc-iv:1e6/kg x٣ q4w", "cannot read"),
    ],
)
def test_schedules_beyond_a_protocol_are_refused(tmp_path, capsys, schedule, allowed):
    # Issue 14: the first hung, the second ran.
    source = write(tmp_path / "in.csv", LONG)
    assert main(["forecast", "--input", str(source), "--schedule", schedule]) == 2
    assert allowed in one_error_line(capsys)


def test_a_reading_beyond_the_horizon_is_refused(tmp_path, capsys):
    # Issue 14: a reading at day 70 000 took 104 s to forecast.
    source = write(tmp_path / "in.csv", "patient_id,visit,day,pasi\nP1,W0,0,12\nP1,L,1827,6\n")
    assert main(["forecast", "--input", str(source), "--schedule", "control"]) == 2
    assert "row 2: day=1827: a day up to 1826" in one_error_line(capsys)


# --- Spreadsheet formulas ---------------------------------------------------------------------


def test_derive_neutralises_formulas_in_pass_through_text(tmp_path, capsys):
    source = write(
        tmp_path / "in.csv",
        "patient_id,arm,visit,day,pasi\n"
        '=HYPERLINK("http://x"),@SUM(1),W0,0,12.0\n'
        '=HYPERLINK("http://x"),@SUM(1),W4,28,6.0\n'
        "-1.5,+A,W0,0,10.0\n",
    )
    out = tmp_path / "out.csv"
    assert main(["endpoints", "derive", "--input", str(source), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["patient_id"], r["arm"]) for r in rows] == [
        ('\'=HYPERLINK("http://x")', "'@SUM(1)"),
        ('\'=HYPERLINK("http://x")', "'@SUM(1)"),
        ("-1.5", "'+A"),  # a number stays a number
    ]
    assert [r["chg"] for r in rows] == ["", "-6.0", ""]  # numeric columns untouched


# --- One number grammar -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "bsa", "--percent", "٣"], "bsa='٣' is not a number"),
        (["score", "pga", "--value", "0_1", "--scale", "5"], "pga='0_1' is not an integer"),
        (["score", "itch", "--value", "1e1"], "itch_nrs='1e1' is not an integer"),
        (
            ["score", "pasi", "--head", "1,1,1,١", "--upper-limbs", "1,1,1,1"]
            + ["--trunk", "1,1,1,1", "--lower-limbs", "1,1,1,1"],
            "head_area='١' is not an integer",
        ),
        (["endpoints", "responders", "--missing", "nri", "--threshold", "7_5"], "'7_5'"),
    ],
)
def test_command_line_numbers_follow_the_grammar(tmp_path, capsys, argv, message):
    source = write(tmp_path / "in.csv", LONG)
    if argv[0] == "endpoints":
        argv = [*argv, "--input", str(source), "--output", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    assert message in one_error_line(capsys)


@pytest.mark.parametrize("cell", ["NaN", ".", "N/A", "na", "1e1", "٣"])
def test_long_files_read_only_na_and_empty_as_missing(tmp_path, capsys, cell):
    source = write(tmp_path / "in.csv", f"patient_id,visit,day,pasi\nP1,W0,0,12\nP1,W4,28,{cell}\n")
    argv = ["endpoints", "derive", "--input", str(source), "--output", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    assert f"row 2: pasi='{cell}' is not a number" in one_error_line(capsys)


@pytest.mark.parametrize("day", ["0.0", "1e1", "28.", "2_8"])
def test_days_are_whole_numbers_as_written(tmp_path, capsys, day):
    source = write(tmp_path / "in.csv", f"patient_id,visit,day,pasi\nP1,W0,0,12\nP1,W4,{day},6\n")
    argv = ["endpoints", "derive", "--input", str(source), "--output", str(tmp_path / "o.csv")]
    assert main(argv) == 2
    assert f"row 2: day='{day}' is not a whole number" in one_error_line(capsys)


def test_days_option_follows_the_grammar(tmp_path, capsys):
    wide = write(tmp_path / "wide.csv", "patient_id,BASELINE,M1\nP1,12,6\n")
    argv = ["endpoints", "derive", "--wide", "--input", str(wide), "--output", str(tmp_path / "o")]
    assert main([*argv, "--days", "M1=٣٠"]) == 2
    assert "--days='M1=٣٠': NAME=DAY with a whole day" in one_error_line(capsys)


# --- Identifiers ------------------------------------------------------------------------------


def test_surrounding_whitespace_in_ids_is_stripped(tmp_path, capsys, migrated):
    # Issue 14: "P1 " and "P1" were two patients.
    source = write(
        tmp_path / "in.csv", "patient_id,visit,day,pasi\nP1,W0,0,12.0\n P1 ,W4 ,28,6.0\n"
    )
    out = tmp_path / "patients.csv"
    assert main(["endpoints", "patients", "--input", str(source), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["patient_id"], r["best_pchg"]) for r in rows] == [("P1", "-50.0")]
    argv = ["import", "assessments", "--database-url", migrated, "--program", "P"]
    assert main([*argv, "--create-program", "--input", str(source)]) == 0
    assert count(migrated, Patient) == 1


# --- Header-only files ------------------------------------------------------------------------


def test_header_only_file_creates_nothing(tmp_path, capsys, migrated):
    # Issue 14: exit 0, and with --create-program an empty program was created.
    source = write(tmp_path / "in.csv", "patient_id,visit,day,pasi\n")
    argv = ["import", "assessments", "--database-url", migrated, "--program", "Empty"]
    assert main([*argv, "--create-program", "--input", str(source)]) == 2
    assert "at least one data row" in one_error_line(capsys)
    assert count(migrated, Program) == 0
    out = tmp_path / "o.csv"
    assert main(["endpoints", "derive", "--input", str(source), "--output", str(out)]) == 2
    assert "at least one data row" in one_error_line(capsys)
    assert not out.exists()


def test_score_pasi_neutralises_formulas_in_pass_through_columns(tmp_path):
    regions = ("head", "upper_limbs", "trunk", "lower_limbs")
    items = ("erythema", "induration", "desquamation", "area")
    header = ["patient", *(f"{r}_{i}" for r in regions for i in items), "comment"]
    cells = ["=1+1", *["1"] * 16, "@cmd"]
    source = write(tmp_path / "in.csv", ",".join(header) + "\n" + ",".join(cells) + "\n")
    out = tmp_path / "out.csv"
    assert main(["score", "pasi", "--input", str(source), "--output", str(out)]) == 0
    (row,) = csv.DictReader(out.open())
    # Each region (1+1+1)·1 weighted 0.1+0.2+0.3+0.4 → 3.0.
    assert (row["patient"], row["comment"], row["pasi"]) == ("'=1+1", "'@cmd", "3.0")
