"""Lay a cohort's own responder rate beside the published rows measured the same way.

Refuses (``ValidationError``) any comparison whose endpoint, time point or missing-data rule
differs from the published row's. Both sides get the same exact interval; the result is
descriptive only — no test, no pooling.

The caller states the cohort's rule, and a rates file that records its own (the ``missing`` and
``endpoint`` columns of ``psotrack endpoints responders``) must agree with what is stated, so a
file cannot be laid beside a row measured another way. Note that psotrack's ``nri`` puts every
*evaluable* patient in the denominator (those with a baseline PASI above 0), which is not the
published "all enrolled in the denominator": patients without a usable baseline are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from psotrack.errors import Problem, ValidationError
from psotrack.evidence.published import (
    CI_METHOD,
    KNOWN_ENDPOINTS,
    PublishedRow,
    PublishedTable,
    normalise,
)
from psotrack.stats.proportions import proportion_interval

COHORT_COLUMNS: tuple[str, ...] = (
    "arm",
    "visit",
    "day",
    "n",
    "responders",
    "rate",
    "ci_low",
    "ci_high",
)
_WHOLE = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class CohortRate:
    """One row of a cohort rates file (``psotrack endpoints responders`` output)."""

    arm: str
    visit: str
    day: int
    n: int
    responders: int


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return int(value.strip())
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def parse_cohort_rates(frame: pl.DataFrame) -> list[CohortRate]:
    """Check a cohort rates frame (columns :data:`COHORT_COLUMNS`, any dtype) row by row.

    Rows are numbered from 1 (the first data row). ``n`` and ``responders`` are whole numbers
    with ``0 ≤ responders ≤ n``; a given ``rate`` must equal ``responders / n`` (to 0.0005, so
    rates rounded to three decimals pass). The file's interval is not reused: both sides of a
    comparison are recomputed with the same exact method.
    """
    missing = [c for c in COHORT_COLUMNS if c not in frame.columns]
    if missing:
        allowed = "a cohort rates file with columns " + ", ".join(COHORT_COLUMNS)
        raise ValidationError(problems=[Problem(c, None, allowed, "missing") for c in missing])
    problems: list[Problem] = []
    rates: list[CohortRate] = []
    for index, raw in enumerate(frame.select(COHORT_COLUMNS).iter_rows(named=True), start=1):
        found: list[Problem] = []
        counts = {key: _whole_number(raw[key]) for key in ("day", "n", "responders")}
        for key, value in counts.items():
            if value is None:
                found.append(Problem(key, raw[key], "a whole number", "type", index))
        n, responders = counts["n"], counts["responders"]
        if n is not None and responders is not None:
            if n < 0 or not 0 <= responders <= n:
                found.append(Problem("responders", responders, f"0–{max(n, 0)} (n)", row=index))
            elif n > 0 and raw["rate"] not in (None, ""):
                rate = _number(raw["rate"])
                if rate is None or abs(rate - responders / n) > 0.0005:
                    allowed = f"responders / n = {responders / n:.4f}"
                    found.append(Problem("rate", raw["rate"], allowed, "invalid", index))
        for key in ("arm", "visit"):
            if raw[key] is None or not str(raw[key]).strip():
                found.append(Problem(key, raw[key], "a label", "missing", index))
        problems.extend(found)
        if not found:
            rates.append(
                CohortRate(str(raw["arm"]), str(raw["visit"]), counts["day"], n, responders)  # type: ignore[arg-type]
            )
    if problems:
        raise ValidationError(problems=problems)
    return rates


def _check_file_measurement(frame: pl.DataFrame, endpoint: str, missing_rule: str) -> None:
    """Refuse a cohort file whose own ``missing`` or ``endpoint`` column says otherwise.

    Empty cells state nothing; every stated value must match (rules up to case and spacing,
    endpoints up to case and spaces, so ``PASI 75`` is ``PASI75``).
    """
    problems: list[Problem] = []
    checks = (
        ("missing", missing_rule, normalise, "the requested missing-data rule"),
        ("endpoint", endpoint, _endpoint_key, "the requested endpoint"),
    )
    for column, wanted, key, what in checks:
        if column not in frame.columns:
            continue
        stated = [str(v) for v in frame[column].cast(pl.String).to_list() if v and str(v).strip()]
        for value in dict.fromkeys(stated):
            if key(value) != key(wanted):
                allowed = f"the cohort file records {value!r}, not {what} {wanted!r}"
                problems.append(Problem(column, value, allowed, "invalid"))
    if problems:
        raise ValidationError(problems=problems)


def _endpoint_key(text: str) -> str:
    return "".join(text.split()).casefold()


def _select_published(
    table: PublishedTable, endpoint: str, time_point: str, missing_rule: str, study_id: str | None
) -> list[PublishedRow]:
    """The published rows measured the same way as the cohort, or a refusal saying why not."""
    if endpoint not in KNOWN_ENDPOINTS:
        raise ValidationError(
            "endpoint", endpoint, "one of " + ", ".join(KNOWN_ENDPOINTS), "invalid"
        )
    rows = [r for r in table.rows if study_id is None or r.study_id == study_id]
    if not rows:
        studies = ", ".join(sorted({r.study_id for r in table.rows}))
        raise ValidationError("study", study_id, f"a study of the table: {studies}", "invalid")
    same_endpoint = [r for r in rows if r.endpoint == endpoint]
    if not same_endpoint:
        reported = ", ".join(sorted({r.endpoint for r in rows}))
        raise ValidationError(
            "endpoint",
            endpoint,
            f"no published row reports it; compare only the same endpoint ({reported})",
            "invalid",
        )
    stated = [r for r in same_endpoint if r.time_point_stated]
    if not stated:
        raise ValidationError(
            "time_point",
            time_point,
            f"the published {endpoint} rows do not state the visit of their count; "
            "no same-time-point comparison is possible",
            "invalid",
        )
    same_time = [r for r in stated if normalise(r.time_point) == normalise(time_point)]
    if not same_time:
        reported = "; ".join(sorted({repr(r.time_point) for r in stated}))
        raise ValidationError(
            "time_point",
            time_point,
            f"published {endpoint} rows were counted at {reported}; compare only the same "
            "time point",
            "invalid",
        )
    same_rule = [r for r in same_time if normalise(r.missing_rule) == normalise(missing_rule)]
    if not same_rule:
        reported = "; ".join(sorted({repr(r.missing_rule) for r in same_time}))
        raise ValidationError(
            "missing_rule",
            missing_rule,
            f"published {endpoint} rows at that time point used {reported}; compare only the "
            "same missing-data rule",
            "invalid",
        )
    return same_rule


def derive_side_by_side(
    table: PublishedTable,
    cohort_rates: pl.DataFrame,
    *,
    endpoint: str,
    time_point: str,
    missing_rule: str,
    visit: str | None = None,
    study_id: str | None = None,
    level: float = 0.95,
) -> pl.DataFrame:
    """Lay a cohort's rate at ``visit`` beside the published rows measured the same way.

    The caller states how the cohort's rates were measured (``endpoint``, ``time_point`` in the
    published wording, ``missing_rule``); ``visit`` picks the cohort rows (default: the time
    point's text). When the cohort file has its own ``missing`` or ``endpoint`` column, those
    values must equal ``missing_rule`` and ``endpoint``. Anything that differs is refused with
    a :class:`ValidationError`, never silently compared. Both sides get exact intervals. One
    row per published count, then one per cohort arm; ``source`` says which. Descriptive only:
    no test, no pooling.
    """
    published = _select_published(table, endpoint, time_point, missing_rule, study_id)
    cohort = parse_cohort_rates(cohort_rates)
    _check_file_measurement(cohort_rates, endpoint, missing_rule)
    wanted = normalise(visit if visit is not None else time_point)
    at_visit = [c for c in cohort if normalise(c.visit) == wanted]
    if not at_visit:
        visits = ", ".join(dict.fromkeys(c.visit for c in cohort))
        raise ValidationError(
            "visit", visit or time_point, f"a visit of the cohort file: {visits}", "invalid"
        )
    records: list[dict[str, object]] = []
    for row in published:
        interval = proportion_interval(row.responders, row.denominator, CI_METHOD, level)
        anecdote = row.is_case_report
        records.append(
            {
                "source": "published",
                "label": f"{row.study_id} ({row.product_source}, {row.design})",
                "endpoint": row.endpoint,
                "time_point": row.time_point,
                "visit": None,
                "day": None,
                "missing_rule": row.missing_rule,
                "responders": row.responders,
                "n": row.denominator,
                "rate": interval.rate,
                "ci_low": None if anecdote else interval.low,
                "ci_high": None if anecdote else interval.high,
                "verified": row.verified,
            }
        )
    for rate in at_visit:
        cohort_interval = (
            proportion_interval(rate.responders, rate.n, CI_METHOD, level) if rate.n else None
        )
        records.append(
            {
                "source": "cohort",
                "label": f"cohort arm {rate.arm}",
                "endpoint": endpoint,
                "time_point": time_point,
                "visit": rate.visit,
                "day": rate.day,
                "missing_rule": missing_rule,
                "responders": rate.responders,
                "n": rate.n,
                "rate": cohort_interval.rate if cohort_interval else None,
                "ci_low": cohort_interval.low if cohort_interval else None,
                "ci_high": cohort_interval.high if cohort_interval else None,
                "verified": None,
            }
        )
    return pl.DataFrame(records, schema=SIDE_BY_SIDE_SCHEMA)


SIDE_BY_SIDE_SCHEMA: dict[str, type[pl.DataType]] = {
    "source": pl.String,
    "label": pl.String,
    "endpoint": pl.String,
    "time_point": pl.String,
    "visit": pl.String,
    "day": pl.Int64,
    "missing_rule": pl.String,
    "responders": pl.Int64,
    "n": pl.Int64,
    "rate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "verified": pl.Boolean,
}
