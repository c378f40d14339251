"""Reports as documents: Jinja2 templates rendered to one self-contained HTML file, and to PDF.

One Jinja2 environment (autoescaped) over ``reports/templates``; every report extends
``report_base.html``, which carries the print stylesheet, the data's label (e.g. "SYNTHETIC
DATA") at the top of every page and the page numbers. Charts and photos are embedded as
``data:`` URIs, so the HTML file stands alone (no file beside it, nothing fetched) and the PDF
is drawn from the same HTML by WeasyPrint.

The same data give the same HTML: the printed date is ``generated_at`` (the command's
``--generated-at``), never the clock inside a template.

WeasyPrint needs Pango and a font from the operating system; when they are missing the PDF step
fails with :class:`ReportUnavailable`, which says what to install (``make test`` and ``make run``
install them on Debian). The HTML format needs nothing beyond Python.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from psotrack.errors import PsotrackError, ValidationError
from psotrack.number_text import scientific

#: What the PDF step needs from the operating system, as Debian names it.
PDF_LIBRARIES: Final = "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
#: Printed at the foot of every report: what the numbers are and what they are not.
MEASUREMENT_NOTE: Final = (
    "This report describes measurements recorded in psotrack and their uncertainty. It is not "
    "a promise or a prediction of the effect of any therapy."
)


class ReportFormat(StrEnum):
    """The file a report is written as."""

    HTML = "html"
    PDF = "pdf"


class ReportUnavailable(PsotrackError):
    """The PDF step cannot run on this machine (WeasyPrint's system libraries are missing)."""


def parse_report_format(text: str) -> ReportFormat:
    """``html`` or ``pdf``; anything else is refused naming ``--format``."""
    try:
        return ReportFormat(text)
    except ValueError:
        raise ValidationError("--format", text, "pdf or html", kind="invalid") from None


def parse_generated_at(text: str | None) -> datetime:
    """The printed generation time: ``--generated-at`` (ISO 8601 date or date-time), else now.

    A time without a zone is read as UTC; the result is always in UTC.

    >>> parse_generated_at("2026-12-01").isoformat()
    '2026-12-01T00:00:00+00:00'
    """
    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        allowed = "an ISO 8601 date or date-time, e.g. 2026-12-01 or 2026-12-01T09:30:00Z"
        raise ValidationError("--generated-at", text, allowed, kind="invalid") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def svg_uri(svg: str) -> str:
    """A chart's SVG text as a ``data:`` URI for an ``<img>`` (no file beside the report)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def image_uri(content: bytes, media_type: str) -> str:
    """A photo's bytes as a ``data:`` URI."""
    return f"data:{media_type};base64," + base64.b64encode(content).decode("ascii")


def css_string(text: object) -> str:
    """``text`` made safe inside a double-quoted CSS string (the page footer's ``content``).

    Quotes, backslashes, angle brackets and line breaks become CSS hex escapes.

    >>> css_string('say "hi"')
    'say \\\\22 hi\\\\22 '
    """
    return "".join(f"\\{ord(c):x} " if c in '"\\<>\n\r' else c for c in str(text))


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("psotrack.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(scientific=scientific, measurement_note=MEASUREMENT_NOTE)
    environment.filters["css_string"] = css_string
    return environment


_ENVIRONMENT: Environment | None = None


def render_html(template: str, context: Mapping[str, Any]) -> str:
    """``template`` (a file of ``reports/templates``) rendered with ``context``, as HTML text.

    ``context`` must hold ``title``, ``data_label`` (e.g. "SYNTHETIC DATA", or empty) and
    ``generated_at`` (a :class:`~datetime.datetime`), which the base template prints.
    """
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        _ENVIRONMENT = _environment()
    return _ENVIRONMENT.get_template(template).render(**context)


def html_to_pdf(html: str) -> bytes:
    """The PDF WeasyPrint draws from ``html`` (A4, the report's print stylesheet)."""
    try:
        import weasyprint
    except OSError as missing:  # cffi could not load Pango (or one of its libraries)
        raise ReportUnavailable(
            f"PDF reports need Pango and a font ({missing}); on Debian or Ubuntu: "
            f"apt-get install {PDF_LIBRARIES} (or choose --format html)"
        ) from missing
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def document_bytes(html: str, fmt: ReportFormat) -> bytes:
    """The report file's content: the HTML as UTF-8, or the PDF drawn from it."""
    return html.encode("utf-8") if fmt is ReportFormat.HTML else html_to_pdf(html)


def write_document(content: bytes, output: Path) -> None:
    """Write ``content`` to ``output`` whole: a temporary file in the same folder, then a rename
    (an interrupted command leaves the old file or none, never half a report)."""
    handle, temporary = tempfile.mkstemp(
        dir=output.parent, prefix=f".{output.name}.", suffix=".part"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
