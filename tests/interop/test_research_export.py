"""The de-identified research export (issue 17): a scanner finds no identifier in any byte of it.

The source database is the synthetic demo plus three hand-made patients whose names, MRNs,
birth dates, visit dates, staff user names and free text (history, visit labels, a TPSS site,
AE verbatim terms and actions, lot numbers, premedication, withdrawal reason) are distinctive;
every free-text column left empty anywhere is then filled with a planted name and phone number
(found by walking the models, so a new column is covered without touching this test). Each
export is searched byte by byte — parquet raw and decoded by polars, CSV, manifest, summary,
photos — for every identifier the database holds, and every date stored anywhere in it in
several spellings.

With ``--date-shift`` the data legitimately hold (shifted) ISO dates, which may fall on some
stored date by chance; there the rule is per row: every ISO date in a row of patient P must be
one of P's own dates moved by P's shift, and nothing else (with study days: no ISO date at all).

Known answers, worked by hand below: Philippa (born 1936-03-18) and Bartholomew (born
1936-03-17) both have day 0 on 2026-03-17 (their first infusions): ages 89 and 90 → "89", "90+".
Wilhelmina has no infusion: day 0 is her enrollment start 2026-02-09, so her visit of 2026-02-23
is day 14 and her age on 2026-02-09 (born 1971-11-23) is 54.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import JSON, Date, DateTime, select, text, update

from psotrack import __version__
from psotrack.cli import main
from psotrack.instruments.pasi import REGIONS
from psotrack.interop.research_files import write_research_export
from psotrack.services.administrations import log_administration
from psotrack.services.adverse_events import report_adverse_event
from psotrack.services.assessments import record_assessment
from psotrack.services.context import SYSTEM, Actor, Database
from psotrack.services.demo import build_demo, synthetic_photo
from psotrack.services.labs import record_lab_result
from psotrack.services.patients import (
    create_program,
    create_user,
    enroll_patient,
    record_visit,
    withdraw_patient,
)
from psotrack.services.photos import attach_photo
from psotrack.services.research_export import date_shift_days, research_dataset
from psotrack.services.research_tables import EXPORTED, NOT_EXPORTED
from psotrack.services.research_views import CODED_ANSWERS
from psotrack.services.study_days import day_zero_dates, study_day, utc_date
from psotrack.services.therapies import record_concomitant_therapy
from psotrack.store import make_engine, upgrade, vocabulary
from psotrack.store.models import AuditEntry, Base, Patient, PatientIdentity, User, Visit
from psotrack.store.models.base import free_text_columns
from psotrack.store.vocabulary import Role
from tests.conftest import POSTGRES_URL_VARIABLE

SEED = 4242
#: Written into every free-text column that the demo and the hand-made patients left empty.
PLANTED = "Ximena Vanterpool 020 7946 0958"
RESEARCH_ID = re.compile(r"PT-[0-9A-F]{8}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Source:
    db: Database
    url: str
    photo_dir: Path
    researcher: Actor
    clinician: Actor
    patients: dict[str, int]


def _user(
    db: Database, username: str, display: str, role: Role, patient_id: int | None = None
) -> Actor:
    form: dict[str, Any] = {"username": username, "display_name": display, "role": role.value}
    if patient_id is not None:
        form["patient_id"] = patient_id  # a patient account names its own patient
    return Actor(create_user(db, SYSTEM, form), role, username)


def _pasi(level: int) -> dict[str, Any]:
    sign = {"erythema": level, "induration": level, "desquamation": level, "area_pct": 30.0}
    return {"responses": {region: dict(sign) for region in REGIONS}, "instrument": "pasi"}


def _infusion(patient: int, visit: int, start: datetime, lot: str, operator: int) -> dict:
    """1.5 × 10⁶ cells/kg for 70 kg, viability 90 %: inside the program's limits."""
    return {
        "patient_id": patient,
        "visit_id": visit,
        "product_source": "UC-MSC",
        "manufacturer": "Harrowgate Cell Works",
        "lot": lot,
        "cryopreserved": True,
        "total_cells": 105_000_000,
        "body_weight_kg": 70.0,
        "cells_per_kg": 1.5e6,
        "viability_pct": 90.0,
        "route": "IV",
        "started_at": start,
        "stopped_at": start + timedelta(minutes=35),
        "premedication": "cetirizine, given by Zelda",
        "operator_id": operator,
    }


