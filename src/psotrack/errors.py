"""The one error hierarchy of psotrack: raised in the core, translated once at each interface."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

ProblemKind = Literal["range", "type", "missing", "invalid"]


def _show(value: object) -> str:
    """Render a rejected value so the reader sees what was sent (strings keep their quotes)."""
    if isinstance(value, str | bool) or value is None:
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which field, what value, and what is allowed.

    ``kind`` picks the wording: ``range`` → "trunk_area=7 is outside 0–6 (an area score)",
    ``type`` → "head_erythema=True is not an integer 0–4", ``missing`` → "pasi is missing",
    ``invalid`` → "field=value: <allowed>" for rules that are neither type nor range.
    """

    field: str
    value: object
    allowed: str
    kind: ProblemKind = "range"
    row: int | None = None

    def at_row(self, row: int) -> Problem:
        return Problem(self.field, self.value, self.allowed, self.kind, row)

    def __str__(self) -> str:
        prefix = f"row {self.row}: " if self.row is not None else ""
        if self.kind == "range":
            text = f"{self.field}={_show(self.value)} is outside {self.allowed}"
        elif self.kind == "type":
            text = f"{self.field}={_show(self.value)} is not {self.allowed}"
        elif self.kind == "missing":
            text = f"{self.field} is missing ({self.allowed})"
        else:
            text = f"{self.field}={_show(self.value)}: {self.allowed}"
        return prefix + text


class PsotrackError(Exception):
    """Root of every error psotrack raises on purpose."""


class ValidationError(PsotrackError, ValueError):
    """Input that breaks a clinical or format rule; lists every problem found, not just the first.

    >>> str(ValidationError("trunk_area", 7, "0–6 (an area score)"))
    'trunk_area=7 is outside 0–6 (an area score)'
    """

    def __init__(
        self,
        field: str | None = None,
        value: object = None,
        allowed: str = "",
        kind: ProblemKind = "range",
        *,
        problems: Iterable[Problem] = (),
    ) -> None:
        found = list(problems)
        if field is not None:
            found.insert(0, Problem(field, value, allowed, kind))
        if not found:
            raise TypeError("ValidationError needs a field or a list of problems")
        self.problems: tuple[Problem, ...] = tuple(found)
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def field(self) -> str:
        return self.problems[0].field

    @property
    def value(self) -> object:
        return self.problems[0].value


class NotFound(PsotrackError, LookupError):
    """A patient, visit or record that does not exist (or is not visible to the caller)."""


class PermissionDenied(PsotrackError):
    """The caller's role does not allow this action."""


class Conflict(PsotrackError):
    """The action clashes with what is stored (duplicate, stale version, closed record)."""


class ProcessFailed(PsotrackError, RuntimeError):
    """A forked process sharing the work did not finish it (:mod:`psotrack.processes`); the work
    was not completed and nothing of it is kept."""
