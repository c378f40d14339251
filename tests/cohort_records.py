"""A tiny cohort for the cohort report, recorded through the services, with every answer by hand.

Program "Tiny cohort"; every enrollment starts 2026-01-05 (W0) and every patient is born in
1970 (age 2026 − 1970 = 56). PASI with the lower limbs only (4 × area, tests.web.records):

======  ==========  ========================================  ================================
id      status      W0 (day 0)                                W12 (day 84)
======  ==========  ========================================  ================================
alpha   active      PASI 20.0, PGA 3, DLQI 20, BSA 30; dose   PASI 4.0 (−80 %), PGA 1, DLQI 1
beta    active      PASI 20.0, PGA 3, DLQI 20, BSA 10; dose   PASI 16.0 (−20 %), PGA 3, DLQI 10
gamma   withdrawn   PASI 16.0 (no dose; reason recorded)      missed
delta   screening   nothing                                   —
======  ==========  ========================================  ================================

alpha's dose (1st) has a grade 2 infusion reaction linked to it; beta has a serious grade 3
infection on day 10 (hospitalisation). alpha had methotrexate and a biologic before day 0,
beta a topical steroid only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.patients import (
    create_program,
    enroll_patient,
    record_visit,
    withdraw_patient,
)
from psotrack.services.therapies import record_concomitant_therapy
from tests.web.records import pasi_with_lower_limb_area

W0 = date(2026, 1, 5)
W12 = date(2026, 3, 30)


def dlqi(total: int) -> dict[str, str]:
    """DLQI answers adding up to ``total`` (0–20 here): "a lot" (2) for the first total // 2
    questions, "a little" (1) for one more if odd, "not at all" (0) for the rest; question 7
    answered "no, …" with the same points."""
    answers = {}
    for i in range(1, 11):
        points = 2 if i <= total // 2 else 1 if i == total // 2 + 1 and total % 2 else 0
        word = {2: "a lot", 1: "a little", 0: "not at all"}[points]
        answers[f"q{i}"] = f"no, {word}" if i == 7 else word
    return answers


def _visit(db: Database, actor: Actor, patient: int, when: date, label: str, scores: dict) -> int:
    kind = "baseline" if when == W0 else "follow-up"
    visit = record_visit(
        db, actor, {"patient_id": patient, "visit_date": when, "visit_type": kind, "label": label}
    )
    for instrument, responses in scores.items():
        record_assessment(
            db, actor, {"visit_id": visit, "instrument": instrument, "responses": responses}
        )
    return visit


def _dose(db: Database, actor: Actor, patient: int, visit: int) -> int:
    moment = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    payload: dict[str, Any] = {
        "patient_id": patient,
        "visit_id": visit,
        "product_source": "UC-MSC",
        "manufacturer": "Tiny lab",
        "lot": "LOT-1",
        "cryopreserved": True,
        "total_cells": 120_000_000,
        "body_weight_kg": 80.0,
        "cells_per_kg": 1.5e6,
        "viability_pct": 92.0,
        "route": "IV",
        "started_at": moment,
    }
    return log_administration(db, actor, payload)


def build_tiny_cohort(db: Database, clinician: Actor) -> dict[str, int]:
    """Record the cohort of the module text; patient ids by name (and ``program``)."""
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "Tiny cohort",
            "regimen": "UC-MSC IV once",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
        },
    )
    ids = {"program": program}
    for name, status in (("alpha", "active"), ("beta", "active"), ("gamma", "active"),
                         ("delta", "screening")):  # fmt: skip
        ids[name] = enroll_patient(
            db,
            clinician,
            {
                "mrn": f"MRN-TINY-{name}",
                "family_name": name.title(),
                "given_name": "Tiny",
                "birth_date": date(1970, 6, 1),
                "sex": "female" if name == "alpha" else "male",
                "fitzpatrick": 2,
                "onset_year": 2016,
                "program_id": program,
                "start_date": W0,
                "status": status,
            },
        )
    for name, bsa, w12 in (("alpha", 30.0, (1, 1, 1)), ("beta", 10.0, (4, 3, 10))):
        base = {
            "pasi": pasi_with_lower_limb_area(5),
            "pga": {"grade": 3, "scale": 5},
            "dlqi": dlqi(20),
            "bsa": {"percent": bsa},
        }
        w0 = _visit(db, clinician, ids[name], W0, "W0", base)
        area, pga, dlqi_total = w12
        follow = {
            "pasi": pasi_with_lower_limb_area(area),
            "pga": {"grade": pga, "scale": 5},
            "dlqi": dlqi(dlqi_total),
        }
        _visit(db, clinician, ids[name], W12, "W12", follow)
        ids[f"{name}_dose"] = _dose(db, clinician, ids[name], w0)
    _visit(db, clinician, ids["gamma"], W0, "W0", {"pasi": pasi_with_lower_limb_area(4)})
    withdraw_patient(db, clinician, ids["gamma"], "moved to another city")
    event = {
        "onset_date": W0,
        "grade": 2,
        "serious": False,
        "expected": True,
        "relatedness": "probable",
        "outcome": "recovered",
    }
    report_adverse_event(
        db,
        clinician,
        event
        | {
            "patient_id": ids["alpha"],
            "term": "infusion related reaction",
            "infusion_reaction": True,
            "administration_id": ids["alpha_dose"],
        },
    )
    report_adverse_event(
        db,
        clinician,
        event
        | {
            "patient_id": ids["beta"],
            "term": "infection",
            "onset_date": date(2026, 1, 15),
            "grade": 3,
            "serious": True,
            "serious_criteria": ["hospitalisation"],
            "relatedness": "unlikely",
        },
    )
    for name, therapy_class in (("alpha", "methotrexate"), ("alpha", "biologic"),
                                ("beta", "topical steroid")):  # fmt: skip
        record_concomitant_therapy(
            db,
            clinician,
            {
                "patient_id": ids[name],
                "therapy_class": therapy_class,
                "start_date": date(2025, 6, 1),
                "stop_date": date(2025, 12, 1),
                **({"biologic_target": "IL-17A"} if therapy_class == "biologic" else {}),
            },
        )
    return ids