def _hand_made(db: Database, clinician: Actor, program: int) -> dict[str, int]:
    """Three patients with distinctive identifiers, dates and free text."""

    def enroll(mrn: str, family: str, given: str, born: date, start: date, **more: Any) -> int:
        form = {
            "mrn": mrn,
            "family_name": family,
            "given_name": given,
            "birth_date": born,
            "sex": more.pop("sex", "female"),
            "fitzpatrick": 2,
            "program_id": program,
            "start_date": start,
            "status": "active",
            "clinician_id": clinician.user_id,
            "arm": "UC-MSC IV",
        }
        return enroll_patient(db, clinician, form | more)

    def visit(patient: int, day: date, kind: str, label: str) -> int:
        form = {"patient_id": patient, "visit_date": day, "visit_type": kind, "label": label}
        return record_visit(db, clinician, form)

    def assess(visit_id: int, level: int) -> None:
        payload = _pasi(level) | {"visit_id": visit_id, "assessor_id": clinician.user_id}
        record_assessment(db, clinician, payload)

    philippa = enroll(
        "HGT-88412-A",
        "Featherstonehaugh",
        "Philippa",
        date(1936, 3, 18),
        date(2026, 3, 10),
        onset_year=1999,
        history="Philippa's sister Imogen Featherstonehaugh also has psoriasis",
    )
    screening = visit(philippa, date(2026, 3, 10), "screening", "Screening at Harrowgate, Philippa")
    baseline = visit(philippa, date(2026, 3, 17), "baseline", "Baseline of P. Featherstonehaugh")
    week4 = visit(philippa, date(2026, 4, 14), "treatment", "Week 4 with Philippa's daughter")
    assess(screening, 3)
    assess(baseline, 3)
    assess(week4, 1)
    tpss = {"site": "Philippa's left elbow", "erythema": 2, "induration": 1, "scaling": 1}
    record_assessment(db, clinician, {"visit_id": week4, "instrument": "tpss", "responses": tpss})
    start = datetime(2026, 3, 17, 10, 15, tzinfo=UTC)
    given = log_administration(
        db, clinician, _infusion(philippa, baseline, start, "LOT-HGT-PF-0317", clinician.user_id)
    )
    report_adverse_event(
        db,
        clinician,
        {
            "patient_id": philippa,
            "term": "fever",
            "verbatim_term": "Philippa's fever after the drip at Harrowgate",
            "onset_date": date(2026, 3, 18),
            "resolution_date": date(2026, 3, 20),
            "grade": 1,
            "serious": False,
            "relatedness": "possible",
            "action_taken": "Rang Dr Zelda Quartermaine on 0161 496 0732",
            "outcome": "recovered",
            "administration_id": given,
        },
        recorded_on=date(2026, 3, 18),
    )
    record_concomitant_therapy(
        db,
        clinician,
        {
            "patient_id": philippa,
            "therapy_class": "methotrexate",
            "agent": "methotrexate from Pembury Road pharmacy",
            "start_date": date(2025, 11, 3),
            "stop_date": date(2026, 2, 27),
            "dose": "15 mg weekly per Dr Quartermaine",
        },
    )
    record_lab_result(
        db,
        clinician,
        {
            "patient_id": philippa,
            "visit_id": week4,
            "analyte": "il17a",
            "value": 9.5,
            "unit": "pg/mL",
            "sampled_at": datetime(2026, 4, 14, 8, 5, tzinfo=UTC),
        },
    )
    attach_photo(
        db,
        clinician,
        patient_id=philippa,
        image_bytes=synthetic_photo(),
        body_site="Philippa's scalp",
        view="from Featherstonehaugh's left",
        visit_id=baseline,
        captured_at=datetime(2026, 3, 17, 10, 0, tzinfo=UTC),
    )
    bartholomew = enroll(
        "HGT-88413-B",
        "Okafor-Lindqvist",
        "Bartholomew",
        date(1936, 3, 17),
        date(2026, 3, 3),
        sex="male",
    )
    visit(bartholomew, date(2026, 3, 3), "screening", "Bartholomew screened by Zelda")
    b_base = visit(bartholomew, date(2026, 3, 17), "baseline", "Bartholomew's first infusion")
    assess(b_base, 2)
    b_start = datetime(2026, 3, 17, 13, 40, tzinfo=UTC)
    log_administration(
        db, clinician, _infusion(bartholomew, b_base, b_start, "LOT-HGT-BO-0317", clinician.user_id)
    )
    wilhelmina = enroll(
        "HGT-88414-C",
        "Thistlewood",
        "Wilhelmina",
        date(1971, 11, 23),
        date(2026, 2, 9),
    )
    w_visit = visit(wilhelmina, date(2026, 2, 23), "unscheduled", "Wilhelmina's check at home")
    assess(w_visit, 2)
    withdraw_patient(db, clinician, wilhelmina, "Wilhelmina moved to Aberystwyth")
    return {"philippa": philippa, "bartholomew": bartholomew, "wilhelmina": wilhelmina}


