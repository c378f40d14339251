"""FHIR R4 resources of care given and its harms: cell-therapy doses, other therapies, adverse
events, photos (one function per resource, from one stored row)."""

from __future__ import annotations

import base64
import hashlib

from psotrack.interop import fhir_codes as codes
from psotrack.interop.fhir_parts import (
    Resource,
    coding,
    decimal,
    extensions,
    iso,
    json_text,
    moment,
    quantity,
    ref,
)
from psotrack.store.models import Administration, AdverseEvent, ConcomitantTherapy, Photo


def administration(dose: Administration, me: str, visits: dict[int, str]) -> Resource:
    period = {"start": moment(dose.started_at)}
    if dose.stopped_at is not None:
        period["end"] = moment(dose.stopped_at)
    dosage: Resource = {
        "route": {"coding": [coding(codes.ROUTES, dose.route.value)]},
        "dose": quantity(dose.total_cells, "{cells}"),
    }
    if dose.rate_ml_per_h is not None:
        dosage["rateQuantity"] = quantity(decimal(dose.rate_ml_per_h), "mL/h")
    resource: Resource = {
        "resourceType": "MedicationAdministration",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "product",
                "code": {"coding": [coding(codes.PRODUCTS, dose.product_source.value)]},
                "manufacturer": {"display": dose.manufacturer},
                "batch": {"lotNumber": dose.lot},
            }
        ],
        "status": "completed",
        "medicationReference": {"reference": "#product"},
        "subject": ref(me),
        "effectivePeriod": period,
        "dosage": dosage,
        "extension": extensions(
            ("cells-per-kg", "valueDecimal", decimal(dose.cells_per_kg)),
            ("body-weight-kg", "valueDecimal", decimal(dose.body_weight_kg)),
            ("viability-pct", "valueDecimal", decimal(dose.viability_pct)),
            ("passage", "valueInteger", dose.passage),
            ("cryopreserved", "valueBoolean", dose.cryopreserved),
            ("volume-ml", "valueDecimal", decimal(dose.volume_ml)),
            ("premedication", "valueString", dose.premedication),
            ("vitals-before", "valueString", json_text(dose.vitals_before)),
            ("vitals-after", "valueString", json_text(dose.vitals_after)),
        ),
    }
    if dose.visit_id is not None:
        resource["context"] = ref(visits[dose.visit_id])
    return resource


def therapy(row: ConcomitantTherapy, me: str) -> Resource:
    period = {"start": row.start_date.isoformat()}
    if row.stop_date is not None:
        period["end"] = row.stop_date.isoformat()
    medication: Resource = {"coding": [coding(codes.THERAPY_CLASSES, row.therapy_class.value)]}
    if row.agent is not None:
        medication["text"] = row.agent
    resource: Resource = {
        "resourceType": "MedicationStatement",
        "status": "completed" if row.stop_date is not None else "active",
        "medicationCodeableConcept": medication,
        "subject": ref(me),
        "effectivePeriod": period,
        "extension": extensions(("biologic-target", "valueString", row.biologic_target)),
    }
    if row.dose is not None:
        resource["dosage"] = [{"text": row.dose}]
    return resource


def adverse_event(event: AdverseEvent, me: str, doses: dict[int, str]) -> Resource:
    seriousness = "serious" if event.serious else "non-serious"
    resource: Resource = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "event": {"coding": [coding(codes.AE_TERMS, event.term.value)]},
        "subject": ref(me),
        "date": event.onset_date.isoformat(),
        "seriousness": {"coding": [coding(codes.AE_SERIOUSNESS, seriousness)]},
        "outcome": {"coding": [coding(codes.AE_OUTCOME, codes.OUTCOME_CODES[event.outcome])]},
        "extension": extensions(
            ("ctcae-grade", "valueInteger", event.grade),
            ("ctcae-version", "valueString", event.ctcae_version),
            ("relatedness", "valueCode", event.relatedness.value),
            *(("serious-criterion", "valueCode", c) for c in event.serious_criteria),
            ("expected", "valueBoolean", event.expected),
            ("verbatim-term", "valueString", event.verbatim_term),
            ("action-taken", "valueString", event.action_taken),
            ("infusion-reaction", "valueBoolean", event.infusion_reaction),
            ("resolution-date", "valueDate", iso(event.resolution_date)),
        ),
    }
    if event.administration_id is not None:
        assessment = {"coding": [coding(codes.RELATEDNESS, event.relatedness.value)]}
        resource["suspectEntity"] = [
            {
                "instance": ref(doses[event.administration_id]),
                "causality": [{"assessment": assessment}],
            }
        ]
    return resource


def photo_media(photo: Photo, content: bytes, me: str, visits: dict[int, str]) -> Resource:
    resource: Resource = {
        "resourceType": "Media",
        "status": "completed",
        "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/media-type", "image")]},
        "subject": ref(me),
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
        "extension": extensions(
            ("content-sha256", "valueString", photo.content_hash),
            ("colour-space", "valueString", photo.colour_space.value),
        ),
    }
    if photo.captured_at is not None:
        resource["createdDateTime"] = moment(photo.captured_at)
    if photo.visit_id is not None:
        resource["encounter"] = ref(visits[photo.visit_id])
    return resource
