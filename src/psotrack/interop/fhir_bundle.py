"""Writing patients' records as one FHIR R4 (4.0.1) transaction Bundle, checked with R4B models.

One patient gives: Patient (MRN and research id as identifiers), Condition (SNOMED CT 9014002,
ICD-10 L40.x, psotrack's psoriasis type), ResearchSubject per enrollment pointing at a
ResearchStudy per program, Encounter per visit, Observation per score (PASI with its region
parts as components) and per lab (UCUM units), MedicationAdministration per cell-therapy dose
(a contained Medication carries product, manufacturer and lot), MedicationStatement per other
therapy, AdverseEvent, and Media per photo only when asked. What FHIR has no element for rides
in psotrack extensions (:func:`~psotrack.interop.fhir_codes.extension_url`), so that
:mod:`psotrack.interop.fhir_read` reads back every stored field.

The version is stated as ``Bundle.meta.tag`` (system …/CodeSystem/fhir-version, code 4.0.1):
R4 has no Bundle element for it; a CapabilityStatement's ``fhirVersion`` is a server's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from psotrack.interop import fhir_codes as codes
from psotrack.interop.files import check_output_path
from psotrack.services.fhir_exchange import FhirSource
from psotrack.services.scoring import score_responses
from psotrack.store.models import (
    Administration,
    AdverseEvent,
    Assessment,
    ConcomitantTherapy,
    Enrollment,
    LabResult,
    Photo,
    Program,
    Visit,
)
from psotrack.store.vocabulary import ANALYTES, Instrument

Resource = dict[str, Any]
NAMESPACE = uuid.UUID("5b0f7a4e-2f1e-4c43-9d3a-7a1f3f0c6e11")


def build_bundle(
    sources: Iterable[FhirSource],
    *,
    include_photos: bool = False,
    validate: bool = True,
    now: datetime | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The transaction Bundle of these patients as JSON data, validated with the R4B models.

    ``validate=False`` skips the R4B check (about two thirds of the time of a large export on
    a small machine): the resources come from the builders below, whose every shape the tests
    validate.
    """
    entries: list[Resource] = []
    studies: set[str] = set()
    for source in sources:
        for program in source.programs.values():
            url = _url("program", program.name)
            if url not in studies:
                studies.add(url)
                entries.append(_entry(url, research_study(program)))
        entries.extend(patient_entries(source, include_photos))
        if progress is not None:
            progress()
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {
            "tag": [
                {"system": codes.VERSION_TAG_SYSTEM, "code": codes.FHIR_VERSION, "display": "R4"}
            ]
        },
        "timestamp": moment.isoformat(),
        "entry": entries,
    }
    if validate:
        Bundle.model_validate(bundle)
    return bundle


def write_bundle(bundle: dict[str, Any], path: Path) -> None:
    """Write the Bundle whole: a temporary file in the same folder, then a rename."""
    check_output_path(path)
    folder = Path(os.path.abspath(path)).parent
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # One string written at once: json.dump's many small writes are several times slower.
            handle.write(json.dumps(bundle, ensure_ascii=False, separators=(",", ":")))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def patient_entries(source: FhirSource, include_photos: bool) -> list[Resource]:
    """The entries of one patient, each resource after those it refers to."""
    line = source
    patient = line.patient
    key = patient.research_id
    me = _url(key, "patient", patient.id)
    visits = {v.id: _url(key, "visit", v.id) for v in line.visits}
    doses = {a.id: _url(key, "administration", a.id) for a in line.administrations}
    dates = {v.id: v.visit_date for v in line.visits}
    out = [_entry(me, patient_resource(source), {"ifNoneExist": _mrn_query(source)})]
    out.append(_entry(_url(key, "condition"), condition(source, me)))
    for enrollment in line.enrollments:
        study = _url("program", source.programs[enrollment.program_id].name)
        out.append(_entry(_url(key, "enrollment", enrollment.id), subject(enrollment, me, study)))
    out += [_entry(visits[v.id], encounter(v, me)) for v in line.visits]
    for a in line.assessments:
        resource = score_observation(a, me, visits[a.visit_id], dates[a.visit_id])
        out.append(_entry(_url(key, "assessment", a.id), resource))
    out += [_entry(doses[a.id], administration(a, me, visits)) for a in line.administrations]
    out += [_entry(_url(key, "therapy", t.id), therapy(t, me)) for t in line.therapies]
    out += [_entry(_url(key, "lab", lab.id), lab_observation(lab, me, visits)) for lab in line.labs]
    for event in line.adverse_events:
        out.append(_entry(_url(key, "ae", event.id), adverse_event(event, me, doses)))
    if include_photos:
        for photo in line.photos:
            media = photo_media(photo, source.photo_bytes[photo.id], me, visits)
            out.append(_entry(_url(key, "photo", photo.id), media))
    return out