def _plant_free_text(db: Database) -> None:
    """Every free-text column left empty gets the planted name (the audit log refuses updates)."""
    with db.engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == AuditEntry.__tablename__:
                continue
            model = next(m.class_ for m in Base.registry.mappers if m.local_table is table)
            for name in free_text_columns(model):
                column = table.c[name]
                value: Any = {"site": PLANTED} if isinstance(column.type, JSON) else PLANTED
                connection.execute(update(table).where(column.is_(None)).values({name: value}))


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of an empty database of this kind (a PostgreSQL schema of its own, dropped after;
    its search path is in the URL, so the command line reaches it too)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'source.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VARIABLE)
    if not base:
        pytest.skip(f"PostgreSQL tests skipped: set {POSTGRES_URL_VARIABLE} to run them")
    schema = f"research_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def source(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Source]:
    folder = tmp_path_factory.mktemp("research_source")
    with _database(request.param, folder) as url:
        engine = make_engine(url)
        upgrade(engine)
        db = Database.from_engine(engine, photo_dir=folder / "photos")
        build_demo(db, patients=3, seed=5)
        clinician = _user(db, "zquartermaine", "Zelda Quartermaine", Role.CLINICIAN)
        researcher = _user(db, "okonkwo.research", "Ravi Okonkwo", Role.RESEARCHER)
        program = create_program(
            db,
            SYSTEM,
            {
                "name": "Harrowgate programme of Dr Quartermaine",
                "regimen": "UC-MSC 1.5e6 cells/kg IV, by Zelda",
                "product_source": "UC-MSC",
                "route": "IV",
                "dose_min_per_kg": 1.0e6,
                "dose_max_per_kg": 3.0e6,
            },
        )
        patients = _hand_made(db, clinician, program)
        own = next(iter(patients.values()))
        _user(db, "featherstonehaugh.p", "Philippa at home", Role.PATIENT, own)
        _plant_free_text(db)
        yield Source(db, url, folder / "photos", researcher, clinician, patients)
        engine.dispose()


def _export(
    source: Source,
    folder: Path,
    file_format: str = "parquet",
    dates: str = "study-days",
    *,
    seed: int = SEED,
    actor: Actor | None = None,
    photos: bool = False,
) -> Path:
    dataset = research_dataset(
        source.db,
        actor or source.researcher,
        dates=dates,
        include_photos=photos,
        seed=seed,
    )
    write_research_export(dataset, folder, file_format)
    return folder


# --- The scanner ---------------------------------------------------------------------------


def date_spellings(day: date) -> set[str]:
    """ISO, day/month/year, month/day/year, compact, "5 Jan 2026", dotted and written out."""
    return {
        day.isoformat(),
        f"{day:%d/%m/%Y}",
        f"{day:%m/%d/%Y}",
        f"{day:%Y%m%d}",
        f"{day.day} {day:%b %Y}",
        f"{day:%d.%m.%Y}",
        f"{day:%B} {day.day}, {day.year}",
    }


