"""The append-only audit log: who, when, what, old, new, why (see :mod:`psotrack.services.audit`).

A created record is one row (``field`` empty, ``new_value`` a JSON object of its values); a
correction or deletion is one row per changed field.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from psotrack.store.models.base import Base, utcnow


class AuditEntry(Base):
    """Database triggers refuse UPDATE and DELETE on this table (see the first migration).

    ``seq``, ``prev_hash`` and ``row_hash`` chain every row to the one before it, so that a
    change made outside psotrack is found by ``psotrack audit verify`` (see
    :mod:`psotrack.store.audit_chain`).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # create, update, delete (soft), flag
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[int] = mapped_column(index=True)
    field: Mapped[str | None] = mapped_column(String(80))
    old_value: Mapped[str | None]
    new_value: Mapped[str | None]
    reason: Mapped[str | None]
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
