"""Response models shared by the JSON API: error bodies and the page envelope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict

from psotrack.services.payloads import as_utc

T = TypeVar("T")
Row = TypeVar("Row", bound=BaseModel)


#: A moment in time, answered with its UTC offset (RFC 3339). Times are stored in UTC; SQLite
#: hands them back without the offset, which is added here rather than left ambiguous.
Moment = Annotated[datetime, AfterValidator(as_utc)]


class ApiModel(BaseModel):
    """Base of the API's answers: read from ORM rows and service dataclasses by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Message(BaseModel):
    """A refusal: 401, 403, 404, 409 or 413."""

    detail: str


class ProblemOut(BaseModel):
    """One problem of a 422: where, the one line (field, value, what is allowed), and its kind."""

    loc: list[str | int]
    msg: str
    type: str
    row: int | None = None


class Problems(BaseModel):
    detail: list[ProblemOut]


class PageOut(BaseModel, Generic[T]):
    """One page of a list: the rows, how many matched in all, and where this page is."""

    items: list[T]
    total: int
    page: int
    page_size: int


def page_of(model: type[Row], rows: Sequence[Any], page: int, page_size: int) -> PageOut[Row]:
    """One page of ``rows`` (ORM rows or dataclasses), each read into ``model``.

    For lists a service returns whole (one patient's visits, labs, alerts): they are short, so
    the page is cut here; the patient list is paged by its query instead.
    """
    start = (page - 1) * page_size
    items = [
        model.model_validate(row, from_attributes=True) for row in rows[start : start + page_size]
    ]
    return PageOut[model](items=items, total=len(rows), page=page, page_size=page_size)  # type: ignore[valid-type]


class Created(BaseModel):
    """The id of the record a POST stored."""

    id: int


#: The error answers every authenticated API route may give (for the OpenAPI schema).
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": Message, "description": "not signed in (no valid bearer token)"},
    403: {"model": Message, "description": "the role may not do this"},
    404: {"model": Message, "description": "not found"},
    422: {"model": Problems, "description": "the input breaks a rule"},
}
#: ``ERRORS`` and the answers only a request with a body may get: a body that cannot be read
#: (not JSON, not UTF-8), one too large, and a write that clashes with what is stored (a taken
#: MRN, no open enrollment to dose under, the database busy).
WRITE_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": Message, "description": "the body cannot be read (not JSON, or not UTF-8)"},
    **ERRORS,
    409: {"model": Message, "description": "the change clashes with what is stored"},
    413: {"model": Message, "description": "the request body is too large"},
}
