"""FHIR R4 export and import (issue 17): a round trip into an empty database loses nothing.

The source is the synthetic demo (3 patients, photos) plus one hand-made patient with every
optional field set (withdrawn with a reason, lab reference range, dose vitals, premedication, a
stopped infusion, a serious adverse event with criteria, a stopped biologic, a PNG photo). It is
exported with ``psotrack export fhir``, imported with ``psotrack import fhir`` into a new SQLite
file, exported again, and every stored field is compared (:func:`record_of`: row ids, creation
times, audit rows and staff user ids — which name users of the other installation — left out;
links between rows compared by what they point to: a visit's label, a dose's start time).
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from psotrack.cli import main
from psotrack.errors import ValidationError
from psotrack.interop.redcap_files import read_dictionary, read_records
from psotrack.interop.redcap_mapping import read_mapping
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.demo import build_demo
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import (
    create_program,
    enroll_patient,
    record_visit,
    register_imported_patient,
    withdraw_patient,
)
from psotrack.services.photos import attach_photo
from psotrack.services.redcap_import import import_redcap
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.services.timeline import load_timeline
from psotrack.services.users import actor_named, create_user
from psotrack.store import make_engine, upgrade
from psotrack.store.models import KEPT_BY_THE_DATABASE, Patient, Program

REDCAP = Path(__file__).parents[1] / "data" / "redcap"
IGNORED = {"id", "created_at", "deleted_at", "deleted_reason", "patient_id", "visit_id"}
IGNORED |= KEPT_BY_THE_DATABASE  # kept by the database itself, not imported
IGNORED |= {"clinician_id", "assessor_id", "operator_id", "administration_id", "program_id"}


def _row(row: Any, **extra: Any) -> dict[str, Any]:
    values = {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in IGNORED}
    return {
        k: (v.astimezone(UTC) if isinstance(v, datetime) and v.tzinfo else v)
        for k, v in {**values, **extra}.items()
    }


def record_of(db: Database, actor: Actor) -> dict[str, Any]:
    """Every stored field of every patient, keyed by MRN, without row ids or creation times."""
    with db.transaction() as session:
        ids = list(session.scalars(select(Patient.id)))
        programs = {p.id: _row(p) for p in session.scalars(select(Program))}
    found = {}
    for pid in ids:
        line = load_timeline(db, actor, pid)
        label = {v.id: v.label for v in line.visits}
        start = {a.id: a.started_at for a in line.administrations}
        assert line.identity is not None
        found[line.identity.mrn] = {
            "patient": _row(line.patient),
            "identity": _row(line.identity),
            "enrollments": [_row(e, program=programs[e.program_id]) for e in line.enrollments],
            "visits": sorted((_row(v) for v in line.visits), key=lambda v: v["label"]),
            "assessments": sorted(
                (_row(a, visit=label[a.visit_id]) for a in line.assessments),
                key=lambda a: (a["visit"], a["instrument"]),
            ),
            "administrations": [_row(a, visit=label.get(a.visit_id)) for a in line.administrations],
            "therapies": [_row(t) for t in line.therapies],
            "labs": sorted(
                (_row(lab, visit=label.get(lab.visit_id)) for lab in line.labs),
                key=lambda lab: (lab["sampled_at"], lab["analyte"]),
            ),
            "adverse_events": [
                _row(e, dose=start.get(e.administration_id)) for e in line.adverse_events
            ],
            "photos": sorted(
                (_row(p, visit=label.get(p.visit_id)) for p in line.photos),
                key=lambda p: (str(p["captured_at"]), p["content_hash"]),
            ),
        }
    return found


def png_photo() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 120, 110))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def add_full_patient(db: Database, clinician: Actor) -> None:
    """One patient with every optional field the services take."""
    with db.transaction() as session:
        program = session.scalars(select(Program.id)).first()
    pid = enroll_patient(
        db,
        clinician,
        {
            "mrn": "FULL-0001",
            "family_name": "Fullfield",
            "given_name": "Wilhelmina",
            "birth_date": date(1971, 11, 23),
            "sex": "female",
            "psoriasis_type": "guttate",
            "fitzpatrick": 4,
            "onset_year": 1990,
            "history": "nail changes since 2001",
            "program_id": program,
            "start_date": date(2026, 2, 9),
            "status": "active",
            "arm": "UC-MSC IV",
        },
    )
    visit = record_visit(
        db,
        clinician,
        {
            "patient_id": pid,
            "visit_date": date(2026, 2, 23),
            "visit_type": "treatment",
            "label": "Day 14",
        },
    )
    dose = log_administration(
        db,
        clinician,
        {
            "patient_id": pid,
            "visit_id": visit,
            "product_source": "UC-MSC",
            "manufacturer": "Cell Works Ltd",
            "lot": "LOT-77/B",
            "passage": 4,
            "cryopreserved": True,
            "total_cells": 117_000_000,
            "body_weight_kg": 78.3,
            "cells_per_kg": 117_000_000 / 78.3,
            "viability_pct": 92.5,
            "route": "IV",
            "volume_ml": 100.0,
            "rate_ml_per_h": 50.0,
            "started_at": datetime(2026, 2, 23, 9, 5, tzinfo=UTC),
            "stopped_at": datetime(2026, 2, 23, 11, 10, tzinfo=UTC),
            "premedication": "paracetamol 1 g",
            "vitals_before": {"heart_rate": 72, "systolic": 121, "temperature_c": 36.8},
            "vitals_after": {"heart_rate": 80, "spo2": 97},
        },
    )
    record_lab_result(
        db,
        clinician,
        {
            "patient_id": pid,
            "visit_id": visit,
            "analyte": "crp",
            "value": 4.2,
            "unit": "mg/L",
            "reference_low": 0.0,
            "reference_high": 5.0,
            "sampled_at": datetime(2026, 2, 23, 8, 40, tzinfo=UTC),
        },
    )
    record_concomitant_therapy(
        db,
        clinician,
        {
            "patient_id": pid,
            "therapy_class": "biologic",
            "agent": "secukinumab",
            "biologic_target": "IL-17A",
            "start_date": date(2024, 1, 1),
            "stop_date": date(2025, 6, 30),
            "dose": "300 mg monthly",
        },
    )
    report_adverse_event(
        db,
        clinician,
        {
            "patient_id": pid,
            "term": "infection",
            "verbatim_term": "chest infection",
            "onset_date": date(2026, 2, 25),
            "resolution_date": date(2026, 3, 4),
            "grade": 3,
            "serious": True,
            "serious_criteria": ["hospitalisation"],
            "expected": False,
            "relatedness": "possible",
            "action_taken": "admitted for antibiotics",
            "outcome": "recovered with sequelae",
            "administration_id": dose,
        },
        recorded_on=date(2026, 2, 26),
    )
    attach_photo(
        db,
        clinician,
        patient_id=pid,
        image_bytes=png_photo(),
        body_site="scalp",
        view="top",
        visit_id=visit,
        captured_at=datetime(2026, 2, 23, 9, 0, tzinfo=UTC),
    )
    withdraw_patient(db, clinician, pid, "moved to another city")


def fresh(tmp_path: Path, name: str) -> tuple[str, Database, Actor]:
    """An empty migrated SQLite file with one admin; its URL, database and actor."""
    url = f"sqlite:///{tmp_path / name}.db"
    engine = make_engine(url)
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=tmp_path / f"{name}-photos")
    form = {"username": f"{name}-admin", "display_name": "Admin", "role": "admin"}
    return url, db, Actor(create_user(db, SYSTEM, form), "admin", f"{name}-admin")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Database, Actor]:
    """Built once for the module: the tests only read it."""
    tmp_path = tmp_path_factory.mktemp("fhir-source")
    url = f"sqlite:///{tmp_path / 'source'}.db"
    engine = make_engine(url)
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=tmp_path / "source-photos")
    build_demo(db, patients=3, seed=7)
    add_full_patient(db, actor_named(db, "demo-clinician"))
    return url, db, actor_named(db, "demo-admin")


def export(url: str, user: str, output: Path, photos: Path, *more: str) -> int:
    return main(
        [
            "export",
            "fhir",
            "--database-url",
            url,
            "--user",
            user,
            "--output",
            str(output),
            "--photo-dir",
            str(photos),
            *more,
        ]
    )


def test_round_trip_through_the_commands_loses_nothing(source, tmp_path: Path, capsys):
    url, db, admin = source
    bundle = tmp_path / "bundle.json"
    assert export(url, "demo-admin", bundle, db.photo_dir, "--include-photos") == 0
    assert "4 patients" in capsys.readouterr().out
    target_url, target, importer = fresh(tmp_path, "target")
    assert (
        main(
            [
                "import",
                "fhir",
                str(bundle),
                "--database-url",
                target_url,
                "--user",
                "target-admin",
                "--photo-dir",
                str(target.photo_dir),
            ]
        )
        == 0
    )
    # 3 demo patients + 1 hand-made one
    assert "imported 4 patients" in capsys.readouterr().out
    before, after = record_of(db, admin), record_of(target, importer)
    assert set(before) == {"DEMO-0001", "DEMO-0002", "DEMO-0003", "FULL-0001"}
    for mrn in before:
        for part in before[mrn]:
            if part == "photos":
                continue  # compared below: a JPEG is re-encoded when it is cleaned again
            assert after[mrn][part] == before[mrn][part], (mrn, part)
    full = before["FULL-0001"]["photos"], after["FULL-0001"]["photos"]
    assert full[0] == full[1]  # a PNG re-cleaned is the same bytes: same SHA-256
    for mrn in before:
        keep = ("body_site", "view", "captured_at", "media_type", "width", "height", "visit")
        for a, b in zip(before[mrn]["photos"], after[mrn]["photos"], strict=True):
            assert {k: a[k] for k in keep} == {k: b[k] for k in keep}
    again = tmp_path / "again.json"
    assert export(target_url, "target-admin", again, target.photo_dir) == 0


def test_the_bundle_is_r4_with_standard_codes(source, tmp_path: Path):
    url, db, _ = source
    bundle = tmp_path / "bundle.json"
    assert export(url, "demo-clinician", bundle, db.photo_dir, "--patient", "4") == 0
    data = json.loads(bundle.read_text(encoding="utf-8"))
    assert data["type"] == "transaction"
    assert data["meta"]["tag"][0]["code"] == "4.0.1"
    kinds = [e["resource"]["resourceType"] for e in data["entry"]]
    # program, patient, condition, enrollment, 1 visit, dose, therapy, lab, AE; no photo
    assert kinds == [
        "ResearchStudy",
        "Patient",
        "Condition",
        "ResearchSubject",
        "Encounter",
        "MedicationAdministration",
        "MedicationStatement",
        "Observation",
        "AdverseEvent",
    ]
    condition = data["entry"][2]["resource"]["code"]["coding"]
    assert {(c["system"], c["code"]) for c in condition} >= {
        ("http://snomed.info/sct", "9014002"),
        ("http://hl7.org/fhir/sid/icd-10", "L40.4"),  # guttate
    }
    lab = data["entry"][7]["resource"]
    assert lab["valueQuantity"] == {
        "value": 4.2,
        "unit": "mg/L",
        "system": "http://unitsofmeasure.org",
        "code": "mg/L",
    }
    assert lab["code"]["coding"][0] == {"system": "http://loinc.org", "code": "1988-5"}
    dose = data["entry"][5]["resource"]
    assert dose["contained"][0]["batch"] == {"lotNumber": "LOT-77/B"}
    assert dose["dosage"]["dose"]["value"] == 117_000_000


def test_pasi_observation_has_region_components(source, tmp_path: Path):
    url, db, _ = source
    bundle = tmp_path / "one.json"
    assert export(url, "demo-admin", bundle, db.photo_dir, "--patient", "1") == 0
    data = json.loads(bundle.read_text(encoding="utf-8"))
    pasi = [
        e["resource"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "pasi"
    ]
    assert pasi
    for observation in pasi:
        parts = {
            c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
            for c in observation["component"]
        }
        assert set(parts) == {"pasi-head", "pasi-upper-limbs", "pasi-trunk", "pasi-lower-limbs"}
        # the total is the sum of the region contributions (exact to one decimal)
        assert round(sum(parts.values()), 1) == observation["valueQuantity"]["value"]


def test_a_researcher_may_not_export_identified_records(source, tmp_path: Path, capsys):
    url, db, _ = source
    assert export(url, "demo-researcher", tmp_path / "x.json", db.photo_dir) == 1
    assert "may not read identified records" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_photo_bytes_travel_only_when_asked(source, tmp_path: Path):
    url, db, _ = source
    bundle = tmp_path / "no-photos.json"
    assert export(url, "demo-admin", bundle, db.photo_dir) == 0
    assert '"Media"' not in bundle.read_text(encoding="utf-8")
    with_photos = tmp_path / "photos.json"
    assert export(url, "demo-admin", with_photos, db.photo_dir, "--include-photos") == 0
    media = [
        e["resource"]
        for e in json.loads(with_photos.read_text())["entry"]
        if e["resource"]["resourceType"] == "Media"
    ]
    assert len(media) == 2 * 3 + 1  # demo: weeks 0 and 12 of patients 1–3; one PNG
    png = next(m for m in media if m["content"]["contentType"] == "image/png")
    sha = [x["valueString"] for x in png["extension"] if x["url"].endswith("content-sha256")]
    assert sha == [
        hashlib.sha256(__import__("base64").b64decode(png["content"]["data"])).hexdigest()
    ]


def test_patients_imported_from_redcap_without_names_round_trip(tmp_path: Path, capsys):
    """A REDCap record is stored by its record id alone (no names, no birth date): the Bundle
    psotrack writes for it must come back in whole, not be refused for the enrollment form's
    required names."""
    url, db, admin = fresh(tmp_path, "redcap")
    program = {"name": "P", "regimen": "r", "product_source": "UC-MSC", "route": "IV"}
    create_program(db, SYSTEM, program)
    dictionary = read_dictionary(REDCAP / "dictionary.csv")
    rows = read_records(REDCAP / "records.csv", dictionary)
    import_redcap(db, admin, dictionary, rows, read_mapping(None), program="P", synthetic=True)
    before = record_of(db, admin)
    assert len(before) == 3
    assert all(p["identity"]["family_name"] is None for p in before.values())
    assert all(p["identity"]["birth_date"] is None for p in before.values())
    bundle = tmp_path / "bundle.json"
    assert export(url, "redcap-admin", bundle, db.photo_dir) == 0
    target_url, target, importer = fresh(tmp_path, "target")
    command = ["import", "fhir", str(bundle), "--database-url", target_url]
    assert main([*command, "--user", "target-admin"]) == 0, capsys.readouterr().err
    assert record_of(target, importer) == before


def test_an_imported_patient_keeps_the_enrollment_forms_rules_for_what_it_gives(tmp_path: Path):
    """Names and birth date may be absent on import, but a name given empty, or an onset before
    the birth year, is refused as on the enrollment form."""
    _, db, admin = fresh(tmp_path, "rules")
    program_id = create_program(
        db, SYSTEM, {"name": "P", "regimen": "r", "product_source": "UC-MSC", "route": "IV"}
    )
    form = {"mrn": "M-1", "sex": "female", "program_id": program_id, "start_date": date(2026, 1, 5)}
    with pytest.raises(ValidationError) as empty:
        register_imported_patient(db, admin, {**form, "family_name": ""})
    assert [p.field for p in empty.value.problems] == ["family_name"]
    with pytest.raises(ValidationError) as onset:
        register_imported_patient(
            db, admin, {**form, "birth_date": date(1980, 5, 1), "onset_year": 1979}
        )
    assert [p.field for p in onset.value.problems] == ["onset_year"]
    with pytest.raises(ValidationError) as required:
        enroll_patient(db, admin, form)
    assert {p.field for p in required.value.problems} == {"family_name", "given_name", "birth_date"}
    pid = register_imported_patient(db, admin, form)
    with db.transaction() as session:
        assert session.get(Patient, pid).birth_year is None