def research_study(program: Program) -> Resource:
    return {
        "resourceType": "ResearchStudy",
        "status": "active",
        "title": program.name,
        "description": program.regimen,
        "extension": _extensions(
            ("product-source", "valueCode", program.product_source.value),
            ("route", "valueCode", program.route.value),
            ("dose-min-per-kg", "valueDecimal", _decimal(program.dose_min_per_kg)),
            ("dose-max-per-kg", "valueDecimal", _decimal(program.dose_max_per_kg)),
            ("viability-threshold-pct", "valueDecimal", _decimal(program.viability_threshold_pct)),
            ("ctcae-version", "valueString", program.ctcae_version),
        ),
    }


def patient_resource(source: FhirSource) -> Resource:
    patient, identity = source.patient, source.identity
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{"system": codes.RESEARCH_ID, "value": patient.research_id}],
        "gender": patient.sex.value,
        "extension": _extensions(
            ("birth-year", "valueInteger", patient.birth_year),
            ("fitzpatrick", "valueInteger", patient.fitzpatrick),
            ("history", "valueString", patient.history),
            ("synthetic", "valueBoolean", patient.synthetic),
        ),
    }
    if identity is not None:
        resource["identifier"].insert(0, {"system": codes.MRN, "value": identity.mrn})
        name = {"family": identity.family_name, "given": [identity.given_name]}
        if identity.family_name is not None or identity.given_name is not None:
            resource["name"] = [_drop_empty(name)]
        if identity.birth_date is not None:
            resource["birthDate"] = identity.birth_date.isoformat()
    if patient.synthetic:
        resource["meta"] = {"tag": [{"code": "SYNTHETIC", "display": "synthetic data"}]}
    return resource


def condition(source: FhirSource, me: str) -> Resource:
    patient = source.patient
    icd, icd_name = codes.ICD10_OF_TYPE[patient.psoriasis_type]
    resource: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [_coding(codes.CONDITION_CLINICAL, "active")]},
        "code": {
            "coding": [
                _coding(codes.SNOMED, *codes.PSORIASIS_SNOMED),
                _coding(codes.ICD10, icd, icd_name),
                _coding(codes.PSORIASIS_TYPES, patient.psoriasis_type.value),
            ],
            "text": "Psoriasis",
        },
        "subject": _ref(me),
    }
    if patient.onset_year is not None:
        resource["onsetDateTime"] = f"{patient.onset_year:04d}"
    return resource


def subject(enrollment: Enrollment, me: str, study: str) -> Resource:
    return {
        "resourceType": "ResearchSubject",
        "status": codes.SUBJECT_STATUS[enrollment.status],
        "period": {"start": enrollment.start_date.isoformat()},
        "study": _ref(study),
        "individual": _ref(me),
        "assignedArm": enrollment.arm,
        "extension": _extensions(
            ("withdrawal-reason", "valueString", enrollment.withdrawal_reason)
        ),
    }


def encounter(visit: Visit, me: str) -> Resource:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": _coding(codes.ACT_CODE, "AMB", "ambulatory"),
        "identifier": [{"system": codes.VISIT_LABEL, "value": visit.label}],
        "type": [{"coding": [_coding(codes.VISIT_TYPES, visit.visit_type.value)]}],
        "subject": _ref(me),
        "period": {"start": visit.visit_date.isoformat()},
    }


def score_observation(assessment: Assessment, me: str, visit: str, day: date) -> Resource:
    code, name, unit = codes.SCORE_CODES[assessment.instrument]
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category("survey" if code in ("dlqi", "itch-nrs") else "exam")],
        "code": {"coding": [_coding(codes.SCORES, code, name)], "text": name},
        "subject": _ref(me),
        "encounter": _ref(visit),
        "effectiveDateTime": day.isoformat(),
        "extension": _extensions(
            ("responses", "valueString", json.dumps(assessment.responses, sort_keys=True))
        ),
    }
    if assessment.score is None:
        resource["dataAbsentReason"] = {"text": "the responses cannot be scored"}
    else:
        resource["valueQuantity"] = _quantity(_number(assessment.score), unit)
    if assessment.instrument is Instrument.PASI and assessment.score is not None:
        resource["component"] = _pasi_components(assessment)
    return resource


