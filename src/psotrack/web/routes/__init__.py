"""The web app's routers, one module per resource; ``ROUTERS`` is what the app includes.

Pages (HTML) and the JSON API (``/api/v1``) of one resource live in separate modules
(``patients`` and ``api_patients``); every route declares its :mod:`~psotrack.web.rules` rule.
"""

from fastapi import APIRouter

from psotrack.web.routes import (
    api_auth,
    api_score,
    assessment_entry,
    auth,
    patients,
    record_entry,
    records,
    safety_entry,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    patients.router,
    api_auth.router,
    api_score.router,
    assessment_entry.router,
    safety_entry.router,
    record_entry.router,
    records.router,
)
