"""Reading and writing tables as files: every cell read as text, every file written whole.

Writes go through a temporary file in the destination folder and a rename, so an interrupted or
failed command leaves the old file or none, never a half-written one. Every output path is
checked here before any work is done (:func:`check_output_path`, :func:`check_output_folder`),
and every CSV psotrack writes passes :func:`neutralise_formulas`, so that a cell a spreadsheet
would run as a formula is written as text.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Final

import polars as pl

from psotrack.errors import PsotrackError, ValidationError
from psotrack.number_text import DECIMAL, DECIMAL_TEXT

#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START: Final = r"^[=+\-@\t\r]"


def read_csv_text(path: Path, null_values: Sequence[str] = ()) -> pl.DataFrame:
    """Read a CSV with every column as text, so values pass through exactly as written.

    ``null_values`` (e.g. ``["NA", ""]``) are read as missing; by default only absent cells are.
    A file with a header and no rows is refused: there is nothing to score, derive or import.
    """
    if not path.is_file():
        raise ValidationError("--input", str(path), "an existing CSV file", kind="invalid")
    try:
        frame = pl.read_csv(path, infer_schema=False, null_values=list(null_values) or None)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(
            "--input",
            str(path),
            f"a readable UTF-8 CSV file with a header row ({reason})",
            kind="invalid",
        ) from exc
    if frame.height == 0:
        allowed = "a CSV with at least one data row (this file has only its header)"
        raise ValidationError("--input", str(path), allowed, kind="invalid")
    return frame


def check_output_path(path: Path, *, inputs: Sequence[Path] = (), field: str = "--output") -> None:
    """Refuse an output file path psotrack cannot or should not replace, before any work.

    The path must name a file (not empty, not a folder, not a symbolic link, not a device) in an
    existing folder that psotrack can write, and must not be one of ``inputs``: an existing
    regular file is replaced whole, never an input.
    """
    if path.name in ("", ".", ".."):
        raise ValidationError(field, str(path), "a file name (not empty, not a folder)", "invalid")
    if path.is_symlink():
        allowed = "a file path that is not a symbolic link (give the file it points to)"
        raise ValidationError(field, str(path), allowed, "invalid")
    if path.is_dir():
        raise ValidationError(field, str(path), "a file name, not a folder", "invalid")
    if path.exists() and not path.is_file():
        raise ValidationError(field, str(path), "a regular file (not a device or pipe)", "invalid")
    for source in inputs:
        same = path.exists() and source.exists() and os.path.samefile(path, source)
        if same or path.resolve() == source.resolve():
            allowed = f"a different file from the input {source} (psotrack never overwrites it)"
            raise ValidationError(field, str(path), allowed, "invalid")
    _check_writable_folder(path, field)


def check_output_folder(path: Path, *, field: str = "--output") -> None:
    """Refuse an output folder that exists with content, is a link, or cannot be created."""
    if path.name in ("", ".", ".."):
        raise ValidationError(field, str(path), "a folder name (not empty)", "invalid")
    if path.is_symlink():
        allowed = "a folder path that is not a symbolic link (give the folder it points to)"
        raise ValidationError(field, str(path), allowed, "invalid")
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise ValidationError(field, str(path), "a new or empty folder", "invalid")
    _check_writable_folder(path, field)


def _check_writable_folder(path: Path, field: str) -> None:
    """The folder that will hold ``path`` exists and accepts a new file (tried, then removed)."""
    folder = Path(os.path.abspath(path)).parent
    if not folder.is_dir():
        raise ValidationError(field, str(path), "a path in an existing folder", "invalid")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        allowed = f"a path in a folder psotrack can write ({exc.strerror or exc})"
        raise ValidationError(field, str(path), allowed, "invalid") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells (and column names) that a spreadsheet would run as a formula, made text.

    The OWASP rule for CSV injection: a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return gets a leading single quote. Numbers are left as they are: a numeric
    column is never touched, and a text cell that is a number by :mod:`psotrack.number_text`
    (``-1.5``) keeps its value.
    """

    def risky(text: pl.Expr) -> pl.Expr:
        return text.str.contains(FORMULA_START) & ~text.str.contains(DECIMAL_TEXT)

    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if text_columns:
        frame = frame.with_columns(
            pl.when(risky(pl.col(name)))
            .then(pl.lit("'") + pl.col(name))
            .otherwise(pl.col(name))
            .alias(name)
            for name in text_columns
        )
    renamed = {
        name: "'" + name
        for name in frame.columns
        if re.match(FORMULA_START, name) and not re.fullmatch(DECIMAL, name, re.ASCII)
    }
    return frame.rename(renamed) if renamed else frame


def write_csv_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write the CSV through a temporary file in the same folder, then rename it into place.

    The path is checked first (:func:`check_output_path`) and formulas are neutralised
    (:func:`neutralise_formulas`). An interruption or error leaves either the old file or none,
    never a half-written one.
    """
    check_output_path(path)
    write_whole(path, lambda handle: neutralise_formulas(frame).write_csv(handle))


def write_text_atomically(text: str, path: Path) -> None:
    """Write UTF-8 text (an SBML model, a README) whole or not at all, as the CSV writer does."""
    check_output_path(path)
    write_whole(path, lambda handle: handle.write(text.encode("utf-8")))


#: The process's umask, read once: files written whole get the mode an ordinary ``open`` gives
#: (``0o666`` less the umask), not ``mkstemp``'s owner-only ``0o600``.
_UMASK: Final = os.umask(0o022)
os.umask(_UMASK)


def write_whole(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Run ``write`` on a temporary file beside ``path``, then rename it to ``path``.

    The one way psotrack writes an output file: an interrupted or failed command leaves the old
    file or none, never a half-written one; an operating-system error is one line that says
    nothing was written. The file's mode is what an ordinary ``open`` would give it.
    """
    folder = Path(os.path.abspath(path)).parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise PsotrackError(
            f"cannot write {path}: {exc.strerror or exc}; nothing written"
        ) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def folder_written_whole(output: Path) -> Iterator[Path]:
    """A temporary folder beside ``output`` to write into; renamed to ``output`` when the block
    ends normally, removed when it fails, so a folder export appears whole or not at all.

    ``output`` is checked first (:func:`check_output_folder`); an operating-system error becomes
    one line that says nothing was written, and an empty folder that gained content in the
    meantime is refused as ``--output``.
    """
    check_output_folder(output)
    parent = Path(os.path.abspath(output)).parent
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".part", dir=parent))
    except OSError as exc:
        raise PsotrackError(
            f"cannot write {output}: {exc.strerror or exc}; nothing written"
        ) from None
    try:
        yield temporary
        try:
            os.rename(temporary, output)
        except OSError as exc:
            if output.exists():
                allowed = "a new or empty folder"
                raise ValidationError("--output", str(output), allowed, "invalid") from exc
            raise
    except OSError as exc:
        shutil.rmtree(temporary, ignore_errors=True)
        raise PsotrackError(
            f"cannot write {output}: {exc.strerror or exc}; nothing written"
        ) from None
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
