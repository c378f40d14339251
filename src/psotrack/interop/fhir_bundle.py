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

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from psotrack.collector import collector_paused
from psotrack.interop import fhir_codes as codes
from psotrack.interop.fhir_care import administration, adverse_event, photo_media, therapy
from psotrack.interop.fhir_parts import (
    Resource,
    category,
    coding,
    decimal,
    drop_empty,
    extensions,
    moment,
    number,
    quantity,
    ref,
    stable_url,
)
from psotrack.interop.fhir_shapes import validate_bundle
from psotrack.interop.files import check_output_path, write_whole
from psotrack.services.fhir_export import FhirSource
from psotrack.services.scoring import score_responses
from psotrack.store.models import (
    Assessment,
    Enrollment,
    LabResult,
    Program,
    Visit,
)
from psotrack.store.vocabulary import ANALYTES, Instrument


def build_bundle(
    sources: Iterable[FhirSource],
    *,
    include_photos: bool = False,
    validate: bool = True,
    now: datetime | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """The transaction Bundle of these patients as JSON data, validated with the R4B models.

    The check is :func:`~psotrack.interop.fhir_shapes.validate_bundle`: it refuses exactly what
    ``Bundle.model_validate`` refuses, checking each entry shape whole once and each value by its
    element's type (a 1 000-patient Bundle: about 3 s instead of 70 s on the project's machine).
    ``validate=False`` skips it. The garbage collector is paused while the Bundle is built: its
    tens of thousands of small dicts would otherwise trigger full collections over the ORM rows
    again and again (half the build time), and none of them is garbage.
    """
    entries: list[Resource] = []
    studies: set[str] = set()
    with collector_paused():
        for source in sources:
            for program in source.programs.values():
                url = stable_url("program", program.name)
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
        with collector_paused():
            validate_bundle(bundle)
    return bundle


def write_bundle(bundle: dict[str, Any], path: Path) -> None:
    """Write the Bundle whole (:func:`~psotrack.interop.files.write_whole`)."""
    check_output_path(path)
    # One string written at once: json.dump's many small writes are several times slower.
    text = json.dumps(bundle, ensure_ascii=False, separators=(",", ":"))
    write_whole(path, lambda handle: handle.write(text.encode("utf-8")))


def patient_entries(source: FhirSource, include_photos: bool) -> list[Resource]:
    """The entries of one patient, each resource after those it refers to."""
    line = source
    patient = line.patient
    key = patient.research_id
    me = stable_url(key, "patient", patient.id)
    visits = {v.id: stable_url(key, "visit", v.id) for v in line.visits}
    doses = {a.id: stable_url(key, "administration", a.id) for a in line.administrations}
    dates = {v.id: v.visit_date for v in line.visits}
    out = [_entry(me, patient_resource(source), {"ifNoneExist": _mrn_query(source)})]
    out.append(_entry(stable_url(key, "condition"), condition(source, me)))
    for enrollment in line.enrollments:
        study = stable_url("program", source.programs[enrollment.program_id].name)
        out.append(
            _entry(stable_url(key, "enrollment", enrollment.id), subject(enrollment, me, study))
        )
    out += [_entry(visits[v.id], encounter(v, me)) for v in line.visits]
    for a in line.assessments:
        resource = score_observation(a, me, visits[a.visit_id], dates[a.visit_id])
        out.append(_entry(stable_url(key, "assessment", a.id), resource))
    out += [_entry(doses[a.id], administration(a, me, visits)) for a in line.administrations]
    out += [_entry(stable_url(key, "therapy", t.id), therapy(t, me)) for t in line.therapies]
    out += [
        _entry(stable_url(key, "lab", lab.id), lab_observation(lab, me, visits))
        for lab in line.labs
    ]
    for event in line.adverse_events:
        out.append(_entry(stable_url(key, "ae", event.id), adverse_event(event, me, doses)))
    if include_photos:
        for photo in line.photos:
            media = photo_media(photo, source.photo_bytes[photo.id], me, visits)
            out.append(_entry(stable_url(key, "photo", photo.id), media))
    return out


def research_study(program: Program) -> Resource:
    return {
        "resourceType": "ResearchStudy",
        "status": "active",
        "title": program.name,
        "description": program.regimen,
        "extension": extensions(
            ("product-source", "valueCode", program.product_source.value),
            ("route", "valueCode", program.route.value),
            ("dose-min-per-kg", "valueDecimal", decimal(program.dose_min_per_kg)),
            ("dose-max-per-kg", "valueDecimal", decimal(program.dose_max_per_kg)),
            ("viability-threshold-pct", "valueDecimal", decimal(program.viability_threshold_pct)),
            ("ctcae-version", "valueString", program.ctcae_version),
        ),
    }


def patient_resource(source: FhirSource) -> Resource:
    patient, identity = source.patient, source.identity
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{"system": codes.RESEARCH_ID, "value": patient.research_id}],
        "gender": patient.sex.value,
        "extension": extensions(
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
            resource["name"] = [drop_empty(name)]
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
        "clinicalStatus": {"coding": [coding(codes.CONDITION_CLINICAL, "active")]},
        "code": {
            "coding": [
                coding(codes.SNOMED, *codes.PSORIASIS_SNOMED),
                coding(codes.ICD10, icd, icd_name),
                coding(codes.PSORIASIS_TYPES, patient.psoriasis_type.value),
            ],
            "text": "Psoriasis",
        },
        "subject": ref(me),
    }
    if patient.onset_year is not None:
        resource["onsetDateTime"] = f"{patient.onset_year:04d}"
    return resource


