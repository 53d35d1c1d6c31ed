"""The FastAPI app factory: JSON API under ``/api/v1`` and the server-rendered pages."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI, Request, Response

from bordin import __version__
from bordin.settings import Settings, get_settings
from bordin.storage import make_engine, make_session_factory
from bordin.storage.engine import pool_capacity
from bordin.storage.rate_limits import RateLimit
from bordin.web._warmup import warm_up_engines
from bordin.web.deps import AppState
from bordin.web.errors import install_error_handlers

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

_SECURITY_HEADERS = {
    # Nothing is loaded from outside the server: no CDN, no external fonts or scripts.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application for ``settings`` (read from the environment when omitted).

    The database must be migrated (``bordin db upgrade``); ``bordin serve`` does it. At
    start-up (the lifespan, before the first request) the scoring and feedback engines are
    warmed so that the first submission does not compile kernels. The app holds its
    engine, session factory and rate limits in ``app.state.bordin``
    (:class:`~bordin.web.deps.AppState`); nothing is global.
    """
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        login_limit=RateLimit("login", settings.login_rate_limit),
        token_limit=RateLimit("token", settings.token_rate_limit),
        db_slots=pool_capacity(engine),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Compile the kernels before the first request, off the event loop.
        await anyio.to_thread.run_sync(warm_up_engines)
        state.warmed_up = True
        yield
        engine.dispose()

    app = FastAPI(
        title="Bordin",
        version=__version__,
        summary="Alliance-informed measurement-based care: forms, feedback, exports.",
        description=(
            "Bordin supports clinical judgement; it never diagnoses. Cookie-authenticated "
            "writes need the X-CSRF-Token header returned by /api/v1/auth/login."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        # No Swagger/ReDoc pages: they load their scripts from a CDN, and nothing here may
        # be loaded from outside the server. The OpenAPI document is served as JSON.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.bordin = state
    install_error_handlers(app)

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok", "version": __version__}

    from bordin.web.api import api_router

    app.include_router(api_router(), prefix=API_PREFIX)

    if importlib.util.find_spec("bordin.web.pages") is not None:
        from bordin.web.pages import register_pages

        register_pages(app)
    return app
