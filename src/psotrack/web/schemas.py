"""Response models shared by the JSON API: error bodies and the page envelope."""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


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


#: The error answers every authenticated API route may give (for the OpenAPI schema).
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": Message, "description": "not signed in (no valid bearer token)"},
    403: {"model": Message, "description": "the role may not do this"},
    404: {"model": Message, "description": "not found"},
    422: {"model": Problems, "description": "the input breaks a rule"},
}
