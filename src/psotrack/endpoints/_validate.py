"""Checks on a long table of assessments before any endpoint is derived from it.

The checks run as Polars expressions over the whole column; only when something is wrong are the
offending rows gathered, so a clean million-patient table pays for a few vectorized passes.
Row numbers in problems are 1-based data rows in the order the frame was given (a CSV's header
is not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from psotrack.endpoints._segments import (
    PatientSegments,
    patient_segments,
    repeated_days,
    repeated_labels,
    several_labels,
    several_values,
)
from psotrack.errors import Problem, ProblemKind, ValidationError
from psotrack.number_text import number_column

REQUIRED_COLUMNS: Final = ("patient_id", "visit", "day", "pasi")
OPTIONAL_COLUMNS: Final = ("arm", "pga", "bsa", "dlqi", "itch")
KNOWN_COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: PASI is 0–72 in one-decimal steps: internally it is held as integer tenths 0–720.
PASI_MAX_TENTHS: Final = 720
#: Strings read as a missed assessment when a score column arrives as text (and nothing else:
#: ``N/A``, ``NaN`` or ``.`` are refused, not silently read as missing).
MISSING_CELLS: Final = ("", "NA")
#: Study days run from −36 500 to 36 500 (about a century either side of day 0): any real
#: follow-up fits, and every day stays a valid calendar date from any plausible day 0.
STUDY_DAY_LIMIT: Final = 36_500
STUDY_DAY_TEXT: Final = f"from -{STUDY_DAY_LIMIT} to {STUDY_DAY_LIMIT} (±100 years of day 0)"
#: How far a float may sit from a whole number of tenths and still be read as that number.
TENTHS_TOLERANCE: Final = 1e-6
#: At most this many problems are listed; a file with a broken column would otherwise list millions.
MAX_PROBLEMS: Final = 50

Labels = npt.NDArray[np.uint8]

#: Internal column names (dropped before anything is returned).
PASI_T: Final = "_pasi_t"
PATIENT_KEY: Final = "_patient"
_SEEDS: Final = (0x5EED01, 0x5EED02, 0x5EED03, 0x5EED04)


@dataclass(frozen=True)
class _Score:
    """Range and kind of one optional score column."""

    high: int
    integer: bool
    what: str


_SCORES: Final = {
    "pga": _Score(5, True, "a PGA grade 0–4 (or 0–5 on the 6-point scale)"),
    "dlqi": _Score(30, True, "a DLQI total 0–30"),
    "itch": _Score(10, True, "an itch NRS 0–10"),
    "bsa": _Score(100, False, "a body surface area 0–100 %"),
}


def validate_assessments(frame: pl.DataFrame, *, allow_unknown: bool = False) -> pl.DataFrame:
    """Check a long assessment table and return it with clean types.

    Returns the frame with ``patient_id``, ``visit`` (and ``arm``) as text, ``day`` as Int64,
    ``pasi`` as Float64 rounded to one decimal, ``pga``/``dlqi``/``itch`` as Int64 and ``bsa``
    as Float64. Raises :class:`ValidationError` listing every bad row (up to 50): a missing or
    (unless ``allow_unknown``) unknown column, a non-numeric or out-of-range score, a PASI that is
    not a multiple of 0.1, a missing id/visit/day, duplicate ``patient_id``+``visit`` or
    ``patient_id``+``day`` rows, and a patient recorded in two arms.

    >>> raw = pl.DataFrame({"patient_id": ["a"], "visit": ["W0"], "day": [0], "pasi": ["7.6"]})
    >>> validate_assessments(raw)["pasi"].to_list()
    [7.6]
    """
    typed, _ = checked_assessments(frame, allow_unknown=allow_unknown)
    return typed.drop(PASI_T)


def checked_assessments(
    frame: pl.DataFrame, *, allow_unknown: bool = False
) -> tuple[pl.DataFrame, PatientSegments]:
    """:func:`validate_assessments` (with internal ``_pasi_t``) and the rows grouped by patient."""
    _check_columns(frame, allow_unknown)
    typed = _clean_typed(frame)
    if typed is None:
        typed = _typed(frame)
    problems: list[Problem] = []
    segments = patient_segments(typed)
    visits, arms = _sorted_labels(typed, segments)
    if visits is None or repeated_labels(segments, visits):
        problems += _duplicates(typed, ("patient_id", "visit"))
    if repeated_days(segments):
        problems += _duplicates(typed, ("patient_id", "day"))
    problems += _arm_changes(typed, segments, arms)
    if problems:
        raise ValidationError(problems=problems[:MAX_PROBLEMS])
    return typed, segments


def _clean_typed(frame: pl.DataFrame) -> pl.DataFrame | None:
    """The cells checked and typed as :func:`_typed` does, in one pass over the frame, when no
    cell is refused; ``None`` when one is (or a column's type needs :func:`_typed`'s reading),
    so that :func:`_typed` names each problem.

    The checks are :func:`_typed`'s, as expressions: every one of them on a small table (one
    patient's record, on each patient page) cost more in per-call overhead than in work.
    """
    texts = [name for name in ("patient_id", "visit", "arm") if name in frame.columns]
    if any(frame[name].dtype != pl.String for name in texts):
        return None
    if not frame["day"].dtype.is_integer():
        return None
    reads: dict[str, tuple[pl.Expr, pl.Expr]] = {}
    for name in ("pasi", *_SCORES):
        if name not in frame.columns:
            continue
        whole = name in _SCORES and _SCORES[name].integer and not frame[name].dtype.is_integer()
        read = _float_reading(frame[name].dtype, name, integer=whole)
        if read is None:
            return None
        reads[name] = read
    bad: list[pl.Expr] = []
    for name in texts:  # _text: trimmed and never empty
        column = pl.col(name)
        bad.append((column.str.strip_chars() != column) | (column == ""))
    bad += [pl.col(name).is_null() for name in ("patient_id", "visit", "day")]
    day = pl.col("day")
    bad.append((day < -STUDY_DAY_LIMIT) | (day > STUDY_DAY_LIMIT))
    pasi, pasi_unread = reads["pasi"]
    tenths = (pasi * 10).round()
    bad += [pasi_unread, (pasi * 10 - tenths).abs() > TENTHS_TOLERANCE]
    bad.append((tenths < 0) | (tenths > PASI_MAX_TENTHS))
    pasi_t = tenths.cast(pl.Int32, strict=False)
    columns = [day.cast(pl.Int64), (pasi_t / 10).round(1).alias("pasi"), pasi_t.alias(PASI_T)]
    for name, score in _SCORES.items():
        if name not in reads:
            continue
        values, unread = reads[name]
        bad += [unread, (values < 0) | (values > score.high)]
        if score.integer and not frame[name].dtype.is_integer():
            bad.append((values - values.round()).abs() > TENTHS_TOLERANCE)
            values = values.round()
        columns.append((values.cast(pl.Int64) if score.integer else values).alias(name))
    if any(frame.select(pl.any_horizontal(check.any() for check in bad)).row(0)):
        return None
    return frame.with_columns(columns)


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """The cells checked one column at a time and typed; :class:`ValidationError` naming every
    refused cell (up to :data:`MAX_PROBLEMS`)."""
    problems: list[Problem] = []
    typed = frame.with_columns(
        _text(frame, name) for name in ("patient_id", "visit", "arm") if name in frame.columns
    )
    for name in ("patient_id", "visit", "day"):
        missing = typed[name].is_null()
        if name == "day" and typed[name].dtype == pl.String:  # text "NA" or "" is missing too
            missing = missing | typed[name].str.strip_chars().is_in(MISSING_CELLS)
        problems += _rows_where(typed, missing, name, "a value on every row", "missing")
    day, day_problems = _whole_numbers(
        typed, "day", -STUDY_DAY_LIMIT, STUDY_DAY_LIMIT, f"a whole study day {STUDY_DAY_TEXT}"
    )
    problems += day_problems
    pasi_t, pasi_problems = _pasi_tenths(typed)
    problems += pasi_problems
    columns = [day.alias("day"), (pasi_t / 10).round(1).alias("pasi"), pasi_t.alias(PASI_T)]
    for name, score in _SCORES.items():
        if name in typed.columns:
            values, score_problems = _score_column(typed, name, score)
            problems += score_problems
            columns.append(values.alias(name))
    if problems:
        raise ValidationError(problems=problems[:MAX_PROBLEMS])
    return typed.with_columns(columns)


def with_pasi_tenths(
    frame: pl.DataFrame, *, allow_unknown: bool = True
) -> tuple[pl.DataFrame, PatientSegments]:
    """Validate ``frame`` (unknown columns kept unless refused); add ``_pasi_t``, ``_patient``."""
    valid, segments = checked_assessments(frame, allow_unknown=allow_unknown)
    return valid.with_columns(patient_key(segments)), segments


def _check_columns(frame: pl.DataFrame, allow_unknown: bool) -> None:
    problems = [
        Problem(name, None, "a required column of the assessment table", kind="missing")
        for name in REQUIRED_COLUMNS
        if name not in frame.columns
    ]
    if not allow_unknown:
        problems += [
            Problem(
                "column",
                name,
                "not a known column (known: " + ", ".join(KNOWN_COLUMNS) + ")",
                kind="invalid",
            )
            for name in frame.columns
            if name not in KNOWN_COLUMNS
        ]
    if problems:
        raise ValidationError(problems=problems)


def _text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column as text, surrounding whitespace removed and empty cells missing.

    psotrack's one rule for identifiers and labels: ``"P1 "`` is ``"P1"`` (as the services trim
    every text field). The column is rebuilt only when some cell needs it.
    """
    column = pl.col(name).cast(pl.String)
    stripped = column.str.strip_chars()
    needs_work = (stripped != column) | (column == "")
    if frame[name].dtype == pl.String and not frame.select(needs_work.any()).item():
        return column
    return pl.when(stripped == "").then(None).otherwise(stripped).alias(name)


