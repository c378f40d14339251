"""The de-identified research data set: the whole record as a researcher may take it away.

One read transaction gathers every exported table (:mod:`.research_tables` holds the rule for
each column), keyed by the patients' random research ids, with no names, MRNs, birth dates, free
text or links to staff; exact dates become study days (the default) or dates shifted by a
per-patient number of days drawn from a seed chosen for this export (:func:`date_shift_days`;
neither the seed nor the shifts are part of the data set). Photos come only when asked for, and
only to roles that read identified records: a photo can show who a patient is.

Who may export: any role with :attr:`Permission.READ_RESEARCH` (researchers and staff). Each
export is written to the audit log (who, which date option, whether photos, how many patients).
Files are written by :mod:`psotrack.interop.research_files`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from psotrack.errors import PermissionDenied, ValidationError
from psotrack.services.ages import age_in_years
from psotrack.services.audit import append
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.photo_files import photo_path
from psotrack.services.photos import FORMATS
from psotrack.services.research_tables import (
    EXPORTED,
    Cohort,
    ColumnRule,
    DateOption,
    build_table,
    column_rules,
)
from psotrack.services.study_days import day_zero_dates
from psotrack.store.models import Base, Patient, PatientIdentity
from psotrack.store.models.base import utcnow

#: Largest date shift, in days either way (psotrack's choice: up to a year, never 0).
MAX_SHIFT_DAYS: Final = 365


@dataclass(frozen=True)
class ExportedTable:
    """One table of the data set and the rule each of its source columns followed."""

    name: str
    frame: pl.DataFrame
    rules: tuple[ColumnRule, ...]


@dataclass(frozen=True)
class ResearchPhoto:
    """A photo to copy: its name in the export and the stored (metadata-free) file."""

    file_name: str
    source: Path
    content_hash: str


@dataclass(frozen=True)
class ResearchDataset:
    """Everything a research export holds, before it is written.

    ``patients`` are exported; ``left_out_patients`` are live patients without a day 0 (no
    enrollment and no administration), whose dates could not be told as study days.
    """

    dates: DateOption
    tables: tuple[ExportedTable, ...]
    photos: tuple[ResearchPhoto, ...]
    patients: int
    synthetic_patients: int
    left_out_patients: int

    def summary(self) -> pl.DataFrame:
        """Rows per table (and the number of photo files), a tidy table."""
        counts = [(t.name, t.frame.height) for t in self.tables]
        if self.photos:
            counts.append(("photo files", len(self.photos)))
        return pl.DataFrame(counts, schema={"table": pl.String, "rows": pl.Int64}, orient="row")


def date_shift_days(seed: int, research_id: str) -> int:
    """The days a patient's dates move in the export made with ``seed``: ±1 to ±365, never 0.

    Drawn from HMAC-SHA-256 keyed by the seed, so that the same seed gives the same shifts
    and a shift tells nothing about the seed or about another patient's shift.

    >>> date_shift_days(7, "PT-000001") == date_shift_days(7, "PT-000001")
    True
    >>> 1 <= abs(date_shift_days(7, "PT-000001")) <= MAX_SHIFT_DAYS
    True
    """
    digest = hmac.new(str(seed).encode(), research_id.encode(), hashlib.sha256).digest()
    magnitude = 1 + int.from_bytes(digest[:8], "big") % MAX_SHIFT_DAYS
    return magnitude if digest[8] % 2 == 0 else -magnitude


def research_dataset(
    db: Database,
    actor: Actor,
    *,
    dates: DateOption | str = DateOption.STUDY_DAYS,
    include_photos: bool = False,
    seed: int | None = None,
) -> ResearchDataset:
    """Read the de-identified data set in one transaction (audited as an export).

    ``seed`` fixes the date shifts (a fresh random one when not given; it is never written).
    ``include_photos`` needs permission to read identified records.
    """
    option = _date_option(dates)
    if seed is None:
        seed = secrets.randbits(63)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValidationError("--seed", seed, "a whole number 0 or more", "type")
    with db.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_RESEARCH)
        if include_photos and not actor.may(Permission.READ_IDENTIFIED):
            raise PermissionDenied(
                f"the {actor.role} role may not export photos: --include-photos needs "
                f"permission to {Permission.READ_IDENTIFIED.value} (a photo can show who a "
                "patient is)"
            )
        cohort, synthetic, left_out = _cohort(session, option, seed)
        tables = []
        photo_rows: list[Mapping[str, Any]] = []
        photo_names: dict[int, str] = {}
        for name, (model, _) in EXPORTED.items():
            if name == "photos" and not include_photos:
                continue
            rows = _live_rows(session, model)
            frame, keys = build_table(name, rows, cohort)
            cohort.keys[name] = keys
            if name == "photos":
                photo_rows = sorted(
                    (r for r in rows if r["id"] in keys), key=lambda r: keys[r["id"]]
                )
                photo_names = _photo_names(photo_rows, keys)
                files = [photo_names[key] for key in frame["photo_key"]]
                frame = frame.with_columns(pl.Series("file", files, dtype=pl.String))
            tables.append(ExportedTable(name, frame, column_rules(name, option)))
        _audit_export(session, actor, option, include_photos, len(cohort.research_ids))
    photos = tuple(
        ResearchPhoto(
            photo_names[cohort.keys["photos"][row["id"]]],
            photo_path(db.photo_dir, row["content_hash"], _extension(row["media_type"])),
            row["content_hash"],
        )
        for row in photo_rows
    )
    return ResearchDataset(
        dates=option,
        tables=tuple(tables),
        photos=photos,
        patients=len(cohort.research_ids),
        synthetic_patients=synthetic,
        left_out_patients=left_out,
    )


def _date_option(dates: DateOption | str) -> DateOption:
    try:
        return DateOption(dates)
    except ValueError:
        allowed = " or ".join(o.value for o in DateOption)
        raise ValidationError("dates", dates, allowed, "invalid") from None


def _cohort(session: Session, option: DateOption, seed: int) -> tuple[Cohort, int, int]:
    """The exported patients (live, with a day 0), how many are synthetic, how many left out."""
    live = session.execute(
        select(Patient.id, Patient.research_id, Patient.synthetic).where(
            Patient.deleted_at.is_(None)
        )
    ).all()
    zero = day_zero_dates(session)
    births = {
        pid: born
        for pid, born in session.execute(
            select(PatientIdentity.patient_id, PatientIdentity.birth_date)
        )
    }
    exported = [(pid, code, synthetic) for pid, code, synthetic in live if pid in zero]
    research_ids = {pid: code for pid, code, _ in exported}
    birth_dates = {pid: births.get(pid) for pid in research_ids}
    cohort = Cohort(
        dates=option,
        research_ids=research_ids,
        day_zero={pid: zero[pid][0] for pid in research_ids},
        day_zero_from={pid: zero[pid][1] for pid in research_ids},
        ages={
            pid: None if born is None else age_in_years(born, zero[pid][0])
            for pid, born in birth_dates.items()
        },
        shifts=(
            {pid: date_shift_days(seed, code) for pid, code in research_ids.items()}
            if option is DateOption.DATE_SHIFT
            else {}
        ),
    )
    synthetic = sum(1 for _, _, flag in exported if flag)
    return cohort, synthetic, len(live) - len(exported)


def _live_rows(session: Session, model: type[Base]) -> list[Mapping[str, Any]]:
    table = model.__table__
    query = select(table)
    if "deleted_at" in table.c:
        query = query.where(table.c.deleted_at.is_(None))
    return cast("list[Mapping[str, Any]]", list(session.execute(query).mappings()))


def _extension(media_type: str) -> str:
    return next(ext for ext, media in FORMATS.values() if media == media_type)


def _photo_names(rows: list[Mapping[str, Any]], keys: dict[int, int]) -> dict[int, str]:
    """Photo key → file name in the export (``photos/photo-<key>.<ext>``)."""
    return {
        keys[r["id"]]: f"photos/photo-{keys[r['id']]}.{_extension(r['media_type'])}" for r in rows
    }


def _audit_export(
    session: Session, actor: Actor, option: DateOption, photos: bool, patients: int
) -> None:
    """One audit row naming who exported what (the export changes nothing in the record)."""
    assert actor.user_id is not None  # resolve_actor returns the stored user
    append(
        session,
        [
            {
                "at": utcnow(),
                "actor_id": actor.user_id,
                "action": "export",
                "entity": "users",
                "entity_id": actor.user_id,
                "field": "research_export",
                "old_value": None,
                "new_value": (
                    f"dates={option.value}; photos={'yes' if photos else 'no'}; patients={patients}"
                ),
                "reason": "de-identified research export",
            }
        ],
    )