#: Words psotrack itself codes: a free text equal to one of them tells no more than the code
#: ("Screening" as a demo visit label is also the visit type "screening").
CODED_WORDS = {
    member.value.casefold()
    for kind in vars(vocabulary).values()
    if isinstance(kind, type) and issubclass(kind, vocabulary.StrEnum)
    for member in kind
} | {answer.casefold() for answer in CODED_ANSWERS}
#: The demo's family name is also the label psotrack puts on synthetic data ("SYNTHETIC",
#: column "synthetic"): matched only as stored, with its capital.
EXACT_ONLY = {"Synthetic"}


@dataclass
class Identifiers:
    """Everything identifying in the source database, and each patient's stored dates."""

    texts: set[str]
    dates: set[date]
    birth_dates: set[date]
    patient_dates: dict[str, set[date]]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def source_identifiers(db: Database) -> Identifiers:
    """Names, MRNs, user names, free text, and every date stored in any column of any table."""
    texts: set[str] = set()
    dates: set[date] = set()
    patient_dates: dict[str, set[date]] = {}
    with db.engine.connect() as connection:
        research_ids = dict(connection.execute(select(Patient.id, Patient.research_id)).all())
        for identity in connection.execute(select(PatientIdentity.__table__)).mappings():
            given, family = identity["given_name"], identity["family_name"]
            texts |= {identity["mrn"], given, family, f"{given} {family}", f"{family}, {given}"}
        for username, display in connection.execute(select(User.username, User.display_name)):
            if username != vocabulary.SYSTEM_USERNAME:  # psotrack's own account, no person
                texts |= {username, display}
        births = {
            born for (born,) in connection.execute(select(PatientIdentity.birth_date)) if born
        }
        for table in Base.metadata.sorted_tables:
            model = next(m.class_ for m in Base.registry.mappers if m.local_table is table)
            free = set(free_text_columns(model)) if table.name != "audit_log" else set()
            moments = [c.key for c in table.columns if isinstance(c.type, Date | DateTime)]
            owner = "id" if table.name == "patients" else "patient_id"
            for row in connection.execute(select(table)).mappings():
                for name in free:
                    for found in _strings(row[name]):
                        if len(found) >= 6 and found.casefold() not in CODED_WORDS:
                            texts.add(found)
                for name in moments:
                    if row[name] is None:
                        continue
                    day = utc_date(row[name]) if isinstance(row[name], datetime) else row[name]
                    dates.add(day)
                    if owner in row and row[owner] in research_ids:
                        patient_dates.setdefault(research_ids[row[owner]], set()).add(day)
    return Identifiers(texts, dates | births, births, patient_dates)


def _found(haystack: str, needles: set[str]) -> list[str]:
    folded = haystack.casefold()
    return sorted(
        n for n in needles if (n in haystack if n in EXACT_ONLY else n.casefold() in folded)
    )


def scan_export(folder: Path, ids: Identifiers, shifts: dict[str, int] | None) -> list[str]:
    """Every identifier found in the export, as "file: what" lines (empty when clean).

    ``shifts`` (date shift only) maps research id → days; ISO dates in a patient's rows must
    then be that patient's dates moved by it. With study days no row holds an ISO date.
    """
    all_dates = {spelling for day in ids.dates for spelling in date_spellings(day)}
    iso_kept = {day.isoformat() for day in ids.dates - ids.birth_dates} if shifts else set()
    allowed = {
        code: {(day + timedelta(days=shift)).isoformat() for day in ids.patient_dates.get(code, ())}
        for code, shift in (shifts or {}).items()
    }
    everything = ids.texts | all_dates
    problems = []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert files, f"nothing exported to {folder}"
    for path in files:
        name = path.relative_to(folder).as_posix()
        raw = path.read_bytes().decode("latin-1")  # one character per byte: every byte searched
        rows: list[str] = []
        if path.suffix == ".parquet":
            problems += [f"{name} (raw): {hit}" for hit in _found(raw, everything)]
            rows = pl.read_parquet(path).write_csv().splitlines()
        elif path.suffix == ".csv":
            problems += [f"{name}: {hit}" for hit in _found(raw, everything - iso_kept)]
            rows = path.read_text(encoding="utf-8").splitlines()
        else:  # manifest, photos: no date of any kind belongs there
            problems += [f"{name}: {hit}" for hit in _found(raw, everything)]
            problems += [f"{name}: date {hit}" for hit in ISO_DATE.findall(raw)]
        for line in rows:
            problems += [f"{name} (decoded): {hit}" for hit in _found(line, everything - iso_kept)]
            owner = RESEARCH_ID.search(line)
            mine = allowed.get(owner.group(), set()) if owner else set()
            problems += [
                f"{name}: unshifted date {day} in {line[:60]}"
                for day in ISO_DATE.findall(line)
                if day not in mine
            ]
    return problems


