"""The published MSC psoriasis responder counts: load and check the table, recompute intervals.

The table (``psotrack/data/trials.json``) holds counts only — responders and denominator per
study × endpoint × time point, with the citation beside them. Rates and exact Clopper–Pearson
intervals are always recomputed here with :func:`psotrack.stats.proportion_interval`; nothing
derived is typed into the data. A cohort's own rate can be laid beside a published row only when
endpoint, time point and missing-data rule are the same (:mod:`psotrack.evidence.side_by_side`).
Everything is measurement from small, mostly single-arm studies, read descriptively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import resources

import polars as pl

from psotrack.errors import Problem, ValidationError
from psotrack.stats.proportions import ProportionMethod, proportion_interval

KNOWN_ENDPOINTS: tuple[str, ...] = (
    "PASI40",
    "PASI50",
    "PASI75",
    "PASI90",
    "PASI100",
    "PGA01",
    "DLQI01",
)
CAVEAT = (
    "These are published measurements from small, mostly single-arm studies; they are not "
    "evidence that any therapy works. A cohort laid beside them is a descriptive comparison "
    "only: different patients, sites and methods, no test and no pooling."
)
CI_METHOD: ProportionMethod = "exact"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class PublishedRow:
    """One published responder count: a study's endpoint at one time point, with its citation."""

    study_id: str
    authors: str
    title: str
    journal: str
    year: int
    doi: str
    registration: str | None
    design: str
    n_enrolled: int
    population: str
    product_source: str
    route: str
    dose: str
    schedule: str
    endpoint: str
    time_point: str
    responders: int
    denominator: int
    missing_rule: str
    source_note: str
    verified: bool

    @property
    def citation(self) -> str:
        """Short citation a reader can look up: ``Cheng L, … Journal 2022;7:263. doi:…``."""
        return f"{self.authors} {self.journal}. doi:{self.doi}"

    @property
    def time_point_stated(self) -> bool:
        """False for counts whose visit the source does not give ("not stated …")."""
        return not normalise(self.time_point).startswith("not stated")

    @property
    def is_case_report(self) -> bool:
        """Case reports are anecdotes: shown without an interval, never pooled with trials."""
        return "case report" in self.design.casefold()


_INT_FIELDS = frozenset({"year", "n_enrolled", "responders", "denominator"})
_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PublishedRow))


