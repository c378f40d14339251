"""Reading a FHIR R4 (4.0.1) Bundle into the payloads of psotrack's services, every problem named.

Each entry is checked with its R4B model first (an R5-only element, a malformed date, a missing
required element is refused), then read: the resources :mod:`psotrack.interop.fhir_bundle`
writes, with their psotrack extensions; references must point at an entry of the same Bundle of
the right type. Every problem is prefixed with the entry number (1-based) and resource type, and
all are raised together; nothing is stored by this module (the store is
:func:`psotrack.services.fhir_import.import_fhir`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psotrack.errors import Problem, ValidationError
from psotrack.interop import fhir_codes as codes
from psotrack.interop.fhir_check import checked_entries
from psotrack.services.fhir_import import BundleItem, FhirImportPlan
from psotrack.store.vocabulary import PsoriasisType

Resource = dict[str, Any]
TYPE_OF_ICD10 = {"L40.0": PsoriasisType.PLAQUE, "L40.4": PsoriasisType.GUTTATE}
TYPE_OF_ICD10 |= {"L40.1": PsoriasisType.PUSTULAR}


class Refused(Exception):
    """One problem of the entry being read (raised inside a reader, collected by the caller)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_bundle_file(path: Path) -> FhirImportPlan:
    """The plan of the Bundle in ``path`` (UTF-8 JSON), or every problem found."""
    if not path.is_file():
        raise ValidationError("bundle", str(path), "an existing JSON file", "invalid")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        allowed = f"a UTF-8 JSON file ({str(exc).splitlines()[0]})"
        raise ValidationError("bundle", str(path), allowed, "invalid") from None
    return read_bundle(data)


def read_bundle(data: object) -> FhirImportPlan:
    """Check the Bundle with the R4B models, then read each entry into a payload.

    A Bundle that cannot be read at all (not a Bundle, a malformed Bundle element) is refused at
    once; an entry refused by its model or by the reading rules is left out of the plan and its
    problems ride in ``plan.problems``, so that the import reports them with those the services
    find in the other entries.
    """
    entries, problems = checked_entries(data)
    reader = _Reader(entries, problems)
    return reader.plan()


