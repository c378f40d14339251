"""The declarative base, shared column helpers and the constraint naming convention."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def coded(enum: type[StrEnum], name: str) -> Enum:
    """A portable coded column: VARCHAR plus a CHECK of the allowed values (no native ENUM)."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


#: Column ``info`` for text that is not free: a code checked against a closed list, or a value
#: psotrack generates. Every other text or JSON column is free text: it may name a person, and
#: research views leave it out (deny by default, so a new column is hidden until marked).
CODED_TEXT: dict[str, Any] = {"coded": True}


def free_text_columns(model: type[Base]) -> tuple[str, ...]:
    """The columns of ``model`` that hold free text (text or JSON, neither coded nor an enum)."""
    return tuple(
        column.key
        for column in model.__table__.columns
        if isinstance(column.type, String | JSON)
        and not isinstance(column.type, Enum)
        and not column.info.get("coded", False)
    )


class Timestamps:
    """Creation time and soft deletion: rows are never removed, only marked deleted."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    deleted_reason: Mapped[str | None] = mapped_column(default=None)
