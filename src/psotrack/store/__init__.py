"""The record store: SQLAlchemy models, engines and sessions, migrations, and the audit log.

Only this package talks to the database; services call it inside their own transactions.
"""

from psotrack.store.engine import make_engine, make_session_factory
from psotrack.store.migrate import current_revision, downgrade, upgrade

__all__ = ["current_revision", "downgrade", "make_engine", "make_session_factory", "upgrade"]
