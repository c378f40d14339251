"""The export's R4B check by shape refuses exactly what the whole R4B models refuse (issue 17).

The source is the round-trip test's: the synthetic demo (3 patients, photos) plus the hand-made
patient with every optional field set, exported with photos. Every resource of the exported Bundle
is validated independently with its own R4B model class, and the Bundle whole with
``Bundle.model_validate``. Then each primitive value of a resource whose shape came before is
replaced by probe values (good and bad dates, codes with spaces, empty strings, wrong types), and
elements are removed, added, nulled: for every change, :class:`ShapeChecker` (warmed with the
whole export) must give the verdict of ``BundleEntry.model_validate``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.medication import Medication

from psotrack.interop.fhir_bundle import build_bundle, write_bundle
from psotrack.interop.fhir_check import MODELS
from psotrack.interop.fhir_shapes import ShapeChecker, validate_bundle
from psotrack.services.context import Database
from psotrack.services.demo import build_demo
from psotrack.services.fhir_export import fhir_sources
from psotrack.services.users import actor_named
from psotrack.store import make_engine, upgrade
from tests.interop.test_fhir_round_trip import add_full_patient

#: Values put in place of a primitive value: valid for some types, invalid for others.
PROBES: tuple[Any, ...] = (
    "",
    " ",
    "x",
    "two  spaces",
    "2024-13-40",
    "2024-02-29",
    "2023-02-29",
    "2024-01-08T10:00:00",
    "2024-01-08T10:00:00+00:00",
    "urn:uuid:0",
    "http://example.org/a b",
    "-1",
    0,
    -1,
    2.5,
    True,
    None,
    ["x"],
    {"text": "x"},
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Bundle of the demo patients and the full patient, with photos, as the file holds it."""
    tmp_path = tmp_path_factory.mktemp("fhir-shapes")
    engine = make_engine(f"sqlite:///{tmp_path / 'source.db'}")
    upgrade(engine)
    db = Database.from_engine(engine, photo_dir=tmp_path / "photos")
    build_demo(db, patients=3, seed=7)
    add_full_patient(db, actor_named(db, "demo-clinician"))
    sources = fhir_sources(db, actor_named(db, "demo-admin"), include_photos=True)
    write_bundle(build_bundle(sources, include_photos=True), tmp_path / "bundle.json")
    engine.dispose()
    data: dict[str, Any] = json.loads((tmp_path / "bundle.json").read_text(encoding="utf-8"))
    return data


def test_every_exported_resource_is_valid_for_its_r4b_model(exported):
    kinds = set()
    for entry in exported["entry"]:
        resource = entry["resource"]
        kinds.add(resource["resourceType"])
        MODELS[resource["resourceType"]].model_validate(resource)
        for inner in resource.get("contained", []):
            assert inner["resourceType"] == "Medication"
            Medication.model_validate(inner)
    Bundle.model_validate(exported)
    assert validate_bundle(exported) > 0
    assert kinds >= {"Patient", "Condition", "Encounter", "Observation", "Media"}
    assert kinds >= {"MedicationAdministration", "MedicationStatement", "AdverseEvent"}


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every element (objects, lists and values) under ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        yield (*path, key)
        if isinstance(item, dict | list):
            yield from _places(item, (*path, key))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _remove(data: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


def _valid(check: Any, entry: dict[str, Any]) -> bool:
    try:
        check(entry)
    except pydantic.ValidationError:
        return False
    return True


def _changes(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in list(_places(entry)):
        if path[-1] == "resourceType":
            continue
        for probe in PROBES:
            changed = copy.deepcopy(entry)
            _set(changed, path, probe)
            yield changed
        changed = copy.deepcopy(entry)
        _remove(changed, path)
        yield changed
        if isinstance(path[-1], str):
            changed = copy.deepcopy(entry)
            parent = changed
            for key in path[:-1]:
                parent = parent[key]
            parent["unknownElement"] = "x"
            yield changed


def test_the_shape_check_gives_the_whole_models_verdict_on_every_change(exported):
    checker = ShapeChecker(BundleEntry)
    last_of_kind: dict[str, dict[str, Any]] = {}
    for entry in exported["entry"]:
        checker.validate(entry)  # the whole export passes, and warms every shape
        last_of_kind[entry["resource"]["resourceType"]] = entry
    refused = passed = 0
    for entry in last_of_kind.values():
        for changed in _changes(entry):
            expected = _valid(BundleEntry.model_validate, changed)
            assert _valid(checker.validate, changed) == expected, json.dumps(changed)[:300]
            refused += not expected
            passed += expected
    assert refused > 1000 and passed > 100  # both verdicts well exercised


def test_a_bad_value_in_a_later_resource_of_a_known_shape_is_refused(exported):
    bundle = copy.deepcopy(exported)
    encounters = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]
    assert len(encounters) >= 2
    encounters[-1]["resource"]["period"]["start"] = "2024-02-30"
    with pytest.raises(pydantic.ValidationError):
        Bundle.model_validate(bundle)
    with pytest.raises(pydantic.ValidationError) as raised:
        validate_bundle(bundle)
    assert "2024-02-30" in str(raised.value)  # the model's own error names the value


def test_a_missing_required_element_in_a_later_entry_is_refused(exported):
    bundle = copy.deepcopy(exported)
    observations = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    del observations[-1]["resource"]["status"]
    with pytest.raises(pydantic.ValidationError):
        Bundle.model_validate(bundle)
    with pytest.raises(pydantic.ValidationError):
        validate_bundle(bundle)


def test_an_empty_bundle_is_checked_whole():
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    assert validate_bundle(bundle) == 0
    with pytest.raises(pydantic.ValidationError):
        validate_bundle({"resourceType": "Bundle", "type": "transaction", "timestamp": "never"})
