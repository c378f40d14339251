"""The web app's routers, one module per resource; ``ROUTERS`` is what the app includes.

Pages (HTML) and the JSON API (``/api/v1``) of one resource live in separate modules
(``patients`` and ``api_patients``); every route declares its :mod:`~psotrack.web.rules` rule.
"""

from psotrack.web.routes import (
    admin,
    alerts,
    api_administrations,
    api_adverse_events,
    api_alerts,
    api_assessments,
    api_auth,
    api_endpoints,
    api_labs,
    api_patients,
    api_photos,
    api_score,
    api_visits,
    assessment_entry,
    auth,
    cohort,
    own_record,
    patient_page,
    patients,
    record_entry,
    records,
    safety_entry,
)
from psotrack.web.routing import Router

ROUTERS: tuple[Router, ...] = (
    auth.router,
    patients.router,
    patient_page.router,
    api_auth.router,
    api_score.router,
    alerts.router,
    cohort.router,
    admin.router,
    own_record.router,
    api_patients.router,
    api_visits.router,
    api_assessments.router,
    api_administrations.router,
    api_labs.router,
    api_adverse_events.router,
    api_photos.router,
    api_alerts.router,
    api_endpoints.router,
    assessment_entry.router,
    safety_entry.router,
    record_entry.router,
    records.router,
)
