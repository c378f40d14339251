"""Query and form values, read with psotrack's one number grammar (:mod:`psotrack.number_text`).

FastAPI's own integer parsing would take what Pydantic takes; every number that enters the web
app is read here instead, so ``page=٣`` or ``page=1_0`` is refused as the command line refuses it.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Query
from pydantic import BeforeValidator

from psotrack.number_text import parse_integer

#: The most rows one list page (or API list call) returns.
MAX_PAGE_SIZE: Final = 200
#: Largest page number accepted (a bound on every input).
MAX_PAGE: Final = 1_000_000


def whole_number(value: object) -> object:
    """A query or form text as a whole number by the number grammar; other values unchanged."""
    if isinstance(value, str):
        number = parse_integer(value)
        if number is None:
            raise ValueError("not a whole number in ASCII digits")
        return number
    return value


WholeNumber = Annotated[int, BeforeValidator(whole_number)]
Page = Annotated[WholeNumber, Query(ge=1, le=MAX_PAGE, description="1-based page number")]
PageSize = Annotated[
    WholeNumber, Query(ge=1, le=MAX_PAGE_SIZE, description="rows per page (1–200)")
]
