"""What one patient's progress report is drawn from, read in one transaction.

The parts come from the services that own them: the record, status sentence, open flags and
programs from :func:`~psotrack.services.patient_overview.patient_overview`, the scores by study
day and the engine's baseline PASI from :func:`~psotrack.services.patient_charts.score_series`,
each analyte from :func:`~psotrack.services.patient_charts.lab_series`, the region items of a
PASI from :func:`~psotrack.services.mirror.region_signs` and the photos from
:func:`~psotrack.services.photos.open_photo`. This module only chooses which PASI is "baseline"
and which "latest", and which photos stand side by side.

psotrack's choices, where the report needs one:

- Baseline PASI form: the form of the visit the endpoint engine took its baseline from (the last
  visit on or before day 0 whose PASI is the engine's ``base``); latest: the visit of the status'
  current PASI (the latest PASI after day 0). Several PASI forms at one visit: the newest.
- Photos: for each body site, its first photo (the earliest visit) beside its latest; a site
  photographed at one visit only shows that photo alone. At most :data:`MAX_SITES` sites, those
  photographed first; the report says how many more there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

import polars as pl

from psotrack.errors import Conflict, NotFound
from psotrack.instruments.pasi import REGION_NAMES, REGIONS
from psotrack.services.context import Actor, Database, Permission, resolve_actor
from psotrack.services.mirror import RegionSigns, region_signs
from psotrack.services.patient_charts import LabSeries, ScoreSeries, lab_series, score_series
from psotrack.services.patient_overview import PatientOverview, patient_overview
from psotrack.services.photos import PhotoFile, open_photo
from psotrack.store.models import Assessment, Photo, Visit
from psotrack.store.vocabulary import ANALYTES, Instrument

#: Body sites shown in the report's mirror (the first photographed).
MAX_SITES: Final = 12
SYNTHETIC: Final = "SYNTHETIC DATA"


@dataclass(frozen=True)
class PasiVisit:
    """One PASI form the report compares: its visit, study day, total and region items."""

    visit_label: str
    visit_date: date
    day: int | None
    pasi: str | None
    regions: Mapping[str, RegionSigns | None]


@dataclass(frozen=True)
class ReportPhoto:
    """A photo as the report embeds it (``content`` empty when its file cannot be read)."""

    id: int
    body_site: str
    view: str
    visit_label: str
    visit_date: date
    day: int | None
    content: bytes | None
    media_type: str | None


@dataclass(frozen=True)
class SitePhotos:
    """One body site: its first photo beside its latest (``latest`` empty when only one)."""

    body_site: str
    first: ReportPhoto
    latest: ReportPhoto | None


class ReportCopy(StrEnum):
    """Whose copy of the report: the care team's, or the patient's own (see :mod:`own_report`).

    The patient's copy holds what a researcher's coded view holds (no free text the care team
    wrote, no photos), with the patient's own name (not the MRN), and no safety flags.
    """

    CARE_TEAM = "care team"
    PATIENT = "patient"


@dataclass(frozen=True, eq=False)
class PatientReport:
    """Everything one patient's progress report shows.

    ``scores``: ``day`` and one column per score (``pasi``, ``bsa``, ``pga``, ``dlqi``,
    ``itch``), a row per visit with a score. ``baseline`` / ``latest``: the PASI forms compared
    by region (empty when there is none). ``data_label``: "SYNTHETIC DATA" for a synthetic
    patient, else empty. ``copy``: whose copy it is (what it leaves out).
    """

    overview: PatientOverview
    scores: pl.DataFrame
    baseline_pasi: float | None
    labs: tuple[LabSeries, ...]
    baseline: PasiVisit | None
    latest: PasiVisit | None
    photos: tuple[SitePhotos, ...]
    sites_not_shown: int
    data_label: str
    copy: ReportCopy = ReportCopy.CARE_TEAM

    @property
    def administrations(self) -> int:
        """The number of cell-therapy administrations recorded."""
        return len(self.overview.timeline.administrations)

    @property
    def total_cells_per_kg(self) -> float:
        """The sum of the administrations' doses in cells/kg (0 when none)."""
        return float(sum(a.cells_per_kg for a in self.overview.timeline.administrations))

    def region_rows(self) -> pl.DataFrame:
        """PASI by region and sign, baseline and latest: one row per region (a tidy table).

        Columns: ``region``, ``name``, then for ``base_`` and ``latest_``: ``erythema``,
        ``induration`` (thickness), ``desquamation`` (scaling), ``area`` (score 0–6) and
        ``contribution`` (the region's points of the total, as the instrument scores them).
        """
        rows = []
        for region in REGIONS:
            row: dict[str, object] = {"region": region, "name": REGION_NAMES[region]}
            for prefix, visit in (("base_", self.baseline), ("latest_", self.latest)):
                signs = visit.regions.get(region) if visit is not None else None
                row[f"{prefix}erythema"] = signs.erythema if signs else None
                row[f"{prefix}induration"] = signs.induration if signs else None
                row[f"{prefix}desquamation"] = signs.desquamation if signs else None
                row[f"{prefix}area"] = signs.area if signs else None
                row[f"{prefix}contribution"] = signs.contribution if signs else None
            rows.append(row)
        return pl.DataFrame(rows, schema=_REGION_SCHEMA)

    def summary(self) -> pl.DataFrame:
        """The status' per-visit endpoint rows (a tidy table)."""
        return self.overview.status.summary()