def _rows_where(
    frame: pl.DataFrame,
    bad: pl.Series,
    field: str,
    allowed: str,
    kind: ProblemKind = "range",
    shown: pl.Series | None = None,
) -> list[Problem]:
    """One problem per row where ``bad`` is true (nulls in ``bad`` count as fine)."""
    bad = bad.fill_null(False)
    if not bad.any():
        return []
    rows = (pl.int_range(1, frame.height + 1, eager=True)).filter(bad).head(MAX_PROBLEMS)
    values = (frame[field] if shown is None else shown).filter(bad).head(MAX_PROBLEMS)
    return [
        Problem(field, value, allowed, kind, int(row))
        for row, value in zip(rows.to_list(), values.to_list(), strict=True)
    ]


def _as_float(
    frame: pl.DataFrame, name: str, *, integer: bool = False
) -> tuple[pl.Series, list[Problem]]:
    """Read a column as Float64; text outside :mod:`psotrack.number_text` (or NaN/inf) is a problem.

    Text is read by the one number grammar (a whole number when ``integer``); ``NA`` and empty
    cells are missing.
    """
    original = frame[name]
    what = "a whole number" if integer else "a number"
    read = _float_reading(original.dtype, name, integer=integer)
    if read is None:
        allowed = f"a number (the column is {original.dtype})"
        problem = Problem(name, str(original.dtype), allowed, "type")
        # Nothing of the column is read: one line for it, not a range complaint per row as well.
        return pl.Series(name, [None] * frame.height, dtype=pl.Float64), [problem]
    values, not_number = read
    checked = frame.select(values.alias("values"), not_number.alias("bad"))
    problems = _rows_where(frame, checked["bad"], name, what, "type", shown=original)
    if not problems:
        return checked["values"].alias(name), problems
    good = checked.select(pl.when(pl.col("bad")).then(None).otherwise(pl.col("values")))
    return good.to_series().alias(name), problems


