"""What happens at visits: assessments, cell-therapy doses, other therapy, labs, photos."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from psotrack.store.models.base import CODED_TEXT, Base, Timestamps, coded
from psotrack.store.vocabulary import (
    ColourSpace,
    Instrument,
    ProductSource,
    Route,
    TherapyClass,
    VisitType,
)


class Visit(Base, Timestamps):
    """A dated encounter. Its study day is derived (visit date − first administration date).

    The label names the visit in the schedule ("Week 12") and is the ``visit`` of every
    endpoint table, so a patient has one live visit per label: a unique index among rows not
    deleted backs the rule that a visit is recorded (and imported) once, even when two
    processes write at the same moment.
    """

    __tablename__ = "visits"
    __table_args__ = (
        Index(
            "uq_visits_patient_id_label",
            "patient_id",
            "label",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Each patient's live visits by date: the patient list's last visit (migration 0007).
        Index(
            "ix_visits_patient_id_visit_date",
            "patient_id",
            "visit_date",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_date: Mapped[date]
    visit_type: Mapped[VisitType] = mapped_column(coded(VisitType, "visit_type"))
    label: Mapped[str] = mapped_column(String(80))


class Assessment(Base, Timestamps):
    """One instrument at one visit: the raw items as entered and the score psotrack computed.

    ``score`` is the exact decimal text (``"12.3"``) from :mod:`psotrack.instruments`; it is
    never taken from the client. ``score_value`` repeats it as a float for sorting and queries.
    """

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    instrument: Mapped[Instrument] = mapped_column(coded(Instrument, "instrument"))
    responses: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[str | None] = mapped_column(String(32), info=CODED_TEXT)
    score_value: Mapped[float | None]
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class Administration(Base, Timestamps):
    """One cell-therapy administration, with product, dose, viability, route and vital signs."""

    __tablename__ = "administrations"
    __table_args__ = (
        CheckConstraint("viability_pct BETWEEN 0 AND 100", name="viability"),
        CheckConstraint("total_cells > 0", name="total_cells"),
        CheckConstraint("body_weight_kg > 0", name="body_weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), default=None)
    product_source: Mapped[ProductSource] = mapped_column(coded(ProductSource, "product_source"))
    manufacturer: Mapped[str] = mapped_column(String(200))
    lot: Mapped[str] = mapped_column(String(80))
    passage: Mapped[int | None] = mapped_column(default=None)
    cryopreserved: Mapped[bool]
    total_cells: Mapped[int] = mapped_column(BigInteger)
    body_weight_kg: Mapped[float]
    cells_per_kg: Mapped[float]
    viability_pct: Mapped[float]
    route: Mapped[Route] = mapped_column(coded(Route, "route"))
    volume_ml: Mapped[float | None] = mapped_column(default=None)
    rate_ml_per_h: Mapped[float | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    premedication: Mapped[str | None] = mapped_column(default=None)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: Vital signs before and after: {"heart_rate": 72, "systolic": 120, "temperature_c": 36.8, …}
    vitals_before: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, default=None, info=CODED_TEXT
    )
    vitals_after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, info=CODED_TEXT)


class ConcomitantTherapy(Base, Timestamps):
    __tablename__ = "concomitant_therapies"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    therapy_class: Mapped[TherapyClass] = mapped_column(coded(TherapyClass, "therapy_class"))
    agent: Mapped[str | None] = mapped_column(String(200), default=None)
    biologic_target: Mapped[str | None] = mapped_column(String(40), default=None, info=CODED_TEXT)
    start_date: Mapped[date]
    stop_date: Mapped[date | None] = mapped_column(default=None)
    dose: Mapped[str | None] = mapped_column(String(200), default=None)


class LabResult(Base, Timestamps):
    __tablename__ = "lab_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), default=None)
    analyte: Mapped[str] = mapped_column(String(40), info=CODED_TEXT)
    value: Mapped[float]
    unit: Mapped[str] = mapped_column(String(40), info=CODED_TEXT)
    reference_low: Mapped[float | None] = mapped_column(default=None)
    reference_high: Mapped[float | None] = mapped_column(default=None)
    sampled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Photo(Base, Timestamps):
    """A clinical photograph; the file lives outside the database, named by its SHA-256."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), default=None)
    body_site: Mapped[str] = mapped_column(String(80))
    view: Mapped[str] = mapped_column(String(40))
    captured_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    content_hash: Mapped[str] = mapped_column(String(64), index=True, info=CODED_TEXT)
    media_type: Mapped[str] = mapped_column(String(40), info=CODED_TEXT)
    width: Mapped[int]
    height: Mapped[int]
    #: The colour space the upload was in; the stored pixels are always sRGB.
    colour_space: Mapped[ColourSpace] = mapped_column(
        coded(ColourSpace, "colour_space"), default=ColourSpace.UNTAGGED
    )
