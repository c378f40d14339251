"""Reports as documents: one view of the report, written as a self-contained HTML file or a PDF.

A report is first turned into a *view*: plain JSON-ready values, every number already written as
the text it is printed as (:mod:`psotrack.reports.view`). Both formats print that view, so the
HTML and the PDF cannot disagree on a number:

- HTML: a Jinja2 template (autoescaped) over ``reports/templates``, extending
  ``report_base.html`` (print stylesheet, the data's label at the top, the footer). Charts and
  photos are embedded as ``data:`` URIs, so the file stands alone.
- PDF: a Typst template (``reports/templates/*.typ``) that reads the view as ``view.json`` and
  the charts and photos as files beside it, compiled by the Typst compiler that the ``typst``
  package bundles. psotrack measured WeasyPrint first (the HTML to PDF): 2.3–2.6 s for one
  patient's report against Typst's 0.19 s for the same content (see benchmarks/bench_reports.py),
  so the PDF is drawn by Typst. The font is the DejaVu Sans that matplotlib ships, and system
  fonts are ignored: the same view gives the same PDF on any machine, with nothing to install.

The printed date is ``generated_at`` (the command's ``--generated-at``), never the clock inside a
template, and the PDF's own timestamp is the same date: the same data give the same bytes.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final

import matplotlib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from psotrack.errors import PsotrackError, ValidationError
from psotrack.interop.files import write_whole
from psotrack.number_text import scientific

#: The report's font (DejaVu Sans, as the charts use): the copy matplotlib ships.
FONT_FOLDER: Final = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
#: Printed at the foot of every report: what the numbers are and what they are not.
MEASUREMENT_NOTE: Final = (
    "This report describes measurements recorded in psotrack and their uncertainty. It is not "
    "a promise or a prediction of the effect of any therapy."
)


class ReportFormat(StrEnum):
    """The file a report is written as."""

    HTML = "html"
    PDF = "pdf"


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


def typst_pdf(template: str, view: Mapping[str, Any], files: Mapping[str, bytes]) -> bytes:
    """The PDF Typst draws from ``template`` (a ``.typ`` file of ``reports/templates``), which
    reads ``view`` as ``view.json`` and ``files`` (charts, photos) by name.

    The PDF's timestamp is ``view["generated_at"]``; a Typst error (a template bug, never bad
    input: the view is plain data) is raised as :class:`PsotrackError`.
    """
    import typst

    templates = resources.files("psotrack.reports").joinpath("templates")
    generated = datetime.fromisoformat(view["generated_at"])
    with tempfile.TemporaryDirectory(prefix="psotrack-report-") as folder:
        root = Path(folder)
        for item in templates.iterdir():  # the report's template and the layout it imports
            if item.name.endswith(".typ"):
                (root / item.name).write_bytes(item.read_bytes())
        (root / "view.json").write_text(json.dumps(view, ensure_ascii=False), encoding="utf-8")
        for name, content in files.items():
            (root / name).write_bytes(content)
        try:
            pdf: bytes = typst.compile(
                str(root / template),
                root=str(root),
                font_paths=[str(FONT_FOLDER)],
                ignore_system_fonts=True,
                timestamp=int(generated.timestamp()),
            )
        except RuntimeError as failed:  # typst reports compile errors as RuntimeError
            raise PsotrackError(f"the PDF could not be drawn: {failed}") from None
    return pdf


def write_document(content: bytes, output: Path) -> None:
    """Write ``content`` to ``output`` whole (:func:`~psotrack.interop.files.write_whole`): an
    interrupted command leaves the old file or none, never half a report."""
    write_whole(output, lambda handle: handle.write(content))
