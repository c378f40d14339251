"""Reading HTML form fields into service payloads, and placing problems next to their fields.

Every number is read with psotrack's one number grammar (:mod:`psotrack.number_text`): ASCII
digits only, no exponent, so ``٣`` and ``1e1`` are refused here with a line naming the field,
the value and what is allowed. Everything else (ranges, codes, dates, cross-field rules) is left
to the service, whose problems come back named by the payload's field; :func:`place` puts each
next to the form field of that name. A blank field is left out of the payload, so the service
reports it as missing in its own words; a form with a field the reader refused is never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.datastructures import FormData

from psotrack.errors import Problem, ValidationError
from psotrack.number_text import parse_decimal, parse_integer

WHOLE = "a whole number in ASCII digits"
DECIMAL = "a decimal number in ASCII digits"


def json_number(value: Decimal) -> int | float:
    """A typed decimal as a JSON number: whole when typed whole (``"2"`` → 2), else a float.

    >>> json_number(Decimal("2")), json_number(Decimal("12.5"))
    (2, 12.5)
    """
    return int(value) if value.as_tuple().exponent == 0 else float(value)


@dataclass
class FormReader:
    """The fields of one submitted form, read one by one; problems collected, typed text kept.

    ``prefix`` is how the service names these fields (``"responses."`` for an assessment), so
    that a problem found here reads like one the service would report.
    """

    form: FormData
    prefix: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def typed(self) -> dict[str, str]:
        """What was typed, field by field (the first value of each), to show the form again."""
        return {k: v for k, v in self.form.items() if isinstance(v, str) and k != "csrf_token"}

    def text(self, name: str) -> str | None:
        """The field's text (the service trims it and checks it), or None when blank."""
        value = self.form.get(name)
        if not isinstance(value, str) or not value.strip():
            return None
        return value

    def texts(self, name: str) -> list[str]:
        """Every value of a multi-valued field (checkboxes), blanks left out."""
        return [v for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    def integer(self, name: str, what: str = "") -> int | str | None:
        """A whole number, None when blank, or (with a problem) the text that is not one."""
        text = self.text(name)
        if text is None:
            return None
        number = parse_integer(text)
        if number is None:
            return self._refuse(name, text, WHOLE, what)
        return number

    def decimal(self, name: str, what: str = "") -> Decimal | str | None:
        """A decimal exactly as typed, None when blank, or (with a problem) the text."""
        text = self.text(name)
        if text is None:
            return None
        number = parse_decimal(text)
        if number is None:
            return self._refuse(name, text, DECIMAL, what)
        return number

    def number(self, name: str, what: str = "") -> int | float | str | None:
        """A decimal as a JSON number (see :func:`json_number`); else as :meth:`decimal`."""
        value = self.decimal(name, what)
        return json_number(value) if isinstance(value, Decimal) else value

    def real(self, name: str, what: str = "") -> float | str | None:
        """A decimal as a float (the services' strict float fields); else as :meth:`decimal`."""
        value = self.decimal(name, what)
        return float(value) if isinstance(value, Decimal) else value

    def yes_no(self, name: str) -> bool | str | None:
        """``yes`` → True, ``no`` → False, blank → None; else (with a problem) the text."""
        text = self.text(name)
        if text is None:
            return None
        if text in ("yes", "no"):
            return text == "yes"
        return self._refuse(name, text, "yes or no", "")

    def checked(self, name: str) -> bool:
        """A checkbox: ticked or not."""
        return self.text(name) is not None

    def _refuse(self, name: str, text: str, grammar: str, what: str) -> str:
        """Note the problem; the text goes on into the payload, where the service refuses the
        same field (its line is then left out, see :func:`other_problems`) instead of calling it
        missing, and nothing is stored while the reader holds a problem.
        """
        allowed = f"{grammar} ({what})" if what else grammar
        self.problems.append(Problem(self.prefix + name, text, allowed, kind="type"))
        return text


class Refusal(Problem):
    """A refusal that is about the record, not one field (a clash with what is stored)."""

    def __init__(self, message: str) -> None:
        super().__init__("", None, message, "invalid")

    def __str__(self) -> str:
        return self.allowed


def drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    """The payload without the fields left blank (the service names each one it needs)."""
    return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class Placed:
    """Problems by form field name, and those that belong to no field on the form."""

    by_field: dict[str, list[str]]
    general: list[str]

    @property
    def count(self) -> int:
        return sum(len(lines) for lines in self.by_field.values()) + len(self.general)


def place(problems: Iterable[Problem], fields: Iterable[str], prefix: str = "") -> Placed:
    """Put each problem next to the form field it names (``prefix`` stripped), else on top.

    A problem named ``responses.head.colour`` (a key inside a field) goes to ``head``'s first
    field when no field has that exact name.
    """
    names = set(fields)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        name = problem.field.removeprefix(prefix)
        if name not in names:
            name = next((n for n in sorted(names) if name.startswith(n + ".")), name)
        if name in names:
            by_field.setdefault(name, []).append(str(problem))
        else:
            general.append(str(problem))
    return Placed(by_field, general)


def other_problems(found: Iterable[Problem], already: Iterable[Problem]) -> list[Problem]:
    """``found`` without the problems of fields already refused by the form reader.

    A field the reader could not read is left out of the payload, so the service would call it
    missing as well; the reader's line (what was typed and why it is not a number) is the one
    shown.
    """
    refused = {p.field for p in already}
    return [p for p in found if p.field not in refused]


def payload_problems(check: Callable[[], object]) -> list[Problem]:
    """The problems ``check`` (a validation that stores nothing) raises, or none."""
    try:
        check()
    except ValidationError as refused:
        return list(refused.problems)
    return []
