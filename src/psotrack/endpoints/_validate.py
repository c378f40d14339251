"""Checks on a long table of assessments before any endpoint is derived from it.

The checks run as Polars expressions over the whole column; only when something is wrong are the
offending rows gathered, so a clean million-patient table pays for a few vectorized passes.
Row numbers in problems are 1-based data rows in the order the frame was given (a CSV's header
is not counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from psotrack.errors import Problem, ProblemKind, ValidationError

REQUIRED_COLUMNS: Final = ("patient_id", "visit", "day", "pasi")
OPTIONAL_COLUMNS: Final = ("arm", "pga", "bsa", "dlqi", "itch")
KNOWN_COLUMNS: Final = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: PASI is 0–72 in one-decimal steps: internally it is held as integer tenths 0–720.
PASI_MAX_TENTHS: Final = 720
#: Strings read as a missed assessment when a score column arrives as text.
MISSING_TEXT: Final = ("", "NA", "N/A", "na", "NaN", ".")
#: How far a float may sit from a whole number of tenths and still be read as that number.
TENTHS_TOLERANCE: Final = 1e-6
#: At most this many problems are listed; a file with a broken column would otherwise list millions.
MAX_PROBLEMS: Final = 50

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


def validate_assessments(
    frame: pl.DataFrame, *, allow_unknown: bool = False, keep_key: bool = False
) -> pl.DataFrame:
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
    _check_columns(frame, allow_unknown)
    problems: list[Problem] = []
    casts: list[pl.Expr] = []
    for name in ("patient_id", "visit", "arm"):
        if name in frame.columns:
            casts.append(_text(name))
    typed = frame.with_columns(casts)
    for name in ("patient_id", "visit", "day"):
        problems += _rows_where(
            typed, typed[name].is_null(), name, "a value on every row", "missing"
        )
    day, day_problems = _whole_numbers(typed, "day", None, "a whole study day")
    problems += day_problems
    pasi_t, pasi_problems = _pasi_tenths(typed)
    problems += pasi_problems
    columns = [day.alias("day"), (pasi_t / 10).round(1).alias("pasi")]
    for name, score in _SCORES.items():
        if name in typed.columns:
            values, score_problems = _score_column(typed, name, score)
            problems += score_problems
            columns.append(values.alias(name))
    if problems:
        raise ValidationError(problems=problems[:MAX_PROBLEMS])
    typed = typed.with_columns(columns).with_columns(patient_key(typed))
    problems += _duplicates(typed, ("patient_id", "visit"))
    problems += _duplicates(typed, ("patient_id", "day"))
    problems += _arm_changes(typed)
    if problems:
        raise ValidationError(problems=problems[:MAX_PROBLEMS])
    return typed if keep_key else typed.drop(PATIENT_KEY)


def with_pasi_tenths(frame: pl.DataFrame) -> pl.DataFrame:
    """Validate ``frame`` (unknown columns kept); add internal ``_pasi_t`` and ``_patient``."""
    valid = validate_assessments(frame, allow_unknown=True, keep_key=True)
    return valid.with_columns((pl.col("pasi") * 10).round().cast(pl.Int32).alias(PASI_T))


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


def _text(name: str) -> pl.Expr:
    column = pl.col(name).cast(pl.String)
    return pl.when(column == "").then(None).otherwise(column).alias(name)


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


def _as_float(frame: pl.DataFrame, name: str) -> tuple[pl.Series, list[Problem]]:
    """Read a score column as Float64; text that is not a number (or NaN/inf) is a problem."""
    original = frame[name]
    column = pl.col(name)
    if original.dtype == pl.String:
        stripped = column.str.strip_chars()
        text = pl.when(stripped.is_in(MISSING_TEXT)).then(None).otherwise(stripped)
        values = text.cast(pl.Float64, strict=False)
        not_number = text.is_not_null() & values.is_null()
    elif original.dtype.is_numeric() or original.dtype == pl.Null:
        values = column.cast(pl.Float64)
        not_number = pl.lit(False)
    else:
        allowed = f"a number (the column is {original.dtype})"
        problem = Problem(name, str(original.dtype), allowed, "type")
        return original.cast(pl.Float64, strict=False), [problem]
    not_number = not_number | (values.is_nan() | values.is_infinite()).fill_null(False)
    checked = frame.select(values.alias("values"), not_number.alias("bad"))
    problems = _rows_where(frame, checked["bad"], name, "a number", "type", shown=original)
    good = checked.select(pl.when(pl.col("bad")).then(None).otherwise(pl.col("values")))
    return good.to_series().alias(name), problems


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
    frame: pl.DataFrame, name: str, high: int | None, what: str
) -> tuple[pl.Series, list[Problem]]:
    if frame[name].dtype.is_integer():
        whole = frame[name].cast(pl.Int64)
        problems: list[Problem] = []
        fraction = pl.repeat(False, frame.height, eager=True)
        shown = whole
    else:
        values, problems = _as_float(frame, name)
        rounded = values.round()
        fraction = ((values - rounded).abs() > TENTHS_TOLERANCE).fill_null(False)
        problems += _rows_where(frame, fraction, name, what, "type", shown=values)
        whole, shown = rounded.cast(pl.Int64, strict=False), values
    if high is not None:
        outside = ((whole < 0) | (whole > high)).fill_null(False)
        problems += _rows_where(frame, outside & ~fraction, name, what, "invalid", shown=shown)
    return whole, problems


def _score_column(frame: pl.DataFrame, name: str, score: _Score) -> tuple[pl.Series, list[Problem]]:
    if score.integer:
        return _whole_numbers(frame, name, score.high, score.what)
    values, problems = _as_float(frame, name)
    outside = ((values < 0) | (values > score.high)).fill_null(False)
    problems += _rows_where(frame, outside, name, score.what, "invalid", shown=values)
    return values, problems


def _duplicates(frame: pl.DataFrame, keys: tuple[str, str]) -> list[Problem]:
    # Fast exact test: equal rows have equal combined hashes, so as many distinct hashes as rows
    # proves there is no duplicate; only otherwise are the rows compared exactly.
    combined = pl.col(PATIENT_KEY) ^ pl.col(keys[1]).hash(_SEEDS[2])
    if frame.select(combined.n_unique()).item() == frame.height:
        return []
    bad = frame.select(pl.struct(keys).is_duplicated()).to_series()
    field = keys[-1]
    allowed = f"one row per {' and '.join(keys)} (this {field} is repeated for the patient)"
    return _rows_where(frame, bad, field, allowed, "invalid")


def _arm_changes(frame: pl.DataFrame) -> list[Problem]:
    if "arm" not in frame.columns:
        return []
    # One arm per patient ⇔ as many distinct (patient, arm) pairs as patients; exact rows only
    # when the counts differ (rows with an empty arm also differ and are then ignored).
    pairs = pl.col(PATIENT_KEY) ^ pl.col("arm").hash(_SEEDS[3])
    counts = frame.select(pairs.n_unique().alias("pairs"), pl.col(PATIENT_KEY).n_unique()).row(0)
    if counts[0] == counts[1]:
        return []
    arms = frame.select(pl.col("arm").drop_nulls().n_unique().over("patient_id") > 1).to_series()
    return _rows_where(frame, arms, "arm", "one arm per patient", "invalid")


def patient_key(frame: pl.DataFrame) -> pl.Series:
    """A UInt64 code per patient, used for grouping instead of the (slower) text id.

    A 64-bit hash of ``patient_id``; two seeds are compared so that a collision (two patients
    sharing a code, about 1 in 10⁷ for a million patients) is caught, and then exact dictionary
    codes are used instead.
    """
    first, second = (
        frame.select(pl.col("patient_id").hash(seed)).to_series() for seed in _SEEDS[:2]
    )
    if first.n_unique() == second.n_unique():
        return first.alias(PATIENT_KEY)
    codes = frame.select(pl.col("patient_id").cast(pl.Categorical).to_physical()).to_series()
    return codes.cast(pl.UInt64).alias(PATIENT_KEY)