@pytest.fixture(scope="module")
def identifiers(source: Source) -> Identifiers:
    found = source_identifiers(source.db)
    # The scanner is only as good as its list: the hand-made identifiers must be on it.
    for expected in (
        "HGT-88412-A",
        "Featherstonehaugh",
        "Philippa Featherstonehaugh",
        "zquartermaine",
        "Zelda Quartermaine",
        "LOT-HGT-PF-0317",
        "Rang Dr Zelda Quartermaine on 0161 496 0732",
        "Philippa's left elbow",
        "Wilhelmina moved to Aberystwyth",
        PLANTED,
        "DEMO-0001",
        "Synthetic",
    ):
        assert expected in found.texts, expected
    assert {date(1936, 3, 18), date(2026, 3, 17), date(2026, 1, 5)} <= found.dates
    return found


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
@pytest.mark.parametrize("dates", ["study-days", "date-shift"])
def test_scanner_finds_no_identifier_in_any_byte(source, identifiers, tmp_path, file_format, dates):
    folder = _export(source, tmp_path / "export", file_format, dates)
    shifts = None
    if dates == "date-shift":
        with source.db.engine.connect() as connection:
            codes = connection.execute(select(Patient.research_id)).scalars().all()
        shifts = {code: date_shift_days(SEED, code) for code in codes}
    assert scan_export(folder, identifiers, shifts) == []


def test_scanner_with_photos_exported_by_staff(source, identifiers, tmp_path):
    folder = _export(source, tmp_path / "export", actor=source.clinician, photos=True)
    assert len(list((folder / "photos").iterdir())) == 3 * 2 + 1  # demo: 2 photos each, + 1
    assert scan_export(folder, identifiers, None) == []


def test_the_scanner_sees_a_leak(source, identifiers, tmp_path):
    """Planting one identifier in each kind of file makes the scanner fail (it can fail)."""
    folder = _export(source, tmp_path / "export", "csv")
    visits = folder / "visits.csv"
    visits.write_text(visits.read_text() + "x,1,Featherstonehaugh,\n")
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace("psotrack", "17/03/2026", 1))
    pl.DataFrame({"note": ["hgt-88413-b"]}).write_parquet(folder / "extra.parquet")
    problems = scan_export(folder, identifiers, None)
    assert "visits.csv: Featherstonehaugh" in problems
    assert "manifest.json: 17/03/2026" in problems
    assert "extra.parquet (decoded): HGT-88413-B" in problems


# --- Known answers ---------------------------------------------------------------------------


def _research_id(source: Source, key: str) -> str:
    with source.db.engine.connect() as connection:
        return str(
            connection.scalar(select(Patient.research_id).where(Patient.id == source.patients[key]))
        )


def test_ages_at_day_zero_group_ninety_and_over(source, tmp_path):
    patients = pl.read_parquet(_export(source, tmp_path / "e") / "patients.parquet")
    age = dict(zip(patients["research_id"], patients["age"], strict=True))
    # Day 0 2026-03-17 for both: born 1936-03-18 → 89 (birthday tomorrow); 1936-03-17 → 90.
    assert age[_research_id(source, "philippa")] == "89"
    assert age[_research_id(source, "bartholomew")] == "90+"
    assert age[_research_id(source, "wilhelmina")] == "54"  # 2026-02-09 − 1971-11-23
    assert patients.columns == [
        "research_id",
        "sex",
        "age",
        "fitzpatrick",
        "psoriasis_type",
        "years_since_onset",
        "synthetic",
        "day_zero_from",
    ]
    onset = dict(zip(patients["research_id"], patients["years_since_onset"], strict=True))
    assert onset[_research_id(source, "philippa")] == 2026 - 1999


