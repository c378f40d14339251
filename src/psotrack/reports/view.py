"""The parts a report's view is made of: tables of printed text, and the images beside them.

A view holds text, not numbers: each value is written once, here or by the report that builds
the view, as it is printed; the HTML template and the Typst template only lay it out. So the two
formats print the same digits, and a test can read every number of a report from its view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

#: Printed where a value is missing.
DASH: Final = "—"


@dataclass(frozen=True)
class Table:
    """A table as printed: a header, rows of text, which columns are numbers (right-aligned),
    and what to print instead when there is no row."""

    id: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str
    numeric: tuple[int, ...] = ()
    note: str = ""

    def as_view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "header": list(self.header),
            "rows": [list(row) for row in self.rows],
            "empty": self.empty,
            "numeric": list(self.numeric),
            "note": self.note,
        }


def table(
    id: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    empty: str,
    numeric: Iterable[int] = (),
    note: str = "",
) -> dict[str, Any]:
    """A :class:`Table`'s view; each cell printed by :func:`text` (``None`` as a dash)."""
    printed = tuple(tuple(text(cell) for cell in row) for row in rows)
    return Table(id, tuple(header), printed, empty, tuple(numeric), note).as_view()


def text(value: object) -> str:
    """A cell as printed: ``None`` as a dash, anything else as ``str`` does.

    >>> text(None), text(3), text("4.5")
    ('—', '3', '4.5')
    """
    return DASH if value is None else str(value)


def decimal_text(value: float | None, places: int = 1) -> str:
    """A measured number to ``places`` decimals, with a real minus sign (a dash when missing).

    >>> decimal_text(-75.0), decimal_text(20.4), decimal_text(None)
    ('−75.0', '20.4', '—')
    """
    if value is None:
        return DASH
    return f"{value:.{places}f}".replace("-", "−")


def percent_text(value: float | None) -> str:
    """A percent change with its sign: ``−75.0 %``, ``+12.5 %`` (a dash when missing).

    >>> percent_text(-75.0), percent_text(12.5), percent_text(None)
    ('−75.0 %', '+12.5 %', '—')
    """
    if value is None:
        return DASH
    return f"{value:+.1f} %".replace("-", "−")


@dataclass(frozen=True)
class Images:
    """The files a view names: charts (SVG text) and photos (bytes with a media type)."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def add_svg(self, name: str, svg: str) -> str:
        """Keep a chart as ``name.svg``; returns the name the view uses."""
        file = f"{name}.svg"
        self.files[file] = (svg.encode("utf-8"), "image/svg+xml")
        return file

    def add_photo(self, name: str, content: bytes, media_type: str) -> str:
        """Keep a photo as ``name`` with the extension of its media type."""
        file = f"{name}.{'png' if media_type == 'image/png' else 'jpg'}"
        self.files[file] = (content, media_type)
        return file

    def contents(self) -> dict[str, bytes]:
        return {name: content for name, (content, _) in self.files.items()}
