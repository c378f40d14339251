"""Who is in the record: users, patients (identity kept apart from clinical data), programs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from psotrack.store.models.base import CODED_TEXT, Base, Timestamps, coded
from psotrack.store.vocabulary import (
    EnrollmentStatus,
    ProductSource,
    PsoriasisType,
    Role,
    Route,
    Sex,
)


class User(Base, Timestamps):
    __tablename__ = "users"
    __table_args__ = (
        # A patient account reads and reports for one patient, named here; staff accounts for
        # none. An unlinked patient account may exist only deactivated (migration 0006 leaves
        # older ones so). On SQLite the rule is two triggers (a CHECK cannot be added to a table
        # that rows of the audit log refer to); services check it first, with a clear message.
        CheckConstraint(
            "(role = 'patient' OR patient_id IS NULL) "
            "AND (role <> 'patient' OR patient_id IS NOT NULL OR NOT active)",
            name="patient_link",
        ),
        Index("uq_users_patient_id", "patient_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(coded(Role, "role"))
    #: An argon2 hash; empty for a user who cannot sign in (the system user).
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    #: Wrong passwords in a row since the last good sign-in (kept here so that a lock-out holds
    #: across processes); see :mod:`psotrack.services.auth`.
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    password_changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    #: The patient a patient-role account belongs to (their own record only); empty for staff.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), default=None)


#: Columns the database keeps itself, never a service: ``Patient.revision`` (migration 0008's
#: triggers raise it on every change to the record) and ``Patient.last_visit_date`` (0009's
#: set it from the visits). Not record values: not audited, not exported, not compared when
#: rows are checked against what was written.
KEPT_BY_THE_DATABASE: Final = frozenset({"revision", "last_visit_date"})


class Patient(Base, Timestamps):
    """Clinical facts about a patient; identifiers live in :class:`PatientIdentity`."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("fitzpatrick BETWEEN 1 AND 6", name="fitzpatrick"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A random research code (e.g. ``PT-7F3A9C``): safe to leave the clinic, unlike the MRN.
    research_id: Mapped[str] = mapped_column(String(20), unique=True, info=CODED_TEXT)
    sex: Mapped[Sex] = mapped_column(coded(Sex, "sex"))
    #: Empty only for records imported from files that carry no birth date.
    birth_year: Mapped[int | None]
    fitzpatrick: Mapped[int | None] = mapped_column(default=None)
    psoriasis_type: Mapped[PsoriasisType] = mapped_column(coded(PsoriasisType, "psoriasis_type"))
    onset_year: Mapped[int | None] = mapped_column(default=None)
    history: Mapped[str | None] = mapped_column(default=None)
    synthetic: Mapped[bool] = mapped_column(default=False)
    #: Raised by the database (triggers, migration 0008) on every change to the patient's
    #: record: what is derived from the record may be kept under (id, revision). Never set it.
    #: (The column's server default is 0 too, for rows inserted by hand.)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The date of the latest live visit, set by the database (triggers on the visits,
    #: migration 0009) whenever a visit is recorded, moved, redated or deleted: the patient
    #: list's last visit and its sort. Never set it.
    last_visit_date: Mapped[date | None] = mapped_column(default=None)

    identity: Mapped[PatientIdentity] = relationship(back_populates="patient", uselist=False)


class PatientIdentity(Base):
    """Direct identifiers (MRN, name, birth date): never in research views or exports."""

    __tablename__ = "patient_identities"

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    #: Names and birth date are empty only for records imported from research files.
    family_name: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None]

    patient: Mapped[Patient] = relationship(back_populates="identity")


class Program(Base, Timestamps):
    """A regimen patients follow, with the protocol limits that safety checks use."""

    __tablename__ = "programs"
    __table_args__ = (
        CheckConstraint("viability_threshold_pct BETWEEN 0 AND 100", name="viability"),
        CheckConstraint("dose_min_per_kg <= dose_max_per_kg", name="dose_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    regimen: Mapped[str]
    product_source: Mapped[ProductSource] = mapped_column(coded(ProductSource, "product_source"))
    route: Mapped[Route] = mapped_column(coded(Route, "route"))
    dose_min_per_kg: Mapped[float | None] = mapped_column(default=None)
    dose_max_per_kg: Mapped[float | None] = mapped_column(default=None)
    viability_threshold_pct: Mapped[float] = mapped_column(default=70.0)
    ctcae_version: Mapped[str] = mapped_column(String(10), default="5.0", info=CODED_TEXT)


class Enrollment(Base, Timestamps):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    start_date: Mapped[date]
    status: Mapped[EnrollmentStatus] = mapped_column(coded(EnrollmentStatus, "enrollment_status"))
    withdrawal_reason: Mapped[str | None] = mapped_column(default=None)
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: The protocol arm: a study-design name that research views keep (psotrack's choice).
    arm: Mapped[str | None] = mapped_column(String(80), default=None, info=CODED_TEXT)
