"""Client-facing pages never answer with raw JSON: every error under ``/f/`` is an HTML page.

The form's routes render their own messages for the expected cases (unknown, expired,
replaced or used links, rate limits, rejected answers). This middleware is the net under
them: any other error on a ``/f/...`` path (an unknown sub-path, a wrong method, a database
busy, a bug) that would reach the client as the API's JSON error body or as a bare
traceback page becomes a short HTML page in plain words. A request that asks for the JSON
twin (``?format=json``) gets JSON as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bordin.web.i18n import N_, negotiate_language, translations
from bordin.web.pages._render import render_page, wants_json

__all__ = ["CLIENT_PREFIX", "client_error_page", "install_client_error_pages"]

#: Paths under this prefix are seen by clients (no login): the one-time form links.
CLIENT_PREFIX = "/f/"

_log = logging.getLogger(__name__)

# headers of the replaced response that the HTML page keeps
_KEPT_HEADERS = frozenset(
    {
        "content-security-policy",
        "referrer-policy",
        "retry-after",
        "strict-transport-security",
        "x-content-type-options",
        "x-frame-options",
    }
)

# status -> (state, heading, message, what to do); the texts are translated when shown
_PAGES: dict[int, tuple[str, str, str, str]] = {
    404: (
        "invalid",
        N_("This link does not work"),
        N_("We could not find a form for this link."),
        N_("Check that you copied the whole link, or ask your therapist for a new one."),
    ),
    405: (
        "invalid",
        N_("This link does not work"),
        N_("This page cannot be opened this way."),
        N_("Open the link your therapist gave you again."),
    ),
    409: (
        "used",
        N_("This form has already been sent"),
        N_("Your answers were received. Each link can be used once."),
        N_(
            "There is nothing more to do. If you think something went wrong, "
            "tell your therapist at your next session."
        ),
    ),
    410: (
        "expired",
        N_("This link no longer works"),
        N_("This link has expired or was replaced by a newer one."),
        N_("Please use the newest link you received, or ask your therapist for a new one."),
    ),
    422: (
        "rejected",
        N_("Your answers could not be sent"),
        N_("Something in the form could not be read."),
        N_("Please open the link again, or ask your therapist for help."),
    ),
    429: (
        "rate_limited",
        N_("Please wait a moment"),
        N_("There were too many requests from this device."),
        N_("Try again in a minute."),
    ),
    503: (
        "unavailable",
        N_("Please try again in a moment"),
        N_("The service is busy right now. Nothing you sent was lost or stored twice."),
        N_("Wait a moment and send again, or open the link again."),
    ),
}

_SERVER_ERROR = (
    "error",
    N_("Something went wrong on our side"),
    N_("We could not show this page. It is not your fault."),
    N_("Please try again later. If it keeps happening, tell your therapist."),
)


def client_error_page(request: Request, status_code: int) -> Response:
    """The HTML page a client sees for an error with ``status_code``."""
    state, heading, message, todo = _PAGES.get(status_code, _SERVER_ERROR)
    lang = negotiate_language(request.headers.get("accept-language"))
    _ = translations(lang).gettext
    heading, message, todo = _(heading), _(message), _(todo)
    context = {
        "title": heading,
        "lang": lang,
        "user": None,
        "nav": [],
        "state": state,
        "heading": heading,
        "message": message,
        "details": [todo],
        "tone": "danger" if status_code >= 500 else "warning",
        "unsent": [],
    }
    headers = {"X-Robots-Tag": "noindex, nofollow"}
    retry = {429: "60", 503: "5"}.get(status_code)
    if retry:
        headers["Retry-After"] = retry
    return render_page(
        request, "form_message.html", context, status_code=status_code, headers=headers
    )


async def _client_errors(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    if wants_json(request):
        return await call_next(request)
    try:
        response = await call_next(request)
    except Exception:
        _log.exception("error on a client form page")
        return client_error_page(request, 500)
    kind = response.headers.get("content-type", "")
    if response.status_code >= 400 and not kind.startswith("text/html"):
        page = client_error_page(request, response.status_code)
        for name, value in response.headers.items():  # the app's security headers
            if name.lower() in _KEPT_HEADERS:
                page.headers.setdefault(name, value)
        return page
    return response


class _ClientErrorPages:
    """Routes ``/f/...`` requests through the error-page wrapper and every other request
    straight on: Starlette's ``BaseHTTPMiddleware`` (which the wrapper needs, to read the
    response) costs a task and a stream per request, so the API and the staff pages skip it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pages = BaseHTTPMiddleware(app, dispatch=_client_errors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(CLIENT_PREFIX):
            await self.pages(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def install_client_error_pages(app: FastAPI) -> None:
    """Turn JSON and unhandled errors on client-facing paths into HTML pages."""
    app.add_middleware(_ClientErrorPages)
