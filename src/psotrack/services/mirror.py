"""The mirror: one body site's photos side by side across chosen visits, with that region's PASI.

A photo's body site is free text ("trunk", "left elbow"); :func:`pasi_region` reads the PASI
region it lies in from the words PASI's regions are defined by (Fredriksson 1978: head and neck;
upper limbs; trunk with axillae and groin; lower limbs with buttocks). A site it cannot place
gets its photos without signs, and the page says so.

Each visit's column holds the photos of the site taken at it and the PASI items of the region
as the assessor graded them (the visit's PASI; the newest when there are several), the area as
its score and the region's contribution to the total as the instrument scores them
(:func:`psotrack.services.scoring.score_responses`, which converts an area given in %).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select

from psotrack.errors import Problem, ValidationError
from psotrack.instruments.pasi import REGION_NAMES, SIGNS
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.patients import get_patient
from psotrack.services.scoring import score_responses
from psotrack.services.study_days import day_zero
from psotrack.store.models import Assessment, Photo, Visit
from psotrack.store.vocabulary import Instrument

#: The most visits shown side by side.
MAX_VISITS: Final = 6
#: Word stems (regular expressions, matched at a word start) that place a body site in a PASI
#: region, checked in this order: "back of the hand" is a limb, "armpit" is the trunk.
REGION_WORDS: Final = (
    (
        "upper_limbs",
        ("upper limb", r"arms?\b", "elbow", "forearm", "wrist", "hand", "palm", "finger")
        + ("shoulder",),
    ),
    (
        "lower_limbs",
        ("lower limb", "leg", "knee", "thigh", "shin", "calf", "ankle", "foot", "feet", "toe")
        + ("sole", "buttock", "gluteal"),
    ),
    ("head", ("head", "scalp", "face", "forehead", "ear", "neck", "cheek", "chin", "nose")),
    (
        "trunk",
        ("trunk", "chest", "abdomen", "belly", "back", "flank", "axilla", "armpit", "groin")
        + ("torso", "breast", "umbilic", "sacr"),
    ),
)


def pasi_region(body_site: str) -> str | None:
    """The PASI region a body site lies in, or ``None`` when its words do not say.

    >>> [pasi_region(s) for s in ("trunk", "Left elbow", "scalp", "buttocks", "nail")]
    ['trunk', 'upper_limbs', 'head', 'lower_limbs', None]
    """
    words = re.sub(r"[^a-z ]", " ", body_site.lower())
    for region, stems in REGION_WORDS:
        if any(re.search(rf"\b{stem}", words) for stem in stems):
            return region
    return None


@dataclass(frozen=True)
class RegionSigns:
    """One region's PASI items at one visit, as graded."""

    erythema: int
    induration: int
    desquamation: int
    area: int
    area_pct: float | None
    contribution: str
    pasi: str | None


@dataclass(frozen=True)
class MirrorPhoto:
    id: int
    view: str
    captured_at: datetime | None
    width: int
    height: int


@dataclass(frozen=True)
class MirrorVisit:
    """One column of the mirror: a visit, its photos of the site, the region's signs."""

    id: int
    label: str
    visit_date: date
    day: int | None
    photos: tuple[MirrorPhoto, ...]
    signs: RegionSigns | None


@dataclass(frozen=True)
class Mirror:
    """``sites``: every body site photographed; ``choices``: visits with a photo of ``site``."""

    patient_id: int
    site: str | None
    region: str | None
    region_name: str | None
    sites: tuple[str, ...]
    choices: tuple[MirrorVisit, ...]
    columns: tuple[MirrorVisit, ...]


