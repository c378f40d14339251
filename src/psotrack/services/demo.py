"""A synthetic demonstration cohort, recorded through the services like real data.

Every patient is marked synthetic, named "Synthetic", with an MRN starting ``DEMO-``; the data
describe no real person and no real product. Courses are drawn from a simple seeded model
(an exponential approach to a patient-specific plateau), not from any study's results, so the
demo shows what psotrack measures and says nothing about whether a therapy works.

Every demo user (one per role; the patient account is linked to the first synthetic patient) has
the password :func:`demo_password` gives: its username followed by ``-synthetic-demo``. That is
not a secret and is meant not to be: it is printed by ``psotrack demo`` (hence ``make run``), and
only for a database that :func:`demo_logins` recognises as the demo's (every patient synthetic).
Never use a demo database for real patients.

The whole cohort is one transaction (:meth:`Database.unit_of_work`): a demo that is interrupted,
even by SIGKILL, leaves the database as it was, and the next run starts again from nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any

import numpy as np
from sqlalchemy import func, select

from psotrack.errors import Conflict
from psotrack.instruments.pasi import REGIONS
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import create_program, create_user, enroll_patient, record_visit
from psotrack.services.photos import attach_photo
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.store.models import Patient, User
from psotrack.store.vocabulary import Role

#: Visit plan: label, week, type; infusions at weeks 0, 4 and 8 (after that day's assessments).
VISITS = (
    ("Screening", -2, "screening"),
    ("Week 0", 0, "baseline"),
    ("Week 4", 4, "treatment"),
    ("Week 8", 8, "treatment"),
    ("Week 12", 12, "follow-up"),
    ("Week 16", 16, "follow-up"),
    ("Week 24", 24, "follow-up"),
)
INFUSION_WEEKS = (0, 4, 8)
LAB_WEEKS = (0, 12, 24)
DLQI_ANSWERS = ("not at all", "a little", "a lot", "very much")
START = date(2026, 1, 5)


#: The staff roles of the demo's users (the patient account is made with the first patient).
STAFF_ROLES = (Role.ADMIN, Role.CLINICIAN, Role.COORDINATOR, Role.RESEARCHER)
#: What follows the username in every demo password: clearly not a secret.
DEMO_PASSWORD_SUFFIX = "-synthetic-demo"


def demo_username(role: Role) -> str:
    return f"demo-{role.value}"


def demo_password(username: str) -> str:
    """The demo user's password: not a secret (see the module text).

    >>> demo_password("demo-admin")
    'demo-admin-synthetic-demo'
    """
    return f"{username}{DEMO_PASSWORD_SUFFIX}"


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    password: str


def demo_logins(db: Database) -> list[DemoLogin]:
    """One sign-in per role, for a demo database only; empty for any other database.

    A demo database holds patients, every one of them synthetic, and the demo's users. A
    password changed since the demo was built is not known here: the printed one then fails.
    """
    with db.transaction() as session:
        patients, synthetic = session.execute(
            select(func.count(), func.count().filter(Patient.synthetic)).where(
                Patient.deleted_at.is_(None)
            )
        ).one()
        if not patients or patients != synthetic:
            return []
        names = [demo_username(role) for role in Role]
        found = dict(
            session.execute(
                select(User.username, User.role).where(
                    User.username.in_(names), User.active, User.deleted_at.is_(None)
                )
            ).all()
        )
    return [
        DemoLogin(Role(found[name]), name, demo_password(name)) for name in names if name in found
    ]


@dataclass(frozen=True)
class DemoSummary:
    patients: int
    visits: int
    assessments: int
    administrations: int
    adverse_events: int
    labs: int
    photos: int


def build_demo(
    db: Database,
    *,
    patients: int = 40,
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Fill an empty, migrated database with a synthetic cohort (users, programs, patients…).

    All of it is stored in one transaction or none of it; a database that already holds
    patients is refused (:class:`Conflict`) and left as it is.
    """
    with db.unit_of_work() as unit:
        held = count_patients(unit)
        if held:
            raise Conflict(
                f"the database already holds {held} patients; the demo fills an empty one"
            )
        return _build(unit, patients, seed, progress)


def count_patients(db: Database) -> int:
    """How many patients the database holds (deleted ones included)."""
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Patient)) or 0)


