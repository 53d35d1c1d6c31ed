"""The FastAPI app factory: JSON API under ``/api/v1`` and the server-rendered pages."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bordin import __version__
from bordin.settings import Settings, get_settings
from bordin.storage import make_engine, make_session_factory
from bordin.storage.engine import pool_capacity
from bordin.storage.rate_limits import RateLimit
from bordin.web._warmup import warm_up_engines
from bordin.web.deps import AppState
from bordin.web.errors import install_error_handlers
from bordin.web.kiosk_guard import KioskConfinement
from bordin.web.submissions import SubmissionBatcher

__all__ = ["API_PREFIX", "create_app", "refresh_due_norms_now"]

_log = logging.getLogger("bordin.norms")

API_PREFIX = "/api/v1"

#: FastAPI's native OpenTelemetry (on by default since FastAPI 0.162; it exports once a
#: provider is configured, or from environment variables with auto-configuration), all off.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}

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


class SecurityHeaders:
    """Add the security headers to every HTTP response (unless a route set its own).

    A plain ASGI middleware: it only edits the response's start message, so it costs
    next to nothing per request (Starlette's ``BaseHTTPMiddleware`` runs the rest of the
    app in a separate task and costed several per cent of a form submission).
    """

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = dict(_SECURITY_HEADERS)
        if https:
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
        login_limit=RateLimit(
            "login", settings.login_rate_limit, backoff_max=settings.login_backoff_max_seconds
        ),
        token_limit=RateLimit("token", settings.token_rate_limit),
        db_slots=pool_capacity(engine),
    )
    state.submissions = SubmissionBatcher(state.sessions, state.db_slot, state.token_limit)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Compile the kernels before the first request, off the event loop.
        await anyio.to_thread.run_sync(warm_up_engines)
        state.warmed_up = True
        refresher = None
        if settings.norms_check_seconds > 0:
            refresher = asyncio.create_task(_refresh_norms_periodically(state))
        risk_checker = None  # issue 17: escalation of unacknowledged risk answers
        if settings.risk_check_seconds > 0:
            from bordin.web.risk_checks import check_risks_periodically

            risk_checker = asyncio.create_task(check_risks_periodically(state))
        # --- delivery (issue 17): the outbox sender in-process unless turned off -------
        sender = None
        if settings.outbox_in_process:
            from bordin.mail import start_sender_thread

            sender = start_sender_thread(settings, state.sessions)
        try:
            yield
        finally:
            if sender is not None:
                thread, stop = sender
                stop.set()
                await anyio.to_thread.run_sync(thread.join, settings.smtp_timeout + 5)
            for task in (refresher, risk_checker):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
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
        # FastAPI's own OpenTelemetry spans, metrics and logs (request paths carry form
        # tokens; exporters can be added from the environment) are off: clinical data and
        # anything about them never leave the machine.
        telemetry=NO_TELEMETRY,
    )
    app.state.bordin = state
    install_error_handlers(app)

    app.add_middleware(KioskConfinement)  # issue 17: a kiosk device reaches the kiosk only
    # --- request guards (issue 21): write origin and body size, before any parsing ---
    from bordin.web.request_guards import RequestGuards
    from bordin.web.security import SESSION_COOKIE

    app.add_middleware(
        RequestGuards,
        base_url=settings.base_url,
        session_cookie=SESSION_COOKIE,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    # --- end request guards ---
    app.add_middleware(SecurityHeaders, https=settings.https)  # outside: on refusals too

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: answers without touching the database."""
        return {"status": "ok", "version": __version__}

    from bordin.web.api import api_router

    app.include_router(api_router(), prefix=API_PREFIX)

    from bordin.web.fhir import FHIR_PREFIX
    from bordin.web.fhir import router as fhir_router

    app.include_router(fhir_router, prefix=FHIR_PREFIX)

    if importlib.util.find_spec("bordin.web.pages") is not None:
        from bordin.web.pages import register_pages

        register_pages(app)
    return app


def refresh_due_norms_now(state: AppState) -> int:
    """One scheduled check: refresh every clinic whose norms are due; how many were."""
    from bordin.storage import actions, transaction

    settings = state.settings
    with transaction(state.sessions) as db:
        done = actions.refresh_due_norms(
            db,
            every_sessions=settings.norms_refresh_sessions,
            max_age=timedelta(hours=settings.norms_refresh_hours),
        )
    for snapshot in done:
        _log.info(
            "norms refreshed: clinic %s, snapshot %s (%s)",
            snapshot.clinic_id,
            snapshot.id,
            snapshot.reason,
        )
    return len(done)


async def _refresh_norms_periodically(state: AppState) -> None:
    """The scheduled norms refresh, off the event loop, every ``norms_check_seconds``.

    With several worker processes each runs the check; a clinic being refreshed by one is
    skipped by the others (row lock, SKIP LOCKED). A failed check is logged and retried at
    the next interval: it never stops the service.
    """
    while True:
        await asyncio.sleep(state.settings.norms_check_seconds)
        try:
            await run_in_threadpool(refresh_due_norms_now, state)
        except Exception:
            _log.exception("scheduled norms refresh failed; retrying at the next check")