def mirror(
    db: Database, actor: Actor, patient_id: int, site: str | None, visit_ids: Sequence[int]
) -> Mirror:
    """The photos of ``site`` at ``visit_ids`` (default: the first and the latest visit with a
    photo of it; default site: the one photographed at most visits), side by side."""
    with db.transaction() as session:
        resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        get_patient(session, patient_id)
        zero = day_zero(session, patient_id)
        visits = {
            v.id: v
            for v in session.scalars(
                select(Visit)
                .where(Visit.patient_id == patient_id, Visit.deleted_at.is_(None))
                .order_by(Visit.visit_date, Visit.id)
            )
        }
        photos = [
            p
            for p in session.scalars(
                select(Photo)
                .where(Photo.patient_id == patient_id, Photo.deleted_at.is_(None))
                .order_by(Photo.captured_at, Photo.id)
            )
            if p.visit_id in visits
        ]
        pasi_rows = session.scalars(
            select(Assessment)
            .where(
                Assessment.patient_id == patient_id,
                Assessment.instrument == Instrument.PASI,
                Assessment.deleted_at.is_(None),
            )
            .order_by(Assessment.id)
        ).all()
    sites = _sites_by_visits(photos)
    chosen_site = site.strip() if site is not None and site.strip() else None
    if chosen_site is None:
        chosen_site = sites[0] if sites else None
    elif chosen_site not in sites:
        allowed = ", ".join(sites) if sites else "none: no photo of this patient yet"
        raise ValidationError(
            "site", site, f"a body site photographed for this patient: {allowed}", kind="invalid"
        )
    region = pasi_region(chosen_site) if chosen_site else None
    pasi_of = {a.visit_id: a for a in pasi_rows}  # the newest PASI of each visit
    of_site = [p for p in photos if p.body_site == chosen_site]

    def column(visit: Visit) -> MirrorVisit:
        shown = tuple(
            MirrorPhoto(p.id, p.view, p.captured_at, p.width, p.height)
            for p in of_site
            if p.visit_id == visit.id
        )
        assessed = pasi_of.get(visit.id)
        signs = region_signs(assessed, region) if assessed is not None and region else None
        day = None if zero is None else (visit.visit_date - zero).days
        return MirrorVisit(visit.id, visit.label, visit.visit_date, day, shown, signs)

    choices = tuple(column(visits[i]) for i in dict.fromkeys(p.visit_id for p in of_site) if i)
    choices = tuple(sorted(choices, key=lambda c: (c.visit_date, c.id)))
    wanted = _chosen_visits(visit_ids, visits, choices)
    return Mirror(
        patient_id=patient_id,
        site=chosen_site,
        region=region,
        region_name=REGION_NAMES[region] if region else None,
        sites=tuple(sites),
        choices=choices,
        columns=tuple(column(visits[i]) for i in wanted),
    )


def _sites_by_visits(photos: Sequence[Photo]) -> list[str]:
    """Body sites, the one photographed at most visits first (then by name)."""
    visits: dict[str, set[int | None]] = {}
    for photo in photos:
        visits.setdefault(photo.body_site, set()).add(photo.visit_id)
    return sorted(visits, key=lambda s: (-len(visits[s]), s))


def _chosen_visits(
    visit_ids: Sequence[int], visits: dict[int, Visit], choices: tuple[MirrorVisit, ...]
) -> list[int]:
    if not visit_ids:
        if not choices:
            return []
        return list(dict.fromkeys([choices[0].id, choices[-1].id]))
    problems = [
        Problem("visit", v, "a visit of this patient", kind="invalid")
        for v in visit_ids
        if v not in visits
    ]
    if len(visit_ids) > MAX_VISITS:
        problems.append(Problem("visit", len(visit_ids), f"at most {MAX_VISITS} visits"))
    if problems:
        raise ValidationError(problems=problems)
    return sorted(dict.fromkeys(visit_ids), key=lambda v: (visits[v].visit_date, v))


def region_signs(assessment: Assessment, region: str) -> RegionSigns | None:
    """The region's items of a stored PASI (``None`` if the stored shape cannot be read)."""
    part: Any = assessment.responses.get(region)
    if not isinstance(part, dict):
        return None
    try:
        scored = score_responses(Instrument.PASI, assessment.responses)
    except ValidationError:
        return None  # stored before a rule changed: show the photo without signs
    rows = {row["region"]: row for row in scored.details["summary"]}
    area_pct = part.get("area_pct")
    erythema, induration, desquamation = (int(part[sign]) for sign in SIGNS)
    return RegionSigns(
        erythema=erythema,
        induration=induration,
        desquamation=desquamation,
        area=int(rows[region]["area"]),
        area_pct=float(area_pct) if area_pct is not None else None,
        contribution=str(rows[region]["contribution"]),
        pasi=assessment.score,
    )
