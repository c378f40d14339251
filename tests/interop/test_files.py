"""Files in and out: one check of every output path, one CSV writer that neutralises formulas."""

import os
from pathlib import Path

import polars as pl
import pytest

from psotrack.errors import PsotrackError, ValidationError
from psotrack.interop.files import (
    check_output_path,
    neutralise_formulas,
    read_csv_text,
    write_csv_atomically,
    write_text_atomically,
)


def test_formula_cells_get_a_quote_and_numbers_do_not():
    # OWASP CSV injection: =, +, -, @, tab and carriage return at the start of a text cell.
    frame = pl.DataFrame(
        {
            "note": ["=1+1", "+A", "-A", "@SUM(A1)", "\tX", "\rX", "-1.5", "+3", "ok", None],
            "value": [-1.5, -2.0, 3.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    out = neutralise_formulas(frame)
    assert out["note"].to_list() == [
        "'=1+1",
        "'+A",
        "'-A",
        "'@SUM(A1)",
        "'\tX",
        "'\rX",
        "-1.5",
        "+3",
        "ok",
        None,
    ]
    assert out["value"].to_list() == frame["value"].to_list()


def test_formula_column_names_are_neutralised_too():
    out = neutralise_formulas(pl.DataFrame({"=cmd|'/c calc'!A0": ["x"], "-2": ["y"]}))
    assert out.columns == ["'=cmd|'/c calc'!A0", "-2"]


def test_the_writer_neutralises(tmp_path):
    path = tmp_path / "o.csv"
    write_csv_atomically(pl.DataFrame({"id": ["@x"], "n": [-1]}), path)
    assert path.read_text() == "id,n\n'@x,-1\n"


def test_an_existing_regular_file_may_be_replaced(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("old\n")
    check_output_path(path, inputs=[tmp_path / "in.csv"])
    write_csv_atomically(pl.DataFrame({"a": ["1"]}), path)
    assert path.read_text() == "a\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.csv"]  # no probe or part left


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/dev/null", "a regular file (not a device or pipe)"),
        ("/nonexistent-folder/x.csv", "a path in an existing folder"),
        ("..", "a file name (not empty, not a folder)"),
    ],
)
def test_paths_that_are_not_files_to_write(path, allowed):
    with pytest.raises(ValidationError) as caught:
        check_output_path(Path(path))
    assert allowed in str(caught.value)


def test_header_only_csv_is_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("a,b\n")
    with pytest.raises(ValidationError, match="at least one data row"):
        read_csv_text(path)


def test_text_is_written_whole_or_the_old_file_is_kept(tmp_path, monkeypatch):
    path = tmp_path / "model.xml"
    write_text_atomically("<sbml/>\n", path)
    assert path.read_text(encoding="utf-8") == "<sbml/>\n"

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(PsotrackError, match="No space left on device; nothing written"):
        write_text_atomically("<sbml>new</sbml>\n", path)
    assert path.read_text(encoding="utf-8") == "<sbml/>\n"  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["model.xml"]  # no temporary file left


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_file_written_whole_gets_the_mode_an_ordinary_open_gives(
    tmp_path: Path, umask: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mkstemp makes owner-only files; an output file is an ordinary file: 0o666 less the umask
    # (the umask is read once when the module is imported, so the test sets the module's copy).
    from psotrack.interop import files

    ordinary = tmp_path / "ordinary.txt"
    previous = os.umask(umask)
    try:
        ordinary.write_text("x")
    finally:
        os.umask(previous)
    written = tmp_path / "written.txt"
    monkeypatch.setattr(files, "_UMASK", umask)
    files.write_whole(written, lambda handle: handle.write(b"x"))
    assert written.stat().st_mode & 0o777 == ordinary.stat().st_mode & 0o777 == 0o666 & ~umask