class _Reader:
    """Reads the checked entries one by one, collecting every problem."""

    def __init__(self, entries: list[Resource], problems: list[Problem]) -> None:
        self.entries = entries
        self.kinds = {e["fullUrl"]: e["resource"]["resourceType"] for e in entries}
        self.problems = problems
        self.items: dict[str, list[BundleItem]] = {}
        self.patients: dict[str, BundleItem] = {}
        self.number = 0
        self.kind = ""

    def plan(self) -> FhirImportPlan:
        readers: dict[str, Callable[[Resource], tuple[str, dict[str, Any], dict[str, str]]]] = {
            "ResearchStudy": self.study,
            "Patient": self.patient,
            "ResearchSubject": self.subject,
            "Encounter": self.encounter,
            "Observation": self.observation,
            "MedicationAdministration": self.administration,
            "MedicationStatement": self.therapy,
            "AdverseEvent": self.adverse_event,
            "Media": self.media,
        }
        conditions = []
        for entry in self.entries:
            if entry.get("refused"):
                continue  # refused by its model: reported, and what refers to it is skipped
            self.number, resource = entry["number"], entry["resource"]
            self.kind = resource["resourceType"]
            if self.kind == "Condition":
                conditions.append((self.number, resource))
                continue
            try:
                group, payload, links = readers[self.kind](resource)
            except Refused as refused:
                self.problems.append(self._named(refused.problem))
                continue
            item = BundleItem(self.number, self.kind, entry["fullUrl"], payload, links)
            self.items.setdefault(group, []).append(item)
            if group == "patients":
                self.patients[item.url] = item
        for self.number, resource in conditions:
            self.kind = "Condition"
            try:
                self.condition(resource)
            except Refused as refused:
                self.problems.append(self._named(refused.problem))
        groups = {group: tuple(items) for group, items in self.items.items()}
        return FhirImportPlan(**groups, problems=tuple(self.problems))

    # --- one reader per resource type ----------------------------------------------------------

    def study(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        payload = {
            "name": self.need(r, "title"),
            "regimen": self.need(r, "description"),
            "product_source": self.ext(r, "product-source", "valueCode", required=True),
            "route": self.ext(r, "route", "valueCode", required=True),
            "dose_min_per_kg": self.ext(r, "dose-min-per-kg", "valueDecimal"),
            "dose_max_per_kg": self.ext(r, "dose-max-per-kg", "valueDecimal"),
            "viability_threshold_pct": self.ext(r, "viability-threshold-pct", "valueDecimal"),
            "ctcae_version": self.ext(r, "ctcae-version", "valueString"),
        }
        return "programs", _present(payload), {}

    def patient(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        ids = {i.get("system"): i.get("value") for i in r.get("identifier", [])}
        names = r.get("name") or [{}]
        payload = {
            "mrn": ids.get(codes.MRN),
            "research_id": ids.get(codes.RESEARCH_ID),
            "family_name": names[0].get("family"),
            "given_name": " ".join(names[0].get("given", [])) or None,
            "birth_date": r.get("birthDate"),
            "sex": r.get("gender", "unknown"),
            "fitzpatrick": self.ext(r, "fitzpatrick", "valueInteger"),
            "history": self.ext(r, "history", "valueString"),
            "synthetic": self.ext(r, "synthetic", "valueBoolean") or False,
        }
        if payload["mrn"] is None or payload["research_id"] is None:
            allowed = f"identifiers of systems {codes.MRN} and {codes.RESEARCH_ID}"
            raise Refused(Problem("identifier", None, allowed, "missing"))
        return "patients", _present(payload), {}

    def condition(self, r: Resource) -> None:
        patient = self.patients.get(self.ref(r, "subject", "Patient"))
        if patient is None:
            return  # the Patient entry was refused and reported
        coding = r["code"].get("coding", [])
        mine = self.code(coding, codes.PSORIASIS_TYPES)
        icd = self.code(coding, codes.ICD10)
        snomed = self.code(coding, codes.SNOMED)
        if mine is None and snomed != codes.PSORIASIS_SNOMED[0] and not str(icd).startswith("L40"):
            allowed = f"psoriasis (SNOMED CT {codes.PSORIASIS_SNOMED[0]} or ICD-10 L40.x)"
            raise Refused(Problem("code", snomed or icd, allowed, "invalid"))
        kind = mine or TYPE_OF_ICD10.get(str(icd), PsoriasisType.OTHER).value
        patient.payload["psoriasis_type"] = kind
        onset = r.get("onsetDateTime")
        if onset is not None:
            patient.payload["onset_year"] = int(onset[:4])

    def subject(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        status = codes.ENROLLMENT_OF_SUBJECT.get(r["status"])
        if status is None:
            allowed = "one of " + ", ".join(codes.ENROLLMENT_OF_SUBJECT)
            raise Refused(Problem("status", r["status"], allowed, "invalid"))
        payload = {
            "status": status.value,
            "start_date": self.need(r.get("period", {}), "start", "period.start"),
            "arm": r.get("assignedArm"),
            "withdrawal_reason": self.ext(r, "withdrawal-reason", "valueString"),
        }
        links = {
            "patient_id": self.ref(r, "individual", "Patient"),
            "program_id": self.ref(r, "study", "ResearchStudy"),
        }
        return "enrollments", payload, links

    def encounter(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        labels = [
            i.get("value") for i in r.get("identifier", []) if i.get("system") == codes.VISIT_LABEL
        ]
        types = [c for t in r.get("type", []) for c in t.get("coding", [])]
        payload = {
            "visit_date": self.need(r.get("period", {}), "start", "period.start")[:10],
            "visit_type": self.need({"t": self.code(types, codes.VISIT_TYPES)}, "t", "type"),
            "label": labels[0] if labels else None,
        }
        if payload["label"] is None:
            raise Refused(
                Problem("identifier", None, f"a visit label ({codes.VISIT_LABEL})", "missing")
            )
        return "visits", payload, {"patient_id": self.ref(r, "subject", "Patient")}

    def observation(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        coding = r["code"].get("coding", [])
        links = {"patient_id": self.ref(r, "subject", "Patient")}
        if r.get("encounter") is not None:
            links["visit_id"] = self.ref(r, "encounter", "Encounter")
        analyte = self.code(coding, codes.ANALYTES)
        if analyte is not None:
            quantity = r.get("valueQuantity") or {}
            low_high = (r.get("referenceRange") or [{}])[0]
            payload = {
                "analyte": analyte,
                "value": self.need(quantity, "value", "valueQuantity.value"),
                "unit": quantity.get("code") or quantity.get("unit"),
                "reference_low": low_high.get("low", {}).get("value"),
                "reference_high": low_high.get("high", {}).get("value"),
                "sampled_at": self.need(r, "effectiveDateTime"),
            }
            return "labs", _present(payload), links
        score = self.code(coding, codes.SCORES)
        if score not in codes.INSTRUMENT_OF_CODE:
            allowed = f"a code of {codes.SCORES} or {codes.ANALYTES}"
            raise Refused(Problem("code", score, allowed, "invalid"))
        responses = self.ext(r, "responses", "valueString", required=True)
        try:
            parsed = json.loads(responses)
        except json.JSONDecodeError:
            raise Refused(
                Problem("extension.responses", responses, "JSON responses", "invalid")
            ) from None
        if "visit_id" not in links:
            raise Refused(Problem("encounter", None, "the visit the score was taken at", "missing"))
        payload = {
            "instrument": codes.INSTRUMENT_OF_CODE[score].value,
            "responses": parsed,
            "patient_id": None,
            "stated_score": (r.get("valueQuantity") or {}).get("value"),
        }
        return "assessments", payload, links

    def administration(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        contained = {c.get("id"): c for c in r.get("contained", [])}
        reference = (r.get("medicationReference") or {}).get("reference", "")
        product = contained.get(reference.removeprefix("#"))
        if product is None:
            allowed = "a reference to the contained Medication (the product)"
            raise Refused(Problem("medicationReference", reference or None, allowed, "invalid"))
        dosage = r.get("dosage") or {}
        period = r.get("effectivePeriod") or {}
        vitals = [self.ext(r, f"vitals-{w}", "valueString") for w in ("before", "after")]
        payload = {
            "product_source": self.code(product.get("code", {}).get("coding", []), codes.PRODUCTS),
            "manufacturer": (product.get("manufacturer") or {}).get("display"),
            "lot": (product.get("batch") or {}).get("lotNumber"),
            "passage": self.ext(r, "passage", "valueInteger"),
            "cryopreserved": self.ext(r, "cryopreserved", "valueBoolean", required=True),
            "total_cells": self.need(dosage.get("dose") or {}, "value", "dosage.dose.value"),
            "body_weight_kg": self.ext(r, "body-weight-kg", "valueDecimal", required=True),
            "cells_per_kg": self.ext(r, "cells-per-kg", "valueDecimal", required=True),
            "viability_pct": self.ext(r, "viability-pct", "valueDecimal", required=True),
            "route": self.code((dosage.get("route") or {}).get("coding", []), codes.ROUTES),
            "volume_ml": self.ext(r, "volume-ml", "valueDecimal"),
            "rate_ml_per_h": (dosage.get("rateQuantity") or {}).get("value"),
            "started_at": self.need(period, "start", "effectivePeriod.start"),
            "stopped_at": period.get("end"),
            "premedication": self.ext(r, "premedication", "valueString"),
            "vitals_before": None if vitals[0] is None else json.loads(vitals[0]),
            "vitals_after": None if vitals[1] is None else json.loads(vitals[1]),
        }
        links = {"patient_id": self.ref(r, "subject", "Patient")}
        if r.get("context") is not None:
            links["visit_id"] = self.ref(r, "context", "Encounter")
        return "administrations", _present(payload), links

    def therapy(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        medication = r.get("medicationCodeableConcept") or {}
        period = r.get("effectivePeriod") or {}
        payload = {
            "therapy_class": self.code(medication.get("coding", []), codes.THERAPY_CLASSES),
            "agent": medication.get("text"),
            "biologic_target": self.ext(r, "biologic-target", "valueString"),
            "start_date": self.need(period, "start", "effectivePeriod.start"),
            "stop_date": period.get("end"),
            "dose": (r.get("dosage") or [{}])[0].get("text"),
        }
        return "therapies", _present(payload), {"patient_id": self.ref(r, "subject", "Patient")}

    def adverse_event(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        seriousness = self.code(
            (r.get("seriousness") or {}).get("coding", []), codes.AE_SERIOUSNESS
        )
        outcome = self.code((r.get("outcome") or {}).get("coding", []), codes.AE_OUTCOME)
        if outcome not in codes.OUTCOME_OF_CODE:
            allowed = "one of " + ", ".join(codes.OUTCOME_OF_CODE)
            raise Refused(Problem("outcome", outcome, allowed, "invalid"))
        payload = {
            "term": self.code(
                r["event"].get("coding", []) if r.get("event") else [], codes.AE_TERMS
            ),
            "verbatim_term": self.ext(r, "verbatim-term", "valueString"),
            "onset_date": self.need(r, "date")[:10],
            "resolution_date": self.ext(r, "resolution-date", "valueDate"),
            "grade": self.ext(r, "ctcae-grade", "valueInteger", required=True),
            "serious": seriousness == "serious",
            "serious_criteria": self.exts(r, "serious-criterion", "valueCode"),
            "expected": self.ext(r, "expected", "valueBoolean"),
            "relatedness": self.ext(r, "relatedness", "valueCode", required=True),
            "action_taken": self.ext(r, "action-taken", "valueString"),
            "outcome": codes.OUTCOME_OF_CODE[outcome].value,
            "infusion_reaction": self.ext(r, "infusion-reaction", "valueBoolean") or False,
        }
        links = {"patient_id": self.ref(r, "subject", "Patient")}
        suspects = r.get("suspectEntity") or []
        if suspects:
            links["administration_id"] = self.ref(
                suspects[0], "instance", "MedicationAdministration"
            )
        return "adverse_events", _present(payload), links

    def media(self, r: Resource) -> tuple[str, dict[str, Any], dict[str, str]]:
        content = r["content"]
        try:
            image = base64.b64decode(self.need(content, "data", "content.data"), validate=True)
        except (binascii.Error, ValueError):
            raise Refused(Problem("content.data", "…", "base64 image bytes", "invalid")) from None
        payload = {
            "image_bytes": image,
            "body_site": (r.get("bodySite") or {}).get("text"),
            "view": (r.get("view") or {}).get("text"),
            "captured_at": r.get("createdDateTime"),
        }
        links = {"patient_id": self.ref(r, "subject", "Patient")}
        if r.get("encounter") is not None:
            links["visit_id"] = self.ref(r, "encounter", "Encounter")
        return "photos", payload, links

    # --- reading parts -------------------------------------------------------------------------

    def ref(self, r: Resource, name: str, kind: str) -> str:
        url = (r.get(name) or {}).get("reference")
        if url is None or self.kinds.get(url) != kind:
            allowed = f"a reference to a {kind} entry of this Bundle"
            raise Refused(Problem(f"{name}.reference", url, allowed, "invalid"))
        return str(url)

    def ext(self, r: Resource, name: str, kind: str, *, required: bool = False) -> Any:
        found = self.exts(r, name, kind)
        if not found and required:
            raise Refused(Problem(f"extension {codes.extension_url(name)}", None, kind, "missing"))
        return found[0] if found else None

    def exts(self, r: Resource, name: str, kind: str) -> list[Any]:
        url = codes.extension_url(name)
        return [e.get(kind) for e in r.get("extension", []) if e.get("url") == url]

    def code(self, coding: list[Resource], system: str) -> str | None:
        return next((c.get("code") for c in coding if c.get("system") == system), None)

    def need(self, r: Resource, name: str, field: str | None = None) -> Any:
        if r.get(name) is None:
            raise Refused(Problem(field or name, None, "a value", "missing"))
        return r[name]

    def _named(self, problem: Problem) -> Problem:
        where = f"entry {self.number} {self.kind}.{problem.field}"
        return Problem(where, problem.value, problem.allowed, problem.kind)


def _present(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without absent optional values (the services' defaults stand)."""
    return {k: v for k, v in payload.items() if v is not None}
