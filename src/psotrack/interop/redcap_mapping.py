"""Which REDCap field holds which psotrack item: the default names, and a TOML file for the rest.

The default mapping fits a project whose fields are named plainly after the items:

- visit: ``visit_date`` on each event (or a ``day`` per event in ``[events]``, from ``--day-zero``);
- PASI: ``pasi_<region>_<sign>`` and ``pasi_<region>_area`` (regions head, upper_limbs, trunk,
  lower_limbs; signs erythema, induration, desquamation; area 0–6), REDCap's own total in
  ``pasi_total``;
- DLQI: ``dlqi_q1`` … ``dlqi_q10`` coded 0–3 as CDISC QS codes them (or their labels), REDCap's
  total in ``dlqi_total``; BSA ``bsa_percent``; PGA ``pga_grade`` on the 5-point scale;
- labs ``lab_<field>``, adverse events ``ae_<field>``, administrations ``adm_<field>``, where
  ``<field>`` is the name the psotrack service takes (``lab_analyte``, ``ae_serious_criteria``,
  ``adm_total_cells`` …); these are usually repeating instruments.

A section whose fields are all absent from the dictionary is not imported. A mapping file names
only what differs, for example::

    [visit]
    date = "vdate"
    [events.screening_arm_1]
    type = "screening"
    day = -14
    [pasi]
    calculated = "pasi_calc"
    [pasi.fields]
    trunk_area = "pasi_tr_a"
    [pga]
    scale = 6
    [adverse_events]
    enabled = false
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import REGIONS, SIGNS
from psotrack.store.vocabulary import VisitType

#: Each section's psotrack names, and the prefix of their default REDCap names.
SECTIONS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "visit": (("date",), "visit_"),
    "pasi": (tuple(f"{r}_{s}" for r in REGIONS for s in (*SIGNS, "area")), "pasi_"),
    "dlqi": (tuple(f"q{n}" for n in range(1, 11)), "dlqi_"),
    "bsa": (("percent",), "bsa_"),
    "pga": (("grade",), "pga_"),
    "labs": (
        ("analyte", "value", "unit", "reference_low", "reference_high", "sampled_at"),
        "lab_",
    ),
    "adverse_events": (
        (
            "term",
            "verbatim_term",
            "onset_date",
            "resolution_date",
            "grade",
            "serious",
            "serious_criteria",
            "expected",
            "relatedness",
            "action_taken",
            "outcome",
            "recorded_on",
        ),
        "ae_",
    ),
    "administrations": (
        (
            "product_source",
            "manufacturer",
            "lot",
            "passage",
            "cryopreserved",
            "total_cells",
            "body_weight_kg",
            "cells_per_kg",
            "viability_pct",
            "route",
            "volume_ml",
            "rate_ml_per_h",
            "started_at",
            "stopped_at",
            "premedication",
        ),
        "adm_",
    ),
}
#: REDCap's own calculated totals, compared with psotrack's (never imported).
CALCULATED: Final = {"pasi": "pasi_total", "dlqi": "dlqi_total"}
SECTION_KEYS: Final = frozenset({"fields", "calculated", "enabled", "scale"})


@dataclass(frozen=True)
class EventRule:
    visit_type: VisitType | None
    day: int | None


@dataclass(frozen=True)
class RedcapMapping:
    """REDCap field of each psotrack item, per section; totals to compare; event rules."""

    fields: dict[str, dict[str, str]]
    calculated: dict[str, str]
    enabled: frozenset[str]
    pga_scale: int
    events: dict[str, EventRule]

    def field(self, section: str, name: str) -> str:
        return self.fields[section][name]


def read_mapping(path: Path | None) -> RedcapMapping:
    """The default mapping, with what the TOML file at ``path`` changes; every problem named."""
    given: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise ValidationError("--mapping", str(path), "an existing TOML file", "invalid")
        try:
            given = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(
                "--mapping", str(path), f"valid TOML ({exc})", "invalid"
            ) from None
    return mapping_from(given)


def mapping_from(given: dict[str, Any]) -> RedcapMapping:
    problems: list[Problem] = []
    fields: dict[str, dict[str, str]] = {}
    calculated = dict(CALCULATED)
    enabled = set(SECTIONS)
    pga_scale = 5
    for name in given:
        if name not in SECTIONS and name != "events":
            allowed = f"a section: {', '.join([*SECTIONS, 'events'])}"
            problems.append(Problem(f"mapping [{name}]", name, allowed, "invalid"))
    for section, (names, prefix) in SECTIONS.items():
        fields[section] = {n: prefix + n for n in names}
        table = given.get(section, {})
        if not isinstance(table, dict):
            problems.append(Problem(f"mapping [{section}]", table, "a table", "type"))
            continue
        overrides = table.get("fields", {})
        if section == "visit":  # [visit] date = "…" is short for [visit.fields]
            overrides = {k: v for k, v in table.items() if k in names} | overrides
        else:
            for key in table:
                if key not in SECTION_KEYS:
                    allowed = f"one of {', '.join(sorted(SECTION_KEYS))}"
                    problems.append(Problem(f"mapping [{section}] {key}", key, allowed, "invalid"))
        for key, target in overrides.items():
            if key not in names:
                allowed = f"a {section} item: {', '.join(names)}"
                problems.append(
                    Problem(f"mapping [{section}.fields] {key}", key, allowed, "invalid")
                )
            elif not isinstance(target, str) or not target:
                allowed = "a REDCap field name"
                problems.append(
                    Problem(f"mapping [{section}.fields] {key}", target, allowed, "type")
                )
            else:
                fields[section][key] = target
        if "calculated" in table:
            calculated[section] = str(table["calculated"])
        if table.get("enabled", True) is False:
            enabled.discard(section)
        if section == "pga" and "scale" in table:
            if table["scale"] not in (5, 6) or isinstance(table["scale"], bool):
                allowed = "5 or 6 (points of the PGA scale)"
                problems.append(Problem("mapping [pga] scale", table["scale"], allowed, "invalid"))
            else:
                pga_scale = int(table["scale"])
    events = _events(given.get("events", {}), problems)
    if problems:
        raise ValidationError(problems=problems)
    return RedcapMapping(fields, calculated, frozenset(enabled), pga_scale, events)


def _events(table: Any, problems: list[Problem]) -> dict[str, EventRule]:
    events: dict[str, EventRule] = {}
    if not isinstance(table, dict):
        problems.append(Problem("mapping [events]", table, "a table of events", "type"))
        return events
    for event, rule in table.items():
        where = f"mapping [events.{event}]"
        if not isinstance(rule, dict):
            problems.append(Problem(where, rule, "a table with type and/or day", "type"))
            continue
        visit_type = None
        if "type" in rule:
            try:
                visit_type = VisitType(rule["type"])
            except ValueError:
                allowed = f"one of {', '.join(v.value for v in VisitType)}"
                problems.append(Problem(f"{where} type", rule["type"], allowed, "invalid"))
        day = rule.get("day")
        if day is not None and (isinstance(day, bool) or not isinstance(day, int)):
            problems.append(Problem(f"{where} day", day, "a whole study day", "type"))
            day = None
        events[event] = EventRule(visit_type, day)
    return events
