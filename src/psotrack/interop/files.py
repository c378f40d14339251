"""Reading and writing tables as files: every cell read as text, every file written whole.

Writes go through a temporary file in the destination folder and a rename, so an interrupted or
failed command leaves the old file or none, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from psotrack.errors import ValidationError


def read_csv_text(path: Path, null_values: Sequence[str] = ()) -> pl.DataFrame:
    """Read a CSV with every column as text, so values pass through exactly as written.

    ``null_values`` (e.g. ``["NA", ""]``) are read as missing; by default only absent cells are.
    """
    if not path.is_file():
        raise ValidationError("--input", str(path), "an existing CSV file", kind="invalid")
    try:
        return pl.read_csv(path, infer_schema=False, null_values=list(null_values) or None)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValidationError(
            "--input",
            str(path),
            f"a readable UTF-8 CSV file with a header row ({reason})",
            kind="invalid",
        ) from exc


def write_csv_atomically(frame: pl.DataFrame, path: Path) -> None:
    """Write the CSV through a temporary file in the same folder, then rename it into place.

    An interruption or error leaves either the old file or none, never a half-written one.
    """
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ValidationError("--output", str(path), "a path in an existing folder", kind="invalid")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            frame.write_csv(handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