@dataclass(frozen=True)
class PublishedTable:
    """The versioned table of published counts; ``summary()`` gives rates and exact intervals."""

    name: str
    version: str
    date: str
    rows: tuple[PublishedRow, ...]
    omitted: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``version 1.0.0 (2026-11-25)``: printed with every view of the table."""
        return f"version {self.version} ({self.date})"

    def summary(self, level: float = 0.95) -> pl.DataFrame:
        """One row per published count with recomputed rate and interval."""
        return derive_published_rates(self, level)


def _row_problems(raw: object, row: int) -> list[Problem]:
    if not isinstance(raw, Mapping):
        return [Problem("row", raw, "an object of named fields", kind="type", row=row)]
    found: list[Problem] = []
    for name in sorted(set(raw) - set(_FIELD_NAMES)):
        found.append(Problem(name, raw[name], "not a field of the evidence table", "invalid", row))
    for name in _FIELD_NAMES:
        if name not in raw:
            found.append(Problem(name, None, "every row names it", kind="missing", row=row))
            continue
        value = raw[name]
        if name in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int):
                found.append(Problem(name, value, "a whole number", kind="type", row=row))
        elif name == "verified":
            if not isinstance(value, bool):
                found.append(Problem(name, value, "true or false", kind="type", row=row))
        elif name == "registration":
            if value is not None and not (isinstance(value, str) and value.strip()):
                found.append(Problem(name, value, "a registry id or null", kind="type", row=row))
        elif not isinstance(value, str) or not value.strip():
            found.append(Problem(name, value, "a non-empty text", kind="type", row=row))
    if found:
        return found
    if raw["endpoint"] not in KNOWN_ENDPOINTS:
        allowed = "one of " + ", ".join(KNOWN_ENDPOINTS)
        found.append(Problem("endpoint", raw["endpoint"], allowed, kind="invalid", row=row))
    n_enrolled, denominator, responders = raw["n_enrolled"], raw["denominator"], raw["responders"]
    if n_enrolled < 1:
        found.append(Problem("n_enrolled", n_enrolled, "1 or more", kind="invalid", row=row))
    if not 1 <= denominator <= max(n_enrolled, 1):
        found.append(Problem("denominator", denominator, f"1–{n_enrolled} (n_enrolled)", row=row))
    elif not 0 <= responders <= denominator:
        found.append(Problem("responders", responders, f"0–{denominator} (denominator)", row=row))
    return found


def parse_published_table(document: Mapping[str, object]) -> PublishedTable:
    """Check a decoded table document and return it; every problem is reported, with its row.

    Rows are numbered from 1 in the order of ``rows``. Counts must be whole numbers,
    ``responders ≤ denominator ≤ n_enrolled``, endpoints one of :data:`KNOWN_ENDPOINTS`, and no
    two rows may share study, endpoint, time point and population.
    """
    problems: list[Problem] = []
    for key, pattern, allowed in (
        ("version", _SEMVER, "a version such as 1.0.0"),
        ("date", _ISO_DATE, "a date such as 2026-11-25"),
        ("name", re.compile(r"\S"), "a non-empty text"),
    ):
        value = document.get(key)
        if not isinstance(value, str) or not pattern.search(value):
            problems.append(Problem(key, value, allowed, kind="invalid"))
    raw_rows = document.get("rows")
    if not isinstance(raw_rows, list) or not raw_rows:
        problems.append(Problem("rows", raw_rows, "a non-empty list of rows", kind="invalid"))
        raise ValidationError(problems=problems)
    omitted = document.get("omitted", [])
    if not isinstance(omitted, list) or not all(isinstance(o, str) for o in omitted):
        problems.append(Problem("omitted", omitted, "a list of texts", kind="type"))
        omitted = []
    rows: list[PublishedRow] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, raw in enumerate(raw_rows, start=1):
        found = _row_problems(raw, index)
        problems.extend(found)
        if found:
            continue
        published = PublishedRow(**{name: raw[name] for name in _FIELD_NAMES})
        identity = (
            published.study_id,
            published.endpoint,
            normalise(published.time_point),
            published.population,
        )
        if identity in seen:
            problems.append(
                Problem(
                    "endpoint",
                    published.endpoint,
                    f"unique (repeats row {seen[identity]})",
                    "invalid",
                    index,
                )
            )
        seen.setdefault(identity, index)
        rows.append(published)
    if problems:
        raise ValidationError(problems=problems)
    return PublishedTable(
        name=str(document["name"]),
        version=str(document["version"]),
        date=str(document["date"]),
        rows=tuple(rows),
        omitted=tuple(omitted),
    )


def load_published_table() -> PublishedTable:
    """Read and check the table shipped in the package (``psotrack/data/trials.json``)."""
    text = resources.files("psotrack").joinpath("data/trials.json").read_text(encoding="utf-8")
    return parse_published_table(json.loads(text))


def derive_published_rates(table: PublishedTable, level: float = 0.95) -> pl.DataFrame:
    """The table as a frame with ``rate``, ``ci_low``, ``ci_high`` recomputed (exact).

    Case reports keep their rate but get no interval (``ci_low``/``ci_high`` empty).

    >>> frame = derive_published_rates(load_published_table())
    >>> frame.filter(pl.col("endpoint") == "PASI40").select("responders", "denominator").row(0)
    (8, 17)
    """
    records: list[dict[str, object]] = []
    for published in table.rows:
        interval = proportion_interval(
            published.responders, published.denominator, CI_METHOD, level
        )
        anecdote = published.is_case_report
        records.append(
            {
                **{name: getattr(published, name) for name in _FIELD_NAMES},
                "citation": published.citation,
                "rate": interval.rate,
                "ci_low": None if anecdote else interval.low,
                "ci_high": None if anecdote else interval.high,
                "ci_method": None if anecdote else CI_METHOD,
                "table_version": table.version,
            }
        )
    return pl.DataFrame(records, schema=_published_schema())


def _published_schema() -> dict[str, type[pl.DataType] | pl.DataType]:
    schema: dict[str, type[pl.DataType] | pl.DataType] = {}
    for name in _FIELD_NAMES:
        if name in _INT_FIELDS:
            schema[name] = pl.Int64
        elif name == "verified":
            schema[name] = pl.Boolean
        else:
            schema[name] = pl.String
    schema.update(
        citation=pl.String,
        rate=pl.Float64,
        ci_low=pl.Float64,
        ci_high=pl.Float64,
        ci_method=pl.String,
        table_version=pl.String,
    )
    return schema


def normalise(text: str) -> str:
    """Time points and missing rules match when equal up to case and spacing."""
    return " ".join(text.split()).casefold()
