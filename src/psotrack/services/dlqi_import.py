"""Importing a file of DLQI items coded as trials and CDISC QS code them, each total recomputed.

The file has one row per questionnaire: the patient (``USUBJID`` or ``patient_id``), the visit
(``VISIT`` or ``visit``), its date (``QSDTC`` or ``date``, ``YYYY-MM-DD``) or study day
(``VISITDY`` or ``day``, with ``day_zero``), the ten items ``DLQI101``–``DLQI110`` coded 0–3
(:mod:`psotrack.interop.dlqi_items`) and, optionally, the file's own total (``DLQITOT``,
``DLQI_TOTAL``, ``total`` or ``dlqi``). Column names are matched without regard to case.

The total is recomputed from the items by :func:`psotrack.instruments.dlqi` (through
``record_assessment``); every row whose supplied total disagrees is listed — a public trial data
set of this shape disagrees with its own items on about one row in five — and the file's total is
never stored. Storing goes through :func:`psotrack.services.redcap_import.store_plans`: the same
unit of work, services and audit as a REDCap import.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import polars as pl

from psotrack.errors import Problem, ValidationError
from psotrack.interop.dlqi_items import ITEM_CODES, dlqi_responses
from psotrack.number_text import parse_decimal, parse_integer
from psotrack.services.assessments import score_entry
from psotrack.services.context import Actor, Database
from psotrack.services.redcap_import import ImportResult, store_plans
from psotrack.services.redcap_plan import (
    Disagreement,
    Plan,
    PlannedAssessment,
    PlannedRecord,
    PlannedVisit,
)
from psotrack.store.vocabulary import Instrument, VisitType

PATIENT: Final = ("usubjid", "patient_id", "subjid")
VISIT: Final = ("visit", "avisit")
DATE: Final = ("qsdtc", "date")
DAY: Final = ("visitdy", "qsdy", "day", "ady")
TOTAL: Final = ("dlqitot", "dlqi_total", "total", "dlqi")


def plan_dlqi_items(frame: pl.DataFrame, day_zero: date | None) -> Plan:
    """Read every row of an item file into visits with a DLQI each; every problem at once."""
    columns = {name.lower(): name for name in frame.columns}
    problems: list[Problem] = []

    def pick(options: tuple[str, ...]) -> str | None:
        return next((columns[o] for o in options if o in columns), None)

    patient, visit, when, day, total = (pick(o) for o in (PATIENT, VISIT, DATE, DAY, TOTAL))
    items = [columns.get(code.lower()) for code in ITEM_CODES]
    for code, column in zip(ITEM_CODES, items, strict=True):
        if column is None:
            problems.append(
                Problem("--input column", code, "the ten items DLQI101–DLQI110", "missing")
            )
    if patient is None:
        problems.append(
            Problem("--input column", "USUBJID", "the patient (USUBJID or patient_id)", "missing")
        )
    if visit is None:
        problems.append(Problem("--input column", "VISIT", "the visit (VISIT or visit)", "missing"))
    if when is None and (day is None or day_zero is None):
        allowed = (
            "the visit date (QSDTC or date), or the study day (VISITDY or day) with --day-zero"
        )
        problems.append(Problem("--input column", "QSDTC", allowed, "missing"))
    if problems:
        raise ValidationError(problems=problems)
    assert patient is not None and visit is not None
    names = [name for name in items if name is not None]
    plan = Plan(rows=frame.height, visit_field=visit)
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        found: list[Problem] = []
        cells = {k: (v.strip() or None) if isinstance(v, str) else None for k, v in row.items()}
        who, label = cells[patient], cells[visit]
        where = f"row {number} (patient {who}, visit {label})"
        if who is None:
            found.append(Problem(patient, None, "the patient's id", "missing"))
        if label is None:
            found.append(Problem(visit, None, "the visit's name", "missing"))
        visit_date = _date(cells, when, day, day_zero, found)
        responses, bad = dlqi_responses([cells.get(n) for n in names], names)
        found.extend(bad)
        if not found:
            try:
                entry = score_entry(Instrument.DLQI, responses)
            except ValidationError as exc:
                found.extend(exc.problems)
        if found:
            problems.extend(
                Problem(f"{where}: {p.field}", p.value, p.allowed, p.kind) for p in found
            )
            continue
        assert who is not None and label is not None and visit_date is not None
        supplied = cells.get(total) if total else None
        if supplied is not None:
            value = parse_integer(supplied)
            computed = entry.scored.score
            if value is None or computed is None or value != int(computed):
                plan.disagreements.append(Disagreement(where, total or "total", supplied, computed))
        record = plan.records.setdefault(who, PlannedRecord(who))
        if label in record.visits:
            allowed = "each patient's visit once"
            problems.append(Problem(f"{where}: {visit}", label, allowed, "invalid"))
            continue
        fields = {f"q{n}": name for n, name in enumerate(names, start=1)}
        assessment = PlannedAssessment(entry, fields)
        visit_type = VisitType.BASELINE if "baseline" in label.lower() else VisitType.FOLLOW_UP
        record.visits[label] = PlannedVisit(where, label, visit_date, visit_type, [assessment])
    plan.problems = problems
    return plan


def import_dlqi_items(
    db: Database,
    actor: Actor,
    frame: pl.DataFrame,
    *,
    program: str,
    create_program: bool = False,
    day_zero: date | None = None,
    source: str = "DLQI items",
    synthetic: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Check every row, recompute every total, store all questionnaires in one unit of work."""
    plan = plan_dlqi_items(frame, day_zero)
    return store_plans(db, actor, [plan], program, create_program, source, synthetic, dry_run)


def _date(
    cells: dict[str, str | None],
    when: str | None,
    day: str | None,
    day_zero: date | None,
    found: list[Problem],
) -> date | None:
    if when is not None and cells.get(when) is not None:
        text = cells[when] or ""
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            found.append(Problem(when, text, "a date as YYYY-MM-DD", "type"))
            return None
    if day is not None and day_zero is not None and cells.get(day) is not None:
        text = cells[day] or ""
        number = parse_decimal(text)
        if number is None or number != number.to_integral_value():
            found.append(Problem(day, text, "a whole study day", "type"))
            return None
        return day_zero + timedelta(days=int(number))
    found.append(Problem(when or day or "date", None, "the visit's date or study day", "missing"))
    return None
