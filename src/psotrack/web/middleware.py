"""ASGI middleware: security headers on every answer, a bound on request bodies, and an access
log that never holds a patient identifier.

- **Headers**: a Content-Security-Policy without inline script or style and with
  ``frame-ancestors 'none'``; ``X-Content-Type-Options: nosniff``; ``Referrer-Policy``;
  ``Cache-Control: no-store`` on everything but the packaged static files (pages hold patient
  data); HSTS when served over HTTPS. A route that sets its own policy (an SVG chart) keeps it.
- **Body bound**: a body larger than ``limit`` bytes is refused with 413 before it is read
  (``Content-Length``) or as soon as it passes the limit (chunked uploads).
- **Access log** (logger ``psotrack.web``): method, path, status and milliseconds; never the
  query string (a search holds names and MRNs) or a body.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: A served SVG chart's own policy: its styles are inline, nothing else loads.
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"
#: A served HTML report's own policy: its stylesheet is inline, its images ``data:`` URIs.
REPORT_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
log = logging.getLogger("psotrack.web")


class BodyTooLarge(Exception):
    pass


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        https = scope.get("scheme") == "https"
        static = str(scope.get("path", "")).startswith("/static/")
        length = _content_length(scope)
        if length is not None and length > self.limit:
            await _too_large(send, self.limit)
            _log(scope, 413, started)
            return
        seen = 0
        response_started = False

        async def bounded_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers.extend(h for h in HEADERS if h[0] not in names)
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except BodyTooLarge:
            if not response_started:
                await _too_large(send, self.limit)
            status = 413
        _log(scope, status, started)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1")
            return int(text) if text.isascii() and text.isdigit() else None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail": "the request body is larger than {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"content-security-policy", CSP.encode()),
                *HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _log(scope: Scope, status: int, started: float) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1f ms", scope.get("method"), scope.get("path"), status, elapsed)
