"""`psotrack import fhir` refuses bad Bundles: exit 2, every problem named by entry, nothing stored.

The bad Bundles are hand-edited copies of a one-patient demo export; the tests find the entry
to spoil by type and code (:func:`first`) and expect its 1-based number in the message.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from psotrack.cli import main
from psotrack.interop.fhir_bundle import build_bundle
from psotrack.services.context import SYSTEM, Database
from psotrack.services.demo import build_demo
from psotrack.services.fhir_export import fhir_sources
from psotrack.services.users import actor_named, create_user
from psotrack.store import make_engine, upgrade
from psotrack.store.models import AuditEntry, Patient, Program


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A one-patient demo Bundle (built once; each test edits a deep copy)."""
    folder = tmp_path_factory.mktemp("fhir-good")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=folder / "photos")
    build_demo(db, patients=1, seed=3)
    return build_bundle(fhir_sources(db, actor_named(db, "demo-admin")))


@pytest.fixture
def target(tmp_path: Path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'target.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    create_user(db, SYSTEM, {"username": "importer", "display_name": "I", "role": "admin"})
    return url, db


def import_file(url: str, bundle: object, tmp_path: Path, name: str = "bad.json") -> int:
    path = tmp_path / name
    path.write_text(json.dumps(bundle) if not isinstance(bundle, str) else bundle, "utf-8")
    return main(
        [
            "import",
            "fhir",
            str(path),
            "--database-url",
            url,
            "--user",
            "importer",
            "--photo-dir",
            str(tmp_path / "photos"),
        ]
    )


def nothing_stored(db: Database) -> bool:
    with db.transaction() as session:
        patients = session.scalar(select(func.count()).select_from(Patient))
        programs = session.scalar(select(func.count()).select_from(Program))
        audit = session.scalar(select(func.count()).select_from(AuditEntry))
    # the audit log holds only the importer's creation (one row per column set)
    return patients == 0 and programs == 0 and audit is not None


def first(bundle: dict[str, Any], kind: str, code: str | None = None) -> tuple[int, dict[str, Any]]:
    """The 1-based number and resource of the first entry of ``kind`` (with ``code``)."""
    for number, entry in enumerate(bundle["entry"], start=1):
        resource = entry["resource"]
        if resource["resourceType"] != kind:
            continue
        codes = [c["code"] for c in resource.get("code", {}).get("coding", [])]
        if code is None or code in codes:
            return number, resource
    raise AssertionError(f"no {kind} {code}")


def test_the_good_bundle_imports(good, target, tmp_path, capsys):
    url, _ = target
    assert import_file(url, good, tmp_path) == 0
    assert "imported 1 patients" in capsys.readouterr().out


def test_a_resource_that_is_not_a_bundle_is_refused(good, target, tmp_path, capsys):
    url, db = target
    patient = first(good, "Patient")[1]
    assert import_file(url, patient, tmp_path) == 2
    assert "resourceType='Patient': a FHIR Bundle" in capsys.readouterr().err
    assert nothing_stored(db)


def test_text_that_is_not_json_is_refused(target, tmp_path, capsys):
    url, _ = target
    assert import_file(url, "{not json", tmp_path) == 2
    assert "a UTF-8 JSON file" in capsys.readouterr().err


def test_every_problem_is_named_and_nothing_is_stored(good, target, tmp_path, capsys):
    url, db = target
    bad = copy.deepcopy(good)
    unknown = {"resourceType": "Foo", "id": "x"}
    bad["entry"].append(
        {
            "fullUrl": "urn:uuid:foo",
            "resource": unknown,
            "request": {"method": "POST", "url": "Foo"},
        }
    )
    foo = len(bad["entry"])
    # An R5-only element: Encounter.class became a list of CodeableConcepts in R5.
    visit, encounter = first(bad, "Encounter")
    encounter["class"] = [{"coding": [encounter["class"]]}]
    # An R5-only element of Observation (R5 added triggeredBy).
    itch, observation = first(bad, "Observation", "itch-nrs")
    observation["triggeredBy"] = [{"type": "reflex", "observation": {"reference": "x"}}]
    assert import_file(url, bad, tmp_path) == 2
    problems = capsys.readouterr().err
    assert f"entry {foo} resourceType='Foo'" in problems
    assert f"entry {visit} Encounter.class" in problems
    assert f"entry {itch} Observation.triggeredBy" in problems
    assert nothing_stored(db)


def test_an_out_of_range_item_and_a_missing_patient_are_both_named(good, target, tmp_path, capsys):
    url, db = target
    bad = copy.deepcopy(good)
    pasi, observation = first(bad, "Observation", "pasi")
    extension = next(e for e in observation["extension"] if e["url"].endswith("/responses"))
    responses = json.loads(extension["valueString"])
    responses["head"]["erythema"] = 7  # PASI signs are 0–4
    extension["valueString"] = json.dumps(responses)
    lab, observation = first(bad, "Observation", "il17a")
    observation["subject"] = {"reference": "urn:uuid:00000000-0000-0000-0000-000000000000"}
    assert import_file(url, bad, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"entry {pasi} Observation.responses.head_erythema=7 is outside 0–4" in err
    assert f"entry {lab} Observation.subject.reference=" in err
    assert "a reference to a Patient entry of this Bundle" in err
    assert nothing_stored(db)


def test_a_stated_score_psotrack_does_not_compute_is_refused(good, target, tmp_path, capsys):
    url, db = target
    bad = copy.deepcopy(good)
    number, observation = first(bad, "Observation", "dlqi")
    stated = observation["valueQuantity"]["value"]
    observation["valueQuantity"]["value"] = stated + 1
    assert import_file(url, bad, tmp_path) == 2
    err = capsys.readouterr().err
    assert f"entry {number} Observation.valueQuantity.value={stated + 1}" in err
    assert f"the score psotrack computes from its responses ({stated})" in err
    assert nothing_stored(db)


def test_a_second_import_of_the_same_patient_is_refused_whole(good, target, tmp_path, capsys):
    url, db = target
    assert import_file(url, good, tmp_path, "first.json") == 0
    capsys.readouterr()
    assert import_file(url, good, tmp_path, "second.json") == 2
    number = first(good, "Patient")[0]
    err = capsys.readouterr().err
    assert f"entry {number} Patient.identifier='DEMO-0001': a patient with this MRN" in err
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 1


def test_an_r5_version_tag_is_refused(good, target, tmp_path, capsys):
    url, db = target
    bad = copy.deepcopy(good)
    bad["meta"]["tag"][0]["code"] = "5.0.0"
    assert import_file(url, bad, tmp_path) == 2
    assert "meta.tag='5.0.0': FHIR 4.0.1 (R4)" in capsys.readouterr().err
    assert nothing_stored(db)
