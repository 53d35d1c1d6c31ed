"""Storage adapter: SQLAlchemy 2 models, Alembic migrations, queries (reads) and actions
(writes with audit). See ``docs/web-service.md``.

Submodules: :mod:`~bordin.storage.models`, :mod:`~bordin.storage.queries`,
:mod:`~bordin.storage.actions`, :mod:`~bordin.storage.access` (authorisation, in one place).
"""

from bordin.storage.engine import make_engine, make_session_factory, normalise_url, transaction
from bordin.storage.migrate import current_revision, head_revision, upgrade_database

__all__ = [
    "current_revision",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "normalise_url",
    "transaction",
    "upgrade_database",
]
