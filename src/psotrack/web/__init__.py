"""The clinic web application and its JSON API (``/api/v1``): thin over :mod:`psotrack.services`.

Build it with :func:`create_app`; ``psotrack serve`` runs it.
"""

from psotrack.web.app import create_app

__all__ = ["create_app"]