def _float_reading(
    dtype: pl.DataType, name: str, *, integer: bool
) -> tuple[pl.Expr, pl.Expr] | None:
    """Expressions for the column ``name`` of type ``dtype``: its values as Float64, and where a
    cell is not a number (text outside the one number grammar, NaN or an infinity); ``None``
    for a type that holds no numbers. Text ``NA`` and empty cells are missing."""
    column = pl.col(name)
    if dtype == pl.String:
        stripped = column.str.strip_chars()
        text = pl.when(stripped.is_in(MISSING_CELLS)).then(None).otherwise(stripped)
        values, not_number = number_column(text, integer=integer)
    elif dtype.is_numeric() or dtype == pl.Null:
        values, not_number = column.cast(pl.Float64), pl.lit(False)
    else:
        return None
    return values, not_number | (values.is_nan() | values.is_infinite()).fill_null(False)


def _pasi_tenths(frame: pl.DataFrame) -> tuple[pl.Series, list[Problem]]:
    values, problems = _as_float(frame, "pasi")
    tenths = (values * 10).round()
    off_grid = ((values * 10 - tenths).abs() > TENTHS_TOLERANCE).fill_null(False)
    out_of_range = ((tenths < 0) | (tenths > PASI_MAX_TENTHS)).fill_null(False)
    problems += _rows_where(
        frame, out_of_range, "pasi", "0–72 (a PASI score)", "range", shown=values
    )
    problems += _rows_where(
        frame,
        off_grid & ~out_of_range,
        "pasi",
        "a PASI with one decimal (a multiple of 0.1)",
        "invalid",
        shown=values,
    )
    return tenths.cast(pl.Int32, strict=False), problems


def _whole_numbers(
    frame: pl.DataFrame, name: str, low: int, high: int, what: str
) -> tuple[pl.Series, list[Problem]]:
    """Read a column of whole numbers ``low``–``high``; the range is checked before any cast,
    so a 30-digit value is reported, not turned into a missing value or an overflow."""
    original = frame[name]
    if original.dtype.is_integer():
        values, problems = original, list[Problem]()
        fraction = pl.repeat(False, frame.height, eager=True)
    else:
        values, problems = _as_float(frame, name, integer=True)
        fraction = ((values - values.round()).abs() > TENTHS_TOLERANCE).fill_null(False)
        problems += _rows_where(frame, fraction, name, what, "type", shown=values)
    outside = ((values < low) | (values > high)).fill_null(False) & ~fraction
    shown = original if original.dtype == pl.String else values
    problems += _rows_where(frame, outside, name, what, "invalid", shown=shown)
    bad = outside | fraction
    if bad.any():
        values = values.set(bad, None)
    whole = values if original.dtype.is_integer() else values.round()
    return whole.cast(pl.Int64), problems