def _pasi_components(assessment: Assessment) -> list[Resource]:
    """Each region's contribution, as the instruments score it (none for an imported total)."""
    try:
        rows = score_responses(Instrument.PASI, assessment.responses).details["summary"]
    except ValueError:
        return []
    return [
        {
            "code": {"coding": [_coding(codes.SCORES, codes.PASI_REGION_CODES[row["region"]])]},
            "valueQuantity": _quantity(_number(row["contribution"]), "{score}"),
        }
        for row in rows
        if row["region"] in codes.PASI_REGION_CODES
    ]


def lab_observation(lab: LabResult, me: str, visits: dict[int, str]) -> Resource:
    label = ANALYTES[lab.analyte][0] if lab.analyte in ANALYTES else lab.analyte
    coding = [_coding(codes.ANALYTES, lab.analyte, label)]
    if lab.analyte in codes.LOINC_OF_ANALYTE:
        coding.insert(0, _coding(codes.LOINC, codes.LOINC_OF_ANALYTE[lab.analyte]))
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category("laboratory")],
        "code": {"coding": coding, "text": label},
        "subject": _ref(me),
        "effectiveDateTime": _moment(lab.sampled_at),
        "valueQuantity": _quantity(_decimal(lab.value), lab.unit),
    }
    if lab.visit_id is not None:
        resource["encounter"] = _ref(visits[lab.visit_id])
    bounds = {"low": lab.reference_low, "high": lab.reference_high}
    if any(v is not None for v in bounds.values()):
        resource["referenceRange"] = [
            {k: _quantity(_decimal(v), lab.unit) for k, v in bounds.items() if v is not None}
        ]
    return resource


def administration(dose: Administration, me: str, visits: dict[int, str]) -> Resource:
    period = {"start": _moment(dose.started_at)}
    if dose.stopped_at is not None:
        period["end"] = _moment(dose.stopped_at)
    dosage: Resource = {
        "route": {"coding": [_coding(codes.ROUTES, dose.route.value)]},
        "dose": _quantity(dose.total_cells, "{cells}"),
    }
    if dose.rate_ml_per_h is not None:
        dosage["rateQuantity"] = _quantity(_decimal(dose.rate_ml_per_h), "mL/h")
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "product",
                "code": {"coding": [_coding(codes.PRODUCTS, dose.product_source.value)]},
                "manufacturer": {"display": dose.manufacturer},
                "batch": {"lotNumber": dose.lot},
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#product"},
        "subject": _ref(me),
        "effectivePeriod": period,
        "dosage": dosage,
        "extension": _extensions(
            ("cells-per-kg", "valueDecimal", _decimal(dose.cells_per_kg)),
            ("body-weight-kg", "valueDecimal", _decimal(dose.body_weight_kg)),
            ("viability-pct", "valueDecimal", _decimal(dose.viability_pct)),
            ("passage", "valueInteger", dose.passage),
            ("cryopreserved", "valueBoolean", dose.cryopreserved),
            ("volume-ml", "valueDecimal", _decimal(dose.volume_ml)),
            ("premedication", "valueString", dose.premedication),
            ("vitals-before", "valueString", _json(dose.vitals_before)),
            ("vitals-after", "valueString", _json(dose.vitals_after)),
        ),
    }
    if dose.visit_id is not None:
        resource["context"] = _ref(visits[dose.visit_id])
    return resource


def therapy(row: ConcomitantTherapy, me: str) -> Resource:
    period = {"start": row.start_date.isoformat()}
    if row.stop_date is not None:
        period["end"] = row.stop_date.isoformat()
    medication: Resource = {"coding": [_coding(codes.THERAPY_CLASSES, row.therapy_class.value)]}
    if row.agent is not None:
        medication["text"] = row.agent
    resource: Resource = {
        "resourceType": "MedicationStatement",
        "status": "completed" if row.stop_date is not None else "active",
        "medicationCodeableConcept": medication,
        "subject": _ref(me),
        "effectivePeriod": period,
        "extension": _extensions(("biologic-target", "valueString", row.biologic_target)),
    }
    if row.dose is not None:
        resource["dosage"] = [{"text": row.dose}]
    return resource


