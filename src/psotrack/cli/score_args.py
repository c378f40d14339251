"""Reading the compact text of `psotrack score …` options into instrument inputs."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from psotrack.errors import Problem
from psotrack.instruments.dlqi import DlqiAnswer, DlqiInput, Item, Q7Answer, Q7Item
from psotrack.instruments.napsi import NailScore
from psotrack.instruments.pasi import RegionScore
from psotrack.number_text import parse_decimal, parse_integer

DLQI_SYNTAX: Final = (
    "Ten answers separated by commas, in question order. Questions 1–6 and 8–10: "
    "3 very much, 2 a lot, 1 a little, 0 not at all, nr not relevant (not on Q1–Q2). "
    "Question 7: yes, no:2 (a lot), no:1 (a little), no:0 (not at all), no (follow-up blank), nr. "
    "Leave an answer empty for a blank question (one blank scores 0; two or more: not scored). "
    "Two ticked answers: join them with '+', e.g. 1+2 or yes+no:1 (the higher scores). "
    "Example: 3,2,1,0,nr,1,no:2,0,,1"
)
_ANSWERS: Final = {
    "3": DlqiAnswer.VERY_MUCH,
    "2": DlqiAnswer.A_LOT,
    "1": DlqiAnswer.A_LITTLE,
    "0": DlqiAnswer.NOT_AT_ALL,
    "nr": DlqiAnswer.NOT_RELEVANT,
}
_Q7_ANSWERS: Final = {
    "yes": Q7Answer.YES,
    "no:2": Q7Answer.NO_A_LOT,
    "no:1": Q7Answer.NO_A_LITTLE,
    "no:0": Q7Answer.NO_NOT_AT_ALL,
    "no": Q7Answer.NO_FOLLOW_UP_BLANK,
    "nr": Q7Answer.NOT_RELEVANT,
}


def parse_int(field: str, text: str) -> tuple[int | None, Problem | None]:
    """An integer typed on the command line, or the problem with it (``3.5`` is not one).

    Read by :mod:`psotrack.number_text`, like every number psotrack takes.
    """
    value = parse_integer(text)
    if value is None:
        return None, Problem(field, text, "an integer", kind="type")
    return value, None


def parse_number(field: str, text: str) -> tuple[Decimal | None, Problem | None]:
    """A number kept exactly as typed (``Decimal``), or the problem with it."""
    value = parse_decimal(text)
    if value is None:
        return None, Problem(field, text, "a number", kind="type")
    return value, None


def number_option(option: str, text: str | None, problems: list[Problem]) -> Decimal | None:
    """Parse an optional number option, adding its problem (if any) to ``problems``."""
    if text is None:
        return None
    value, problem = parse_number(option, text)
    if problem is not None:
        problems.append(problem)
    return value


def int_option(option: str, text: str | None, problems: list[Problem]) -> int | None:
    """Parse an optional integer option, adding its problem (if any) to ``problems``."""
    if text is None:
        return None
    value, problem = parse_int(option, text)
    if problem is not None:
        problems.append(problem)
    return value


def parse_ints(
    option: str, text: str, names: tuple[str, ...], shape: str
) -> tuple[tuple[int, ...] | None, list[Problem]]:
    """Comma-separated integers, one per name (``2,1,3`` for erythema, induration, scaling)."""
    parts = text.split(",")
    if len(parts) != len(names):
        return None, [Problem(option, text, f"{len(names)} integers {shape}", kind="type")]
    values: list[int] = []
    problems: list[Problem] = []
    for name, part in zip(names, parts, strict=True):
        value, problem = parse_int(name, part)
        if problem is not None:
            problems.append(problem)
        else:
            values.append(value or 0)
    return (None, problems) if problems else (tuple(values), [])


def parse_dlqi_answers(text: str) -> tuple[DlqiInput | None, list[Problem]]:
    """Read the compact DLQI syntax described in :data:`DLQI_SYNTAX`."""
    tokens = text.split(",")
    if len(tokens) != 10:
        return None, [
            Problem("--answers", text, f"10 comma-separated answers (got {len(tokens)})", "invalid")
        ]
    items: list[Item | Q7Item] = []
    problems: list[Problem] = []
    for number, token in enumerate(tokens, start=1):
        item, problem = _dlqi_item(number, token.strip().lower())
        if problem is not None:
            problems.append(problem)
        items.append(item)
    if problems:
        return None, problems
    return DlqiInput.from_answers(items), []


def _dlqi_item(number: int, token: str) -> tuple[Item | Q7Item, Problem | None]:
    if token == "":
        return None, None
    table: dict[str, DlqiAnswer] | dict[str, Q7Answer] = _Q7_ANSWERS if number == 7 else _ANSWERS
    parts = token.split("+")
    allowed = "yes, no:2, no:1, no:0, no or nr" if number == 7 else "3, 2, 1, 0 or nr"
    if len(parts) > 2 or any(p.strip() not in table for p in parts):
        what = "at most two answers joined by '+'" if len(parts) > 2 else allowed
        return None, Problem(f"q{number}", token, what, kind="invalid")
    answers = [table[p.strip()] for p in parts]
    if len(answers) == 1:
        return answers[0], None
    return (answers[0], answers[1]), None  # type: ignore[return-value]  # same enum, from table


def parse_nail(text: str) -> tuple[tuple[str, NailScore] | None, list[Problem]]:
    """Read ``R1=2,1`` (nail name = matrix quadrants, bed quadrants)."""
    name, sep, scores = text.partition("=")
    if not sep:
        return None, [Problem("--nail", text, "NAIL=MATRIX,BED, e.g. R1=2,1", kind="invalid")]
    nail = name.strip().upper()
    names = (f"{nail}_matrix", f"{nail}_bed")
    values, problems = parse_ints("--nail", scores, names, "MATRIX,BED")
    if values is None:
        return None, problems
    return (nail, NailScore(*values)), []


def parse_region(region: str, text: str) -> tuple[RegionScore | None, list[Problem]]:
    """Read ``E,I,D,A`` for one region; return the score (if readable) and every problem found."""
    parts = [p.strip() for p in text.split(",")]
    names = ("erythema", "induration", "desquamation", "area")
    if len(parts) != 4:
        option = f"--{region.replace('_', '-')}"
        return None, [Problem(option, text, "four integers E,I,D,A", kind="type")]
    values: list[int] = []
    problems: list[Problem] = []
    for name, part in zip(names, parts, strict=True):
        value, problem = parse_int(f"{region}_{name}", part)
        if problem is not None:
            problems.append(problem)
        values.append(value or 0)
    score = RegionScore(*values)
    problems.extend(p for p in score.problems(region) if p.field not in {q.field for q in problems})
    return (None if problems else score), problems