def subject(enrollment: Enrollment, me: str, study: str) -> Resource:
    return {
        "resourceType": "ResearchSubject",
        "status": codes.SUBJECT_STATUS[enrollment.status],
        "period": {"start": enrollment.start_date.isoformat()},
        "study": ref(study),
        "individual": ref(me),
        "assignedArm": enrollment.arm,
        "extension": extensions(("withdrawal-reason", "valueString", enrollment.withdrawal_reason)),
    }


def encounter(visit: Visit, me: str) -> Resource:
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": coding(codes.ACT_CODE, "AMB", "ambulatory"),
        "identifier": [{"system": codes.VISIT_LABEL, "value": visit.label}],
        "type": [{"coding": [coding(codes.VISIT_TYPES, visit.visit_type.value)]}],
        "subject": ref(me),
        "period": {"start": visit.visit_date.isoformat()},
    }


def score_observation(assessment: Assessment, me: str, visit: str, day: date) -> Resource:
    code, name, unit = codes.SCORE_CODES[assessment.instrument]
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [category("survey" if code in ("dlqi", "itch-nrs") else "exam")],
        "code": {"coding": [coding(codes.SCORES, code, name)], "text": name},
        "subject": ref(me),
        "encounter": ref(visit),
        "effectiveDateTime": day.isoformat(),
        "extension": extensions(
            ("responses", "valueString", json.dumps(assessment.responses, sort_keys=True))
        ),
    }
    if assessment.score is None:
        resource["dataAbsentReason"] = {"text": "the responses cannot be scored"}
    else:
        resource["valueQuantity"] = quantity(number(assessment.score), unit)
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
            "code": {"coding": [coding(codes.SCORES, codes.PASI_REGION_CODES[row["region"]])]},
            "valueQuantity": quantity(number(row["contribution"]), "{score}"),
        }
        for row in rows
        if row["region"] in codes.PASI_REGION_CODES
    ]


def lab_observation(lab: LabResult, me: str, visits: dict[int, str]) -> Resource:
    label = ANALYTES[lab.analyte][0] if lab.analyte in ANALYTES else lab.analyte
    codings = [coding(codes.ANALYTES, lab.analyte, label)]
    if lab.analyte in codes.LOINC_OF_ANALYTE:
        codings.insert(0, coding(codes.LOINC, codes.LOINC_OF_ANALYTE[lab.analyte]))
    resource: Resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [category("laboratory")],
        "code": {"coding": codings, "text": label},
        "subject": ref(me),
        "effectiveDateTime": moment(lab.sampled_at),
        "valueQuantity": quantity(decimal(lab.value), lab.unit),
    }
    if lab.visit_id is not None:
        resource["encounter"] = ref(visits[lab.visit_id])
    bounds = {"low": lab.reference_low, "high": lab.reference_high}
    if any(v is not None for v in bounds.values()):
        resource["referenceRange"] = [
            {k: quantity(decimal(v), lab.unit) for k, v in bounds.items() if v is not None}
        ]
    return resource


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