def _build(
    db: Database, patients: int, seed: int, progress: Callable[[int], None] | None
) -> DemoSummary:
    rng = np.random.default_rng(seed)
    users = {
        role: create_user(
            db,
            SYSTEM,
            {
                "username": demo_username(role),
                "display_name": f"Demo {role.value}",
                "role": role.value,
            },
            demo_password(demo_username(role)),
        )
        for role in STAFF_ROLES
    }
    clinician = Actor(users[Role.CLINICIAN], Role.CLINICIAN, "Demo clinician")
    program = create_program(
        db,
        SYSTEM,
        {
            "name": "UC-MSC IV, 3 infusions 4 weeks apart (demo)",
            "regimen": "UC-MSC 1.5e6 cells/kg IV at weeks 0, 4 and 8, with usual topical care",
            "product_source": "UC-MSC",
            "route": "IV",
            "dose_min_per_kg": 1.0e6,
            "dose_max_per_kg": 3.0e6,
            "viability_threshold_pct": 80.0,
        },
    )
    counts = dict.fromkeys(("visits", "assessments", "administrations", "aes", "labs", "photos"), 0)
    photo = synthetic_photo()
    for number in range(1, patients + 1):
        patient = _one_patient(
            db, clinician, program, number, rng, counts, photo, users[Role.CLINICIAN]
        )
        if number == 1:
            username = demo_username(Role.PATIENT)
            account = {
                "username": username,
                "display_name": "Demo patient (Synthetic Patient 001)",
                "role": Role.PATIENT.value,
                "patient_id": patient,
            }
            create_user(db, SYSTEM, account, demo_password(username))
        if progress is not None:
            progress(number)
    return DemoSummary(
        patients=patients,
        visits=counts["visits"],
        assessments=counts["assessments"],
        administrations=counts["administrations"],
        adverse_events=counts["aes"],
        labs=counts["labs"],
        photos=counts["photos"],
    )


def _one_patient(
    db: Database,
    clinician: Actor,
    program: int,
    number: int,
    rng: np.random.Generator,
    counts: dict[str, int],
    photo: bytes,
    clinician_id: int,
) -> int:
    patient = enroll_patient(
        db,
        clinician,
        {
            "mrn": f"DEMO-{number:04d}",
            "family_name": "Synthetic",
            "given_name": f"Patient {number:03d}",
            "birth_date": date(int(rng.integers(1950, 2001)), int(rng.integers(1, 13)), 15),
            "sex": str(rng.choice(["female", "male"])),
            "fitzpatrick": int(rng.integers(1, 7)),
            "onset_year": 2005 + int(rng.integers(0, 15)),
            "program_id": program,
            "start_date": START,
            "status": "active",
            "clinician_id": clinician_id,
            "arm": "UC-MSC IV",
            "synthetic": True,
        },
    )
    record_concomitant_therapy(
        db,
        clinician,
        {
            "patient_id": patient,
            "therapy_class": "topical steroid",
            "agent": "mometasone 0.1 %",
            "start_date": START - timedelta(days=90),
            "dose": "once daily to plaques",
        },
    )
    weight = round(float(rng.normal(78, 12)), 1)
    base_signs = {r: rng.integers(2, 5, size=3) for r in REGIONS}
    base_area = {r: float(rng.uniform(8, 45)) for r in REGIONS}
    plateau = float(rng.beta(2, 2.5))  # share of disease left at the end (patient-specific)
    tau = float(rng.uniform(3, 9))  # weeks
    for label, week, kind in VISITS:
        day = START + timedelta(weeks=week)
        visit = record_visit(
            db,
            clinician,
            {"patient_id": patient, "visit_date": day, "visit_type": kind, "label": label},
        )
        counts["visits"] += 1
        left = 1.0 if week <= 0 else plateau + (1 - plateau) * np.exp(-week / tau)
        left *= float(rng.normal(1, 0.05))
        _assessments(db, clinician, visit, base_signs, base_area, left, rng, counts)
        moment = datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)
        if week in LAB_WEEKS:
            for analyte, unit, base, change in (
                ("treg_pct_cd4", "%", 4.0, +1.5),
                ("th17_pct_cd4", "%", 2.0, -0.8),
                ("il17a", "pg/mL", 12.0, -5.0),
            ):
                value = base + change * (1 - left) + float(rng.normal(0, base * 0.1))
                record_lab_result(
                    db,
                    clinician,
                    {
                        "patient_id": patient,
                        "visit_id": visit,
                        "analyte": analyte,
                        "value": round(max(value, 0.1), 2),
                        "unit": unit,
                        "sampled_at": moment,
                    },
                )
                counts["labs"] += 1
        if week in INFUSION_WEEKS:
            _infusion(db, clinician, patient, visit, moment, weight, rng, counts)
        if week in (0, 12) and number <= 5:
            attach_photo(
                db,
                clinician,
                patient_id=patient,
                image_bytes=photo,
                body_site="trunk",
                view="front",
                visit_id=visit,
                captured_at=moment,
            )
            counts["photos"] += 1
    return patient


