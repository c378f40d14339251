"""REDCap branching logic: whether a field is shown on a row of the export.

Only the plain form REDCap writes is read — ``[f] = '1'``, ``[f(2)] = '1'`` (a checkbox choice),
``<>``/``!=``, ``<``, ``>``, ``<=``, ``>=``, ``and``/``or`` and parentheses — by a small
recursive-descent reader over the row's cells (choice cells compared by code, so a labels export
reads the same). Logic psotrack cannot read (smart variables, functions such as ``datediff``,
``[event][field]`` across events) leaves the field shown: a value is then never dropped on a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from psotrack.interop.redcap_files import (
    CHECKED,
    CHOICE_TYPES,
    DataDictionary,
    DictionaryField,
    RecordRow,
    choice_code,
    column_code,
)
from psotrack.number_text import parse_decimal


def shown(item: DictionaryField, row: RecordRow, dictionary: DataDictionary) -> bool:
    """Whether the field's branching logic shows it on this row (unreadable logic: shown)."""
    if not item.branching:
        return True
    try:
        return bool(_Logic(item.branching, row, dictionary).evaluate())
    except _Unreadable:
        return True


_TOKEN: Final = re.compile(
    r"\s*(?:(?P<field>\[[a-z][a-z0-9_]*(?:\([A-Za-z0-9_\-]+\))?\])|(?P<text>'[^']*'|\"[^\"]*\")"
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?)|(?P<op><>|!=|>=|<=|=|<|>)|(?P<word>and|or)"
    r"|(?P<paren>[()]))",
    re.IGNORECASE,
)


class _Unreadable(Exception):
    pass


class _Logic:
    """A recursive-descent reading of REDCap's plain branching logic over one row."""

    def __init__(self, text: str, row: RecordRow, dictionary: DataDictionary) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if not text[position:].strip():
                break
            match = _TOKEN.match(text, position)
            if match is None or match.lastgroup is None:
                raise _Unreadable(text)
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self.row, self.dictionary, self.at = row, dictionary, 0

    def evaluate(self) -> bool:
        value = self._or()
        if self.at != len(self.tokens):
            raise _Unreadable()
        return value

    def _next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise _Unreadable()
        self.at += 1
        return self.tokens[self.at - 1]

    def _peek(self, kind: str, word: str | None = None) -> bool:
        if self.at >= len(self.tokens):
            return False
        found, text = self.tokens[self.at]
        return found == kind and (word is None or text.lower() == word)

    def _or(self) -> bool:
        value = self._and()
        while self._peek("word", "or"):
            self._next()
            value = self._and() or value
        return value

    def _and(self) -> bool:
        value = self._comparison()
        while self._peek("word", "and"):
            self._next()
            value = self._comparison() and value
        return value

    def _comparison(self) -> bool:
        if self._peek("paren", "("):
            self._next()
            value = self._or()
            if self._next() != ("paren", ")"):
                raise _Unreadable()
            return value
        left = self._operand()
        kind, op = self._next()
        if kind != "op":
            raise _Unreadable()
        right = self._operand()
        if op in {"=", "<>", "!="}:
            return (left == right) == (op == "=")
        a, b = parse_decimal(left), parse_decimal(right)
        if a is None or b is None:
            return False
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]

    def _operand(self) -> str:
        kind, text = self._next()
        if kind == "text":
            return text[1:-1]
        if kind == "number":
            return text
        if kind != "field":
            raise _Unreadable()
        name, _, code = text[1:-1].partition("(")
        item = self.dictionary.fields.get(name)
        if item is None:
            raise _Unreadable()
        if code:
            ticked = self.row.cells.get(f"{name}___{column_code(code[:-1])}") or ""
            return "1" if CHECKED.get(ticked.casefold()) else "0"
        cell = self.row.cells.get(name)
        if item.field_type in CHOICE_TYPES:
            return choice_code(item, cell) or (cell or "")
        return cell or ""


def branching_fields(dictionary: DataDictionary) -> Mapping[str, str]:
    """Each field with branching logic and its logic (for documentation and dry runs)."""
    return {n: f.branching for n, f in dictionary.fields.items() if f.branching}
