"""A progress report as the browser gets it, for every route that serves one (the patient page's
and the patient's own): HTML shown under its own policy, PDF downloaded."""

from __future__ import annotations

from fastapi.responses import Response

from psotrack.reports.document import ReportFormat
from psotrack.web.middleware import REPORT_CSP


def report_response(content: bytes, fmt: ReportFormat, name: str) -> Response:
    """``content`` in ``fmt``; a PDF is offered as ``{name}.pdf``."""
    if fmt is ReportFormat.HTML:
        return Response(
            content,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": REPORT_CSP},
        )
    disposition = f'attachment; filename="{name}.pdf"'
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": disposition}
    )