def _score_column(frame: pl.DataFrame, name: str, score: _Score) -> tuple[pl.Series, list[Problem]]:
    if score.integer:
        return _whole_numbers(frame, name, 0, score.high, score.what)
    values, problems = _as_float(frame, name)
    outside = ((values < 0) | (values > score.high)).fill_null(False)
    problems += _rows_where(frame, outside, name, score.what, "invalid", shown=values)
    return values, problems


def label_codes(labels: pl.Series) -> Labels | None:
    """Codes 0–63 for the distinct labels (255 for missing), or None when there are over 64.

    Visit names and arms are few, so a patient's labels fit in one 64-bit mask. The codes come
    from a window of bits of each label's 64-bit hash that tells the distinct hashes apart (a
    table lookup, several times faster than a dictionary cast of millions of strings). Equal
    labels always get equal codes; different labels could share one only if their 64-bit hashes
    collide.
    """
    hashes = labels.hash(_SEEDS[2]).to_numpy()
    distinct = np.unique(pl.Series(hashes).unique().to_numpy())
    has_missing = labels.null_count() > 0
    window = _distinguishing_window(distinct) if distinct.size - has_missing <= 64 else None
    if window is None:
        return None
    shift, mask = window
    table = np.full(int(mask) + 1, 255, dtype=np.uint8)
    table[(distinct >> shift) & mask] = np.arange(distinct.size, dtype=np.uint8)
    codes = table[(hashes >> shift) & mask]
    if has_missing:
        # The missing value hashes like a label: give its code 255 and renumber the rest.
        missing = int(codes[labels.is_null().arg_max()])
        kept = np.delete(np.arange(distinct.size), missing)
        renumber = np.full(256, 255, dtype=np.uint8)
        renumber[kept] = np.arange(kept.size, dtype=np.uint8)
        codes = renumber[codes]
    return np.asarray(codes, dtype=np.uint8)


def _distinguishing_window(
    distinct: npt.NDArray[np.uint64],
) -> tuple[np.uint64, np.uint64] | None:
    """A (shift, mask) whose bits of the hashes are all different, smallest table first."""
    for bits in (6, 8, 10, 12, 14, 16):
        mask = np.uint64((1 << bits) - 1)
        for shift in range(64 - bits + 1):
            window = (distinct >> np.uint64(shift)) & mask
            if np.unique(window).size == distinct.size:
                return np.uint64(shift), mask
    return None


def _sorted_labels(
    frame: pl.DataFrame, segments: PatientSegments
) -> tuple[Labels | None, Labels | None]:
    """Visit and arm codes at the segments' sorted positions (one gather for both)."""
    visits = label_codes(frame["visit"])
    arms = label_codes(frame["arm"]) if "arm" in frame.columns else None
    if visits is not None and arms is not None:
        both = segments.sorted(visits.astype(np.uint16) | (arms.astype(np.uint16) << 8))
        return (both & 0xFF).astype(np.uint8), (both >> 8).astype(np.uint8)
    return (
        None if visits is None else segments.sorted(visits),
        None if arms is None else segments.sorted(arms),
    )


def _duplicates(frame: pl.DataFrame, keys: tuple[str, str]) -> list[Problem]:
    """Every row whose ``keys`` repeat (exact comparison; run only when a repeat was found)."""
    bad = frame.select(pl.struct(keys).is_duplicated()).to_series()
    field = keys[-1]
    allowed = f"one row per {' and '.join(keys)} (this {field} is repeated for the patient)"
    return _rows_where(frame, bad, field, allowed, "invalid")


def _arm_changes(
    frame: pl.DataFrame, segments: PatientSegments, arms: Labels | None
) -> list[Problem]:
    if "arm" not in frame.columns:
        return []
    # Fast test on label codes (or 64-bit hashes when there are many arms); the exact rows are
    # gathered only when it fires.
    arm = frame["arm"]
    if arms is not None:
        if not several_labels(segments, arms):
            return []
    elif not several_values(segments, arm.hash(_SEEDS[3]).to_numpy(), arm.is_not_null().to_numpy()):
        return []
    bad = frame.select(pl.col("arm").drop_nulls().n_unique().over("patient_id") > 1).to_series()
    return _rows_where(frame, bad, "arm", "one arm per patient", "invalid")


def patient_key(segments: PatientSegments) -> pl.Series:
    """The internal UInt64 patient number of every row, used for grouping (see ``_segments``)."""
    return pl.Series(PATIENT_KEY, segments.code, dtype=pl.UInt64)
