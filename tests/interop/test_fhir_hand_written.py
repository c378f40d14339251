"""`psotrack import fhir` on a hand-written Bundle (not psotrack's own export), on SQLite and
PostgreSQL: the smallest record psotrack stores — a program, a patient with a psoriasis
Condition coded by ICD-10 only, an enrollment, one visit, a PASI and a CRP.

Known answer: every region graded erythema 2, induration 2, desquamation 1 with area score 2 →
PASI = (0.1 + 0.2 + 0.3 + 0.4) × (2 + 2 + 1) × 2 = 10.0 (Fredriksson & Pettersson 1978).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from psotrack.interop.fhir_read import read_bundle_file
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.fhir_import import import_fhir
from psotrack.services.users import create_user
from psotrack.store.models import Assessment, LabResult, Patient, PatientIdentity
from psotrack.store.vocabulary import Role

EXT = "https://psotrack.org/fhir/StructureDefinition/"
REGION = {"erythema": 2, "induration": 2, "desquamation": 1, "area": 2}


def hand_written() -> dict[str, Any]:
    def entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
        request = {"method": "POST", "url": resource["resourceType"]}
        return {"fullUrl": url, "resource": resource, "request": request}

    patient = {"reference": "urn:uuid:patient"}
    visit = {"reference": "urn:uuid:visit"}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry("urn:uuid:study", {
                "resourceType": "ResearchStudy", "status": "active", "title": "Hand study",
                "description": "UC-MSC IV at weeks 0 and 4",
                "extension": [{"url": EXT + "product-source", "valueCode": "UC-MSC"},
                              {"url": EXT + "route", "valueCode": "IV"}],
            }),
            entry("urn:uuid:patient", {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "https://psotrack.org/fhir/sid/mrn", "value": "HAND-1"},
                    {"system": "https://psotrack.org/fhir/sid/research-id",
                     "value": "PT-0A0B0C0D"},
                ],
                "name": [{"family": "Handwritten", "given": ["Harriet"]}],
                "gender": "female", "birthDate": "1980-05-05",
            }),
            entry("urn:uuid:condition", {
                "resourceType": "Condition", "subject": patient, "onsetDateTime": "2001",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10",
                                     "code": "L40.4"}]},
            }),
            entry("urn:uuid:subject", {
                "resourceType": "ResearchSubject", "status": "on-study",
                "period": {"start": "2026-01-05"}, "study": {"reference": "urn:uuid:study"},
                "individual": patient,
            }),
            entry("urn:uuid:visit", {
                "resourceType": "Encounter", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                          "code": "AMB"},
                "identifier": [{"system": "https://psotrack.org/fhir/sid/visit-label",
                                "value": "Week 0"}],
                "type": [{"coding": [{"system": "https://psotrack.org/fhir/CodeSystem/visit-types",
                                      "code": "baseline"}]}],
                "subject": patient, "period": {"start": "2026-01-05"},
            }),
            entry("urn:uuid:pasi", {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "https://psotrack.org/fhir/CodeSystem/scores",
                                     "code": "pasi"}]},
                "subject": patient, "encounter": visit, "valueQuantity": {"value": 10.0},
                "extension": [{"url": EXT + "responses", "valueString": json.dumps(
                    dict.fromkeys(("head", "upper_limbs", "trunk", "lower_limbs"), REGION))}],
            }),
            entry("urn:uuid:crp", {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "https://psotrack.org/fhir/CodeSystem/analytes",
                                     "code": "crp"}]},
                "subject": patient, "effectiveDateTime": "2026-01-05T08:30:00Z",
                "valueQuantity": {"value": 3.1, "unit": "mg/L",
                                  "system": "http://unitsofmeasure.org", "code": "mg/L"},
            }),
        ],
    }  # fmt: skip


@pytest.fixture
def database(engine, tmp_path: Path) -> tuple[Database, Actor]:
    db = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    form = {"username": "clinician", "display_name": "C", "role": "clinician"}
    return db, Actor(create_user(db, SYSTEM, form), Role.CLINICIAN, "clinician")


def test_a_hand_written_bundle_is_stored(database, tmp_path: Path):
    db, clinician = database
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(hand_written()), encoding="utf-8")
    plan = read_bundle_file(path)
    # a clinician may not create programs: made by an administrator first
    from psotrack.services.patients import create_program

    create_program(db, SYSTEM, plan.programs[0].payload)
    summary = import_fhir(db, clinician, plan)
    assert (summary.patients, summary.visits, summary.assessments, summary.labs) == (1, 1, 1, 1)
    assert summary.programs_created == 0
    with db.transaction() as session:
        patient = session.scalars(select(Patient)).one()
        identity = session.get(PatientIdentity, patient.id)
        assert (patient.research_id, patient.psoriasis_type.value) == ("PT-0A0B0C0D", "guttate")
        assert (patient.onset_year, patient.birth_year, identity.mrn) == (2001, 1980, "HAND-1")
        assert session.scalars(select(Assessment.score)).one() == "10.0"
        lab = session.scalars(select(LabResult)).one()
        assert (lab.analyte, lab.value, lab.unit) == ("crp", 3.1, "mg/L")


def test_a_clinician_cannot_create_the_program_so_nothing_is_stored(database, tmp_path: Path):
    db, clinician = database
    plan = read_bundle_file(_written(tmp_path))
    with pytest.raises(Exception, match="manage programs"):
        import_fhir(db, clinician, plan)
    with db.transaction() as session:
        assert session.scalars(select(Patient)).all() == []


def _written(tmp_path: Path) -> Path:
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(hand_written()), encoding="utf-8")
    return path
