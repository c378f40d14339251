"""What a REDCap export would import: its rows read into visits, scored items, labs and events.

Nothing here touches the database. Each event row with data becomes a visit; its PASI, DLQI, BSA
and PGA items are read as numbers (:mod:`psotrack.number_text`) and scored by the instruments
through :func:`~psotrack.services.scoring.score_responses`; REDCap's own calculated total is only
compared with psotrack's and every disagreement is listed, never stored. Rows of a repeating
instrument become lab results, adverse events or administrations, as the mapping says. Rows with
no mapped data (a blank event) are skipped and counted. Every problem of every row is collected
and named by record, event, instance and REDCap field.

psotrack's choices: a supplied total agrees when it rounds (half up) to psotrack's total at the
instrument's precision (PASI one decimal, DLQI whole points), since REDCap calculates in binary
floating point; a field hidden by its branching logic is read as blank.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import REGIONS, SIGNS
from psotrack.interop.dlqi_items import dlqi_answer
from psotrack.interop.redcap_files import (
    DataDictionary,
    LocatedProblem,
    RecordRow,
    checked_codes,
    choice_code,
    located,
)
from psotrack.interop.redcap_logic import shown
from psotrack.interop.redcap_mapping import RedcapMapping
from psotrack.number_text import parse_decimal, parse_integer
from psotrack.processes import available_cores, can_fork, made_in_child
from psotrack.services.assessments import ScoredEntry, score_entry
from psotrack.services.redcap_entries import read_date, read_entry
from psotrack.store.vocabulary import (
    Instrument,
    VisitType,
)

VISIT_SECTIONS: Final = ("pasi", "dlqi", "bsa", "pga")
REPEATED_SECTIONS: Final = ("labs", "adverse_events", "administrations")
PRECISION: Final = {Instrument.PASI: Decimal("0.1"), Instrument.DLQI: Decimal("1")}


@dataclass(frozen=True)
class Disagreement:
    """A record where REDCap's calculated total differs from psotrack's (psotrack's is stored)."""

    where: str
    field: str
    supplied: str
    computed: str | None

    def __str__(self) -> str:
        ours = self.computed if self.computed is not None else "no score (too many blanks)"
        return f"{self.where}: {self.field}={self.supplied} in the file, psotrack computes {ours}"


@dataclass(frozen=True)
class ReadItems:
    """One instrument's items as read from a row, before scoring."""

    instrument: Instrument
    responses: dict[str, Any]
    fields: dict[str, str]  # the instrument's field name → the file's field, for messages


@dataclass(frozen=True)
class PlannedAssessment:
    """An assessment to store: scored once, here (the services store this very result)."""

    entry: ScoredEntry
    fields: dict[str, str]  # the instrument's field name → the file's field, for messages

    @property
    def instrument(self) -> Instrument:
        return self.entry.instrument

    @property
    def responses(self) -> dict[str, Any]:
        return self.entry.responses


@dataclass
class PlannedVisit:
    where: str
    label: str
    visit_date: date
    visit_type: VisitType
    assessments: list[PlannedAssessment] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedEntry:
    """A lab result, adverse event or administration: its payload, less the patient's id."""

    where: str
    section: str
    payload: dict[str, Any]
    fields: dict[str, str]
    event: str


@dataclass
class PlannedRecord:
    record: str
    arm: str | None = None
    visits: dict[str, PlannedVisit] = field(default_factory=dict)
    entries: list[PlannedEntry] = field(default_factory=list)


@dataclass
class Plan:
    records: dict[str, PlannedRecord] = field(default_factory=dict)
    rows: int = 0
    skipped: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: The file's column naming a visit, for messages.
    visit_field: str = "redcap_event_name"


def plan_redcap(
    dictionary: DataDictionary,
    rows: list[RecordRow],
    mapping: RedcapMapping,
    day_zero: date | None,
) -> Plan:
    """Read every row into a plan; its ``problems`` list every row's problems (none: importable).

    The rows that could be read are planned even when others could not, so that the services
    can still name what they refuse in them: a refused file then lists every problem at once.
    """
    active = _active_sections(dictionary, mapping)
    problems: list[Problem] = []
    repeating = {r.repeat_instrument for r in rows if r.repeat_instrument}
    forms = {
        s: dictionary.fields[next(iter(_present(dictionary, mapping, s)))].form for s in active
    }
    plan = Plan(rows=len(rows))
    seen: set[tuple[str, str, str | None, int | None]] = set()
    for row in rows:
        key = (row.record, row.event, row.repeat_instrument, row.instance)
        if key in seen:
            problems.append(
                located(
                    row,
                    Problem("row", "duplicate", "each record, event and instance once", "invalid"),
                )
            )
        seen.add(key)
        record = plan.records.setdefault(row.record, PlannedRecord(row.record, _arm(row.event)))
        found: list[Problem] = []
        if row.repeat_instrument:
            sections = [
                s for s in REPEATED_SECTIONS if s in active and forms[s] == row.repeat_instrument
            ]
            used = any(_entry(row, s, dictionary, mapping, record, found) for s in sections)
        else:
            used = _visit(row, active, dictionary, mapping, day_zero, record, plan, found)
            for section in REPEATED_SECTIONS:  # a non-repeating lab or event form on the event row
                if section in active and forms[section] not in repeating:
                    used = _entry(row, section, dictionary, mapping, record, found) or used
        if not used:
            plan.skipped += 1
        problems.extend(p if isinstance(p, LocatedProblem) else located(row, p) for p in found)
    plan.problems = problems
    plan.records = {k: r for k, r in plan.records.items() if r.visits or r.entries}
    return plan


#: Records read and scored together: an import stores one such plan while the next is made.
RECORDS_PER_PLAN: Final = 500


def plans_by_records(
    dictionary: DataDictionary,
    rows: list[RecordRow],
    mapping: RedcapMapping,
    day_zero: date | None,
    records_per_plan: int | None = None,
) -> Generator[Plan, None, None]:
    """:func:`plan_redcap` of groups of ``records_per_plan`` records (default
    :data:`RECORDS_PER_PLAN`), in the order the records first appear, each group's rows in the
    file's order.

    Every row of a record is in its record's group, so each group's plan is what the whole
    file's plan holds for those records. Where there are several groups and a second core, the
    plans are made in a forked child (:func:`psotrack.processes.made_in_child`) while the
    caller stores the ones before.
    """
    records_per_plan = records_per_plan or RECORDS_PER_PLAN
    group_of: dict[str, int] = {}
    for row in rows:
        if row.record not in group_of:
            group_of[row.record] = len(group_of) // records_per_plan
    groups: list[list[RecordRow]] = [[] for _ in range(max(group_of.values(), default=0) + 1)]
    for row in rows:  # each group's rows in the file's order (one group: the file as it is)
        groups[group_of[row.record]].append(row)

    def plans() -> Generator[Plan, None, None]:
        return (plan_redcap(dictionary, group, mapping, day_zero) for group in groups)

    if len(groups) > 1 and can_fork() and available_cores() > 1:
        return made_in_child(plans)
    return plans()


def _present(dictionary: DataDictionary, mapping: RedcapMapping, section: str) -> list[str]:
    return [f for f in mapping.fields[section].values() if f in dictionary.fields]


def _active_sections(dictionary: DataDictionary, mapping: RedcapMapping) -> list[str]:
    """The sections enabled in the mapping with at least one of their fields in the dictionary."""
    return [
        section
        for section in (*VISIT_SECTIONS, *REPEATED_SECTIONS)
        if section in mapping.enabled and _present(dictionary, mapping, section)
    ]


def _arm(event: str) -> str | None:
    found = re.search(r"_arm_([0-9]+)$", event)
    return f"arm {found.group(1)}" if found else None


def _cell(row: RecordRow, name: str, dictionary: DataDictionary) -> str | None:
    item = dictionary.fields.get(name)
    if item is None or not shown(item, row, dictionary):
        return None
    if item.field_type == "checkbox":
        codes, _ = checked_codes(row, item)
        return ",".join(codes) or None
    cell = row.cells.get(name)
    if item.choices:  # a labels export holds the label: read back its code
        return choice_code(item, cell) or cell
    return cell


def _visit(
    row: RecordRow,
    active: list[str],
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    day_zero: date | None,
    record: PlannedRecord,
    plan: Plan,
    found: list[Problem],
) -> bool:
    assessments: list[PlannedAssessment] = []
    for section in VISIT_SECTIONS:
        if section not in active:
            continue
        names = mapping.fields[section]
        cells = {k: _cell(row, f, dictionary) for k, f in names.items() if f in dictionary.fields}
        if all(v is None for v in cells.values()):
            continue
        before = len(found)
        read = _READERS[section](cells, names, dictionary, mapping, found)
        if read is None or len(found) > before:
            continue
        try:
            entry = score_entry(read.instrument, read.responses)
        except ValidationError as exc:
            found.extend(_renamed(p, read.fields) for p in exc.problems)
            continue
        assessments.append(PlannedAssessment(entry, read.fields))
        calculated = mapping.calculated.get(section)
        supplied = row.cells.get(calculated) if calculated else None
        if calculated and supplied is not None:
            _compare(row.where, calculated, supplied, entry.scored.score, read.instrument, plan)
    if not assessments:
        return False
    when = _visit_date(row, dictionary, mapping, day_zero, found)
    if when is None:
        return True
    rule = mapping.events.get(row.event)
    visit_type = rule.visit_type if rule and rule.visit_type else _visit_type(row.event)
    label = row.event or when.isoformat()
    record.visits[row.event] = PlannedVisit(row.where, label, when, visit_type, assessments)
    return True


def _visit_date(
    row: RecordRow,
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    day_zero: date | None,
    found: list[Problem],
) -> date | None:
    name = mapping.field("visit", "date")
    text = _cell(row, name, dictionary)
    if text is not None:
        return read_date(name, text, found)
    rule = mapping.events.get(row.event)
    if rule is not None and rule.day is not None and day_zero is not None:
        return day_zero + timedelta(days=rule.day)
    allowed = "the visit's date (or a day for this event in the mapping, with --day-zero)"
    found.append(Problem(name, None, allowed, "missing"))
    return None


def _visit_type(event: str) -> VisitType:
    if "screen" in event:
        return VisitType.SCREENING
    if "baseline" in event or event.startswith(("day_0", "week_0")):
        return VisitType.BASELINE
    return VisitType.FOLLOW_UP


def _compare(
    where: str, name: str, supplied: str, computed: str | None, instrument: Instrument, plan: Plan
) -> None:
    number = parse_decimal(supplied)
    if number is not None and computed is not None:
        step = PRECISION[instrument]
        if number.quantize(step, rounding=ROUND_HALF_UP) == Decimal(computed):
            return
    plan.disagreements.append(Disagreement(where, name, supplied, computed))


def _renamed(problem: Problem, fields: dict[str, str]) -> Problem:
    name = problem.field.removeprefix("responses.")
    return Problem(fields.get(name, name), problem.value, problem.allowed, problem.kind)


# --- items of each instrument ----------------------------------------------------------------


def _integer(name: str, text: str | None, found: list[Problem]) -> int | None:
    if text is None:
        return None
    value = parse_integer(text)
    if value is None:
        found.append(Problem(name, text, "a whole number", "type"))
    return value


def _pasi(
    cells: dict[str, str | None],
    names: dict[str, str],
    _dictionary: DataDictionary,
    _mapping: RedcapMapping,
    found: list[Problem],
) -> ReadItems:
    responses: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for region in REGIONS:
        part: dict[str, Any] = {}
        for item in (*SIGNS, "area"):
            key = f"{region}_{item}"
            fields[key] = names[key]
            value = _integer(names[key], cells.get(key), found)
            if value is not None:
                part[item] = value
        responses[region] = part
    return ReadItems(Instrument.PASI, responses, fields)


def _dlqi(
    cells: dict[str, str | None],
    names: dict[str, str],
    dictionary: DataDictionary,
    _mapping: RedcapMapping,
    found: list[Problem],
) -> ReadItems:
    responses: dict[str, Any] = {}
    for number in range(1, 11):
        key, name = f"q{number}", names[f"q{number}"]
        cell = cells.get(key)
        item = dictionary.fields.get(name)
        if cell is not None and item is not None and item.choices:
            code = choice_code(item, cell)
            label = item.choices.get(code or "", "")
            labelled = dlqi_answer(number, label) if label else ...
            cell = label if labelled not in (None, ...) else (code or cell)
        answer = dlqi_answer(number, cell)
        if answer is ...:
            found.append(
                Problem(name, cells.get(key), "a DLQI answer coded 0–3 or its label", "type")
            )
            answer = None
        responses[key] = answer
    return ReadItems(Instrument.DLQI, responses, {k: v for k, v in names.items()})


def _bsa(
    cells: dict[str, str | None],
    names: dict[str, str],
    _dictionary: DataDictionary,
    _mapping: RedcapMapping,
    found: list[Problem],
) -> ReadItems | None:
    text = cells.get("percent")
    number = parse_decimal(text) if text is not None else None
    if number is None:
        found.append(Problem(names["percent"], text, "a percentage 0–100", "type"))
        return None
    value = int(number) if number == number.to_integral_value() else float(number)
    return ReadItems(Instrument.BSA, {"percent": value}, {"percent": names["percent"]})


def _pga(
    cells: dict[str, str | None],
    names: dict[str, str],
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    found: list[Problem],
) -> ReadItems | None:
    name = names["grade"]
    item = dictionary.fields[name]
    text = cells.get("grade")
    code = choice_code(item, text) if item.choices else text
    grade = _integer(name, code if code is not None else text, found)
    if grade is None:
        return None
    responses = {"grade": grade, "scale": mapping.pga_scale}
    return ReadItems(Instrument.PGA, responses, {"grade": name, "scale": "pga scale"})


_READERS: Final[dict[str, Any]] = {"pasi": _pasi, "dlqi": _dlqi, "bsa": _bsa, "pga": _pga}


def _entry(
    row: RecordRow,
    section: str,
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    record: PlannedRecord,
    found: list[Problem],
) -> bool:
    read = read_entry(row, section, dictionary, mapping, found)
    if read is None:
        return False
    payload, names = read
    record.entries.append(PlannedEntry(row.where, section, payload, names, row.event))
    return True