def test_study_days_are_those_of_services_study_days(source, tmp_path):
    visits = pl.read_parquet(_export(source, tmp_path / "e") / "visits.parquet")
    days = {
        code: sorted(group["visit_day"].to_list())
        for (code,), group in visits.group_by("research_id")
    }
    assert days[_research_id(source, "philippa")] == [-7, 0, 28]  # 03-10, 03-17, 04-14
    assert days[_research_id(source, "bartholomew")] == [-14, 0]
    assert days[_research_id(source, "wilhelmina")] == [14]  # from enrollment start 02-09
    with source.db.transaction() as session:
        zero = day_zero_dates(session)
        codes = dict(session.execute(select(Patient.id, Patient.research_id)).all())
        expected = sorted(
            (codes[pid], study_day(day, zero[pid][0]))
            for pid, day in session.execute(
                select(Visit.patient_id, Visit.visit_date).where(Visit.deleted_at.is_(None))
            )
        )
    assert sorted(zip(visits["research_id"], visits["visit_day"], strict=True)) == expected


def test_date_shift_keeps_every_interval_of_a_patient(source, tmp_path):
    folder = _export(source, tmp_path / "e", "parquet", "date-shift")
    code = _research_id(source, "philippa")
    visits = pl.read_parquet(folder / "visits.parquet").filter(pl.col("research_id") == code)
    shown = sorted(visits["visit_date"].to_list())
    real = [date(2026, 3, 10), date(2026, 3, 17), date(2026, 4, 14)]
    moved = {(a - b).days for a, b in zip(shown, real, strict=True)}
    assert len(moved) == 1 and moved != {0}  # one shift for all, and not none
    (shift,) = moved
    assert [(b - a).days for a, b in pairwise(shown)] == [7, 28]
    events = pl.read_parquet(folder / "adverse_events.parquet").filter(
        pl.col("research_id") == code
    )
    assert events["onset_date"].to_list() == [date(2026, 3, 18) + timedelta(days=shift)]
    assert events["resolution_date"].to_list() == [date(2026, 3, 20) + timedelta(days=shift)]
    given = pl.read_parquet(folder / "administrations.parquet").filter(
        pl.col("research_id") == code
    )
    start = datetime(2026, 3, 17, 10, 15, tzinfo=UTC) + timedelta(days=shift)
    assert given["started_at"].to_list() == [start]
    assert given["stopped_at"].to_list() == [start + timedelta(minutes=35)]
    patients = pl.read_parquet(folder / "patients.parquet").filter(pl.col("research_id") == code)
    assert patients["day_zero"].to_list() == [date(2026, 3, 17) + timedelta(days=shift)]


def test_same_seed_same_bytes_other_seed_other_shifts(source, tmp_path):
    first = _export(source, tmp_path / "a", "parquet", "date-shift", seed=11)
    again = _export(source, tmp_path / "b", "parquet", "date-shift", seed=11)
    other = _export(source, tmp_path / "c", "parquet", "date-shift", seed=12)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name

    def zero(folder: Path) -> dict[str, date]:
        frame = pl.read_parquet(folder / "patients.parquet")
        return dict(zip(frame["research_id"], frame["day_zero"], strict=True))

    shifted, reshifted = zero(first), zero(other)
    assert shifted.keys() == reshifted.keys()
    assert all(shifted[code] != reshifted[code] for code in shifted)  # 6 patients, ±365 days


def test_manifest_says_what_was_removed_and_how(source, tmp_path):
    folder = _export(source, tmp_path / "e", "csv")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["label"].startswith("SYNTHETIC: 3 of the 6 patients")
    assert manifest["psotrack_version"] == __version__
    assert manifest["dates"]["option"] == "study-days"
    assert set(manifest["tables"]) | set(manifest["tables_not_exported"]) | {"photos"} == set(
        Base.metadata.tables
    )
    for name, (model, _) in EXPORTED.items():
        if name == "photos":
            continue
        entry = manifest["tables"][name]
        free = set(free_text_columns(model)) - {"responses"}  # kept as coded answers only
        assert free <= set(entry["removed"]), name
        assert entry["columns"] == pl.read_csv(folder / entry["file"]).columns
    assert manifest["tables"]["patients"]["removed"] == [
        "id",
        "history",
        "revision",
        "last_visit_date",
        "created_at",
        "deleted_at",
        "deleted_reason",
    ]
    assert set(NOT_EXPORTED) == {"patient_identities", "users", "audit_log"}
    summary = pl.read_csv(folder / "summary.csv")
    rows = dict(zip(summary["table"], summary["rows"], strict=True))
    assert rows["patients"] == 6 and rows["visits"] == 3 * 7 + 3 + 2 + 1
    assert rows == {name: entry["rows"] for name, entry in manifest["tables"].items()}


