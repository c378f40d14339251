"""Safety records: adverse events (CTCAE grade, ICH E2A seriousness) and the flags raised."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ColumnElement, DateTime, ForeignKey, String, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from psotrack.store.models.base import CODED_TEXT, Base, Timestamps, coded, utcnow
from psotrack.store.vocabulary import AeOutcome, AeTerm, FlagKind, Relatedness


class AdverseEvent(Base, Timestamps):
    """One adverse event: coded fields for research, free text (verbatim, action) for care only."""

    __tablename__ = "adverse_events"
    __table_args__ = (CheckConstraint("grade BETWEEN 1 AND 5", name="grade"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    term: Mapped[AeTerm] = mapped_column(coded(AeTerm, "ae_term"))
    #: What the reporter wrote (free text: may name people); never shown to researchers.
    verbatim_term: Mapped[str | None] = mapped_column(String(200), default=None)
    onset_date: Mapped[date]
    resolution_date: Mapped[date | None] = mapped_column(default=None)
    grade: Mapped[int]
    ctcae_version: Mapped[str] = mapped_column(String(10), info=CODED_TEXT)
    serious: Mapped[bool]
    #: The ICH E2A criteria met (values of :class:`SeriousCriterion`); empty when not serious.
    serious_criteria: Mapped[list[str]] = mapped_column(JSON, default=list, info=CODED_TEXT)
    expected: Mapped[bool | None] = mapped_column(default=None)
    relatedness: Mapped[Relatedness] = mapped_column(coded(Relatedness, "relatedness"))
    action_taken: Mapped[str | None] = mapped_column(String(200), default=None)
    outcome: Mapped[AeOutcome] = mapped_column(coded(AeOutcome, "ae_outcome"))
    infusion_reaction: Mapped[bool] = mapped_column(default=False)
    administration_id: Mapped[int | None] = mapped_column(
        ForeignKey("administrations.id"), default=None
    )


class SafetyFlag(Base):
    """A safety signal raised when something was recorded; kept, shown and listed by alerts."""

    __tablename__ = "safety_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[FlagKind] = mapped_column(coded(FlagKind, "flag_kind"))
    entity: Mapped[str] = mapped_column(String(40), info=CODED_TEXT)
    entity_id: Mapped[int]
    #: The message the care team reads (may quote free text such as a verbatim AE term).
    message: Mapped[str]
    #: The same flag told from coded values only: what a researcher is shown.
    coded_message: Mapped[str] = mapped_column(default="", info=CODED_TEXT)
    #: For a serious adverse event: the regulatory report deadline it starts (ICH E2A).
    due_date: Mapped[date | None] = mapped_column(default=None)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: What the acknowledging person wrote (free text: care team only).
    acknowledged_note: Mapped[str | None] = mapped_column(default=None)
    #: Closed: dealt with, off every alert list (the row and its audit history stay).
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    #: Why it was closed (free text: care team only).
    closed_note: Mapped[str | None] = mapped_column(default=None)

    @hybrid_property
    def is_open(self) -> bool:
        """Open: neither acknowledged nor closed (what an alert list shows unless asked for
        more); the same rule in Python and, on the class, in SQL."""
        return self.acknowledged_at is None and self.closed_at is None

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls) -> ColumnElement[bool]:
        return and_(cls.acknowledged_at.is_(None), cls.closed_at.is_(None))