def _assessments(
    db: Database,
    clinician: Actor,
    visit: int,
    base_signs: dict[str, Any],
    base_area: dict[str, float],
    left: float,
    rng: np.random.Generator,
    counts: dict[str, int],
) -> None:
    regions = {
        r: {
            "erythema": int(np.clip(round(base_signs[r][0] * left), 0, 4)),
            "induration": int(np.clip(round(base_signs[r][1] * left), 0, 4)),
            "desquamation": int(np.clip(round(base_signs[r][2] * left), 0, 4)),
            "area_pct": round(float(np.clip(base_area[r] * left, 0, 100)), 1),
        }
        for r in REGIONS
    }
    mean_sign = float(
        np.mean([v for r in regions.values() for k, v in r.items() if k != "area_pct"])
    )
    # Each region is 10/20/30/40 % of the body surface, so BSA % = Σ share × affected share.
    shares = (0.1, 0.2, 0.3, 0.4)
    bsa = round(sum(w * regions[r]["area_pct"] for r, w in zip(REGIONS, shares, strict=True)), 1)
    dlqi_level = int(np.clip(round(3 * left + rng.normal(0, 0.4)), 0, 3))
    answers = {
        f"q{i}": DLQI_ANSWERS[int(np.clip(dlqi_level + rng.integers(-1, 2), 0, 3))]
        for i in range(1, 11)
    }
    answers["q7"] = "no, a little" if dlqi_level else "no, not at all"
    for instrument, responses in (
        ("pasi", regions),
        ("bsa", {"percent": bsa}),
        ("pga", {"grade": int(np.clip(round(mean_sign), 0, 4)), "scale": 5}),
        ("dlqi", answers),
        ("itch_nrs", {"score": int(np.clip(round(8 * left + rng.normal(0, 1)), 0, 10))}),
    ):
        record_assessment(
            db, clinician, {"visit_id": visit, "instrument": instrument, "responses": responses}
        )
        counts["assessments"] += 1


def _infusion(
    db: Database,
    clinician: Actor,
    patient: int,
    visit: int,
    moment: datetime,
    weight: float,
    rng: np.random.Generator,
    counts: dict[str, int],
) -> None:
    per_kg = 1.5e6
    viability = round(float(rng.uniform(76, 97)), 1)  # now and then below the 80 % threshold
    administration = log_administration(
        db,
        clinician,
        {
            "patient_id": patient,
            "visit_id": visit,
            "product_source": "UC-MSC",
            "manufacturer": "Synthetic Cell Lab (demo)",
            "lot": f"DEMO-{int(rng.integers(1000, 9999))}",
            "passage": 4,
            "cryopreserved": True,
            "total_cells": round(per_kg * weight),
            "body_weight_kg": weight,
            "cells_per_kg": per_kg,
            "viability_pct": viability,
            "route": "IV",
            "volume_ml": 100.0,
            "rate_ml_per_h": 200.0,
            "started_at": moment,
            "stopped_at": moment + timedelta(minutes=30),
            "vitals_before": {
                "heart_rate": 72,
                "systolic": 124,
                "diastolic": 78,
                "temperature_c": 36.7,
            },
            "vitals_after": {
                "heart_rate": 80,
                "systolic": 128,
                "diastolic": 80,
                "temperature_c": 37.4,
            },
        },
    )
    counts["administrations"] += 1
    if rng.random() < 0.2:
        report_adverse_event(
            db,
            clinician,
            {
                "patient_id": patient,
                "term": "infusion related reaction",
                "verbatim_term": "Infusion related reaction (fever)",
                "onset_date": moment.date(),
                "resolution_date": moment.date() + timedelta(days=1),
                "grade": 1,
                "serious": False,
                "relatedness": "probable",
                "outcome": "recovered",
                "infusion_reaction": True,
                "administration_id": administration,
            },
            recorded_on=moment.date(),
        )
        counts["aes"] += 1


def synthetic_photo() -> bytes:
    """A plain generated image labelled SYNTHETIC (no real skin, no metadata)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (222, 184, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 70, 230, 170), fill=(196, 96, 90), outline=(240, 235, 230), width=4)
    draw.text((12, 12), "SYNTHETIC DEMO IMAGE", fill=(20, 20, 20))
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
