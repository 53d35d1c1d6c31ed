"""Web adapter: the FastAPI app factory, JSON API (``/api/v1``), auth, CSRF and errors.

The HTML pages live in :mod:`bordin.web.pages` and are registered by :func:`create_app`.
"""

from bordin.web.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