def adverse_event(event: AdverseEvent, me: str, doses: dict[int, str]) -> Resource:
    seriousness = "serious" if event.serious else "non-serious"
    resource: Resource = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "event": {"coding": [_coding(codes.AE_TERMS, event.term.value)]},
        "subject": _ref(me),
        "date": event.onset_date.isoformat(),
        "seriousness": {"coding": [_coding(codes.AE_SERIOUSNESS, seriousness)]},
        "outcome": {"coding": [_coding(codes.AE_OUTCOME, codes.OUTCOME_CODES[event.outcome])]},
        "extension": _extensions(
            ("ctcae-grade", "valueInteger", event.grade),
            ("ctcae-version", "valueString", event.ctcae_version),
            ("relatedness", "valueCode", event.relatedness.value),
            *(("serious-criterion", "valueCode", c) for c in event.serious_criteria),
            ("expected", "valueBoolean", event.expected),
            ("verbatim-term", "valueString", event.verbatim_term),
            ("action-taken", "valueString", event.action_taken),
            ("infusion-reaction", "valueBoolean", event.infusion_reaction),
            ("resolution-date", "valueDate", _iso(event.resolution_date)),
        ),
    }
    if event.administration_id is not None:
        assessment = {"coding": [_coding(codes.RELATEDNESS, event.relatedness.value)]}
        resource["suspectEntity"] = [
            {
                "instance": _ref(doses[event.administration_id]),
                "causality": [{"assessment": assessment}],
            }
        ]
    return resource


def photo_media(photo: Photo, content: bytes, me: str, visits: dict[int, str]) -> Resource:
    resource: Resource = {
        "resourceType": "Media",
        "status": "completed",
        "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/media-type", "image")]},
        "subject": _ref(me),
        "bodySite": {"text": photo.body_site},
        "view": {"text": photo.view},
        "width": photo.width,
        "height": photo.height,
        "content": {
            "contentType": photo.media_type,
            "data": base64.b64encode(content).decode("ascii"),
            # FHIR's Attachment.hash is SHA-1; psotrack's own SHA-256 rides in an extension.
            "hash": base64.b64encode(hashlib.sha1(content).digest()).decode("ascii"),
            "size": len(content),
        },
        "extension": _extensions(
            ("content-sha256", "valueString", photo.content_hash),
            ("colour-space", "valueString", photo.colour_space.value),
        ),
    }
    if photo.captured_at is not None:
        resource["createdDateTime"] = _moment(photo.captured_at)
    if photo.visit_id is not None:
        resource["encounter"] = _ref(visits[photo.visit_id])
    return resource


# --- small builders ----------------------------------------------------------------------------


def _url(*parts: object) -> str:
    """A stable ``urn:uuid`` for a record row: the same row gives the same URL in every export."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, '/'.join(str(p) for p in parts))}"


def _entry(url: str, resource: Resource, request: Resource | None = None) -> Resource:
    extensions = resource.get("extension")
    if extensions is not None and not extensions:
        del resource["extension"]
    method = {"method": "POST", "url": resource["resourceType"], **(request or {})}
    return {"fullUrl": url, "resource": resource, "request": method}


def _mrn_query(source: FhirSource) -> str:
    identity = source.identity
    if identity is None:
        return f"identifier={codes.RESEARCH_ID}|{source.patient.research_id}"
    return f"identifier={codes.MRN}|{identity.mrn}"


def _extensions(*items: tuple[str, str, Any]) -> list[Resource]:
    return [
        {"url": codes.extension_url(name), kind: value}
        for name, kind, value in items
        if value is not None
    ]


def _coding(system: str, code: str, display: str | None = None) -> Resource:
    found = {"system": system, "code": code}
    return found if display is None else {**found, "display": display}


def _category(code: str) -> Resource:
    system = "http://terminology.hl7.org/CodeSystem/observation-category"
    return {"coding": [_coding(system, code)]}


def _ref(url: str) -> Resource:
    return {"reference": url}


def _quantity(value: float | int | None, unit: str) -> Resource:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": unit}


def _decimal(value: float | None) -> float | None:
    """A stored float for a FHIR decimal: JSON writes its shortest text that reads back equal."""
    return None if value is None else float(value)


def _number(text: str) -> int | float:
    """An exact score text (``"12.3"``, ``"7"``) as the JSON number of the same text."""
    return float(text) if "." in text else int(text)


def _moment(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.isoformat()


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _drop_empty(value: Resource) -> Resource:
    return {k: v for k, v in value.items() if v not in (None, [None], [])}