_REGION_SCHEMA: Final = {
    "region": pl.String,
    "name": pl.String,
    **{
        f"{prefix}{column}": kind
        for prefix in ("base_", "latest_")
        for column, kind in (
            ("erythema", pl.Int64),
            ("induration", pl.Int64),
            ("desquamation", pl.Int64),
            ("area", pl.Int64),
            ("contribution", pl.String),
        )
    },
}


def patient_report(db: Database, actor: Actor, patient_id: int) -> PatientReport:
    """One patient's report content (identified: names, MRN, photos); NotFound if unknown."""
    with db.unit_of_work() as unit, unit.transaction() as session:
        actor = resolve_actor(session, actor, Permission.READ_IDENTIFIED)
        overview = patient_overview(unit, actor, patient_id)
        series = score_series(unit, actor, patient_id)
        labs = tuple(lab_series(unit, actor, patient_id, code) for code in overview.analytes)
    # Photo files are read after the record's transaction: a file missing from the photo folder
    # is shown as missing in the report, and must not undo the reading of the record.
    chosen, more = _site_photos(overview)
    photos = tuple(
        SitePhotos(
            site,
            _report_photo(db, actor, overview, first),
            _report_photo(db, actor, overview, latest) if latest is not None else None,
        )
        for site, first, latest in chosen
    )
    return assemble_report(overview, series, labs, photos, more, ReportCopy.CARE_TEAM)


def assemble_report(
    overview: PatientOverview,
    series: ScoreSeries,
    labs: Iterable[LabSeries],
    photos: tuple[SitePhotos, ...],
    sites_not_shown: int,
    copy: ReportCopy,
) -> PatientReport:
    """The report of parts already read (and checked) by its caller: the baseline and latest
    PASI forms chosen, the labs in :data:`~psotrack.store.vocabulary.ANALYTES`' order."""
    status = overview.status
    baseline_day = _baseline_day(status.rows, status.baseline_pasi)
    return PatientReport(
        overview=overview,
        scores=series.scores,
        baseline_pasi=series.baseline_pasi,
        labs=tuple(sorted(labs, key=lambda lab: list(ANALYTES).index(lab.analyte))),
        baseline=_pasi_visit(overview, baseline_day),
        latest=_pasi_visit(overview, status.current_day),
        photos=photos,
        sites_not_shown=sites_not_shown,
        data_label=SYNTHETIC if overview.timeline.patient.synthetic else "",
        copy=copy,
    )


def _baseline_day(rows: pl.DataFrame, base: float | None) -> int | None:
    """The study day of the visit the engine's baseline PASI came from (see the module)."""
    if base is None or rows.is_empty():
        return None
    found = rows.filter((pl.col("day") <= 0) & (pl.col("pasi") == base))
    return int(found["day"][-1]) if found.height else None


def _pasi_visit(overview: PatientOverview, day: int | None) -> PasiVisit | None:
    if day is None:
        return None
    forms: list[tuple[Visit, Assessment]] = [
        (visit, form)
        for visit, form in overview.assessments
        if form.instrument == Instrument.PASI and overview.study_day(visit.visit_date) == day
    ]
    if not forms:
        return None
    visit, form = forms[-1]
    return PasiVisit(
        visit_label=visit.label or visit.visit_type.value,  # a coded copy has no label
        visit_date=visit.visit_date,
        day=day,
        pasi=form.score,
        regions={region: region_signs(form, region) for region in REGIONS},
    )


def _site_photos(
    overview: PatientOverview,
) -> tuple[list[tuple[str, Photo, Photo | None]], int]:
    """``(site, first, latest)`` for the first :data:`MAX_SITES` sites, and how many more."""
    visits = overview.visits

    def taken(photo: Photo) -> tuple[date, int]:
        visit = visits.get(photo.visit_id) if photo.visit_id is not None else None
        when = visit.visit_date if visit is not None else _captured(photo)
        return when, photo.id

    by_site: dict[str, list[Photo]] = {}
    for photo in sorted(overview.timeline.photos, key=taken):
        by_site.setdefault(photo.body_site, []).append(photo)
    chosen = []
    for site, photos in list(by_site.items())[:MAX_SITES]:
        first, last = photos[0], photos[-1]
        same_day = taken(first)[0] == taken(last)[0]
        chosen.append((site, first, None if same_day else last))
    return chosen, max(0, len(by_site) - MAX_SITES)


def _captured(photo: Photo) -> date:
    if photo.captured_at is not None:
        return photo.captured_at.date()
    return photo.created_at.date()


def _report_photo(
    db: Database, actor: Actor, overview: PatientOverview, photo: Photo
) -> ReportPhoto:
    visit = overview.visits.get(photo.visit_id) if photo.visit_id is not None else None
    when = visit.visit_date if visit is not None else _captured(photo)
    try:
        stored: PhotoFile | None = open_photo(db, actor, photo.id)
    except (NotFound, Conflict):
        stored = None  # the file is missing or altered: the report says so in its place
    return ReportPhoto(
        id=photo.id,
        body_site=photo.body_site,
        view=photo.view,
        visit_label=visit.label if visit is not None else "no visit",
        visit_date=when,
        day=overview.study_day(when),
        content=stored.content if stored is not None else None,
        media_type=stored.media_type if stored is not None else None,
    )


def pasi_change(baseline: PasiVisit | None, latest: PasiVisit | None) -> Decimal | None:
    """Latest minus baseline PASI in points, exact (``None`` when either is missing)."""
    if baseline is None or latest is None or baseline.pasi is None or latest.pasi is None:
        return None
    return Decimal(latest.pasi) - Decimal(baseline.pasi)
