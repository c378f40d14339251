"""The web app's routers, one module per resource; ``ROUTERS`` is what the app includes.

Pages (HTML) and the JSON API (``/api/v1``) of one resource live in separate modules
(``patients`` and ``api_patients``); every route declares its :mod:`~psotrack.web.rules` rule.
"""

from fastapi import APIRouter

from psotrack.web.routes import (
    admin,
    alerts,
    api_auth,
    api_score,
    auth,
    cohort,
    own_record,
    patient_page,
    patients,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    patients.router,
    patient_page.router,
    api_auth.router,
    api_score.router,
    alerts.router,
    cohort.router,
    admin.router,
    own_record.router,
)
