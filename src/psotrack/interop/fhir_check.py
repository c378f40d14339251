"""Checking a FHIR Bundle against the R4B models, entry by entry, before psotrack reads it.

An R5-only element, a malformed date or a missing required element is a problem named by entry
number (1-based) and resource type; a resource type psotrack does not read is one too.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.media import Media
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.researchstudy import ResearchStudy
from fhir.resources.R4B.researchsubject import ResearchSubject

from psotrack.errors import Problem, ValidationError
from psotrack.interop import fhir_codes as codes
from psotrack.services.payloads import problem_from_pydantic

Resource = dict[str, Any]
MODELS: dict[str, type[pydantic.BaseModel]] = {
    model.__name__: model
    for model in (
        AdverseEvent,
        Condition,
        Encounter,
        Media,
        MedicationAdministration,
        MedicationStatement,
        Observation,
        Patient,
        ResearchStudy,
        ResearchSubject,
    )
}
#: ICD-10 code → psoriasis type, for a Condition without psotrack's own coding.


def checked_entries(data: object) -> tuple[list[Resource], list[Problem]]:
    """The entries each valid for its R4B model (the others left out), and the problems found."""
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise ValidationError("resourceType", found, "a FHIR Bundle", "invalid")
    problems: list[Problem] = []
    for tag in data.get("meta", {}).get("tag", []) if isinstance(data.get("meta"), dict) else []:
        wrong = isinstance(tag, dict) and tag.get("system") == codes.VERSION_TAG_SYSTEM
        if wrong and tag.get("code") != codes.FHIR_VERSION:
            allowed = f"FHIR {codes.FHIR_VERSION} (R4)"
            problems.append(Problem("meta.tag", tag.get("code"), allowed, "invalid"))
    raw = data.get("entry", [])
    shell = (
        {**data, "entry": [_without_resource(e) for e in raw]} if isinstance(raw, list) else data
    )
    try:
        Bundle.model_validate(shell)
    except pydantic.ValidationError as exc:
        problems += [problem_from_pydantic(error, "Bundle") for error in exc.errors()]
    if problems or not isinstance(raw, list):
        raise ValidationError(problems=problems)
    if data.get("type") not in ("transaction", "batch", "collection"):
        allowed = "a transaction, batch or collection Bundle"
        raise ValidationError("Bundle.type", data.get("type"), allowed, "invalid")
    valid: list[Resource] = []
    for number, entry in enumerate(raw, start=1):
        resource = entry.get("resource")
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in MODELS:
            allowed = "a resource psotrack reads: " + ", ".join(sorted(MODELS))
            problems.append(Problem(f"entry {number} resourceType", kind, allowed, "invalid"))
            continue
        if not entry.get("fullUrl"):
            problems.append(Problem(f"entry {number} fullUrl", None, "a URL", "missing"))
            continue
        try:
            MODELS[kind].model_validate(resource)
        except pydantic.ValidationError as exc:
            problems += [problem_from_pydantic(e, f"entry {number} {kind}") for e in exc.errors()]
            valid.append({**entry, "number": number, "refused": True})
            continue
        valid.append({**entry, "number": number})
    return valid, problems


def _without_resource(entry: object) -> object:
    return {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, dict) else entry