# --- Who may export, and what an interruption leaves ------------------------------------------


def _cli(source: Source, output: Path, user: str, *more: str) -> list[str]:
    return [
        "export",
        "research",
        "--output",
        str(output),
        "--user",
        user,
        "--database-url",
        source.url,
        "--photo-dir",
        str(source.photo_dir),
        *more,
    ]


def test_researcher_may_export_and_is_audited(source, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(_cli(source, output, "okonkwo.research", "--format", "csv")) == 0
    assert "6 patients, dates as study-days" in capsys.readouterr().out
    assert (output / "patients.csv").is_file() and (output / "manifest.json").is_file()
    with source.db.engine.connect() as connection:
        audited = connection.execute(
            select(AuditEntry.actor_id, AuditEntry.new_value).where(AuditEntry.action == "export")
        ).all()
    assert (source.researcher.user_id, "dates=study-days; photos=no; patients=6") in audited


def test_patient_role_may_not_export(source, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(_cli(source, output, "featherstonehaugh.p")) == 1
    assert capsys.readouterr().err == "error: the patient role may not read de-identified records\n"
    assert not output.exists()


def test_researcher_may_not_take_photos(source, tmp_path, capsys):
    assert main(_cli(source, tmp_path / "out", "okonkwo.research", "--include-photos")) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the researcher role may not export photos")
    assert not (tmp_path / "out").exists()


def test_staff_may_export_photos_as_stored(source, tmp_path, capsys):
    output = tmp_path / "out"
    assert main(_cli(source, output, "zquartermaine", "--include-photos")) == 0
    assert "and 7 photos to" in capsys.readouterr().out
    photos = pl.read_parquet(output / "photos.parquet")
    assert "body_site" not in photos.columns and "view" not in photos.columns  # free text
    assert sorted(photos["file"]) == sorted(
        p.relative_to(output).as_posix() for p in (output / "photos").iterdir()
    )
    for name, digest in zip(photos["file"], photos["content_hash"], strict=True):
        assert hashlib.sha256((output / name).read_bytes()).hexdigest() == digest


def test_unknown_user_and_used_folder_are_refused_naming_them(source, tmp_path, capsys):
    assert main(_cli(source, tmp_path / "out", "nobody-here")) == 2
    assert "--user='nobody-here': an existing user" in capsys.readouterr().err
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    assert main(_cli(source, used, "okonkwo.research")) == 2
    assert capsys.readouterr().err == f"error: --output={str(used)!r}: a new or empty folder\n"
    assert [p.name for p in used.iterdir()] == ["keep.txt"]


def test_an_empty_folder_is_filled(source, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_cli(source, empty, "okonkwo.research")) == 0
    assert (empty / "manifest.json").is_file()


def test_interrupted_export_leaves_no_folder(source, tmp_path, monkeypatch, capsys):
    written = []
    real = pl.DataFrame.write_parquet

    def interrupted(frame: pl.DataFrame, path: Any, *args: Any, **kwargs: Any) -> None:
        if len(written) == 3:
            raise KeyboardInterrupt  # Ctrl-C half-way through the tables
        written.append(path)
        real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", interrupted)
    output = tmp_path / "out"
    assert main(_cli(source, output, "okonkwo.research")) == 130
    assert len(written) == 3
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []  # nor its temporary folder


def test_failure_mid_write_leaves_no_folder(source, tmp_path):
    dataset = research_dataset(source.db, source.researcher)
    seen = []

    def progress(name: str) -> None:
        seen.append(name)
        if len(seen) == 5:
            raise RuntimeError("disk pulled out")

    with pytest.raises(RuntimeError, match="disk pulled out"):
        write_research_export(dataset, tmp_path / "out", "csv", progress)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "module",
    ["psotrack.services.ages", "psotrack.services.study_days", "psotrack.services.research_export"],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
