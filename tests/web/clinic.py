"""A small clinic for the entry-page tests: one program, one enrolled patient, one visit.

Built through the services (as the clinic's own set-up would be), so the tests read back
through the services what the pages stored.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import create_program, enroll_patient, record_visit


@dataclass(frozen=True)
class Clinic:
    program_id: int
    patient_id: int
    visit_id: int


def make_clinic(db: Database, clinician: Actor) -> Clinic:
    program_id = create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV",
            "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4, 8",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
            "viability_threshold_pct": 80.0,
        },
    )
    patient_id = enroll_patient(
        db,
        clinician,
        {
            "mrn": "MRN-0001",
            "family_name": "Doe",
            "given_name": "Jane",
            "birth_date": "1980-05-17",
            "sex": "female",
            "program_id": program_id,
            "start_date": "2026-01-05",
            "status": "active",
        },
    )
    visit = {"patient_id": patient_id, "visit_date": "2026-01-05", "visit_type": "baseline"}
    visit_id = record_visit(db, clinician, {**visit, "label": "Baseline"})
    return Clinic(program_id, patient_id, visit_id)


def field_error(page: str, name: str) -> str:
    """The problem text shown beside the form field ``name`` ('' when none)."""
    found = re.search(rf'id="err-{re.escape(name)}" data-error-for="[^"]*">([^<]*)<', page)
    assert found, f"the page has no problem slot for {name}"
    return html.unescape(found.group(1))


def typed_value(page: str, name: str) -> str:
    """The value a text field ``name`` shows."""
    found = re.search(rf'<input type="text" name="{re.escape(name)}"[^>]* value="([^"]*)"', page)
    assert found, f"the page has no text field {name}"
    return html.unescape(found.group(1))
