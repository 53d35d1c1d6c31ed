"""Session cookies, CSRF tokens and the in-process rate limiter.

* The session cookie (``bordin_session``) holds a random token; the server keeps only its
  SHA-256 (``storage.actions.auth``). It is HttpOnly, SameSite=Lax and Secure when the
  service is configured for HTTPS.
* CSRF: every write authenticated by the cookie must carry a token, in the
  ``X-CSRF-Token`` header (JSON API) or the ``csrf_token`` form field (HTML forms). The
  token is an HMAC of the session token under the server secret, so it needs no storage
  and changes at every login; it is also sent in the readable ``bordin_csrf`` cookie and
  in the login response.
* Rate limits are a sliding window per client address, kept in process memory: with
  several worker processes, each counts separately (document the effective limit as the
  per-process limit times the number of workers).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from bordin.errors import BordinError
from bordin.settings import Settings

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "RateLimited",
    "RateLimiter",
    "clear_session_cookies",
    "csrf_token_for",
    "set_session_cookies",
    "verify_csrf_token",
]

SESSION_COOKIE = "bordin_session"
CSRF_COOKIE = "bordin_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class RateLimited(BordinError):
    """Too many requests from one address; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def csrf_token_for(settings: Settings, session_token: str) -> str:
    """The CSRF token that goes with a login session."""
    key = settings.secret_key.encode("utf-8")
    return hmac.new(key, b"csrf:" + session_token.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_csrf_token(settings: Settings, session_token: str, submitted: str | None) -> bool:
    """Whether ``submitted`` is the CSRF token of ``session_token`` (constant time)."""
    if not submitted:
        return False
    return hmac.compare_digest(csrf_token_for(settings, session_token), submitted)


def set_session_cookies(response: Response, settings: Settings, session_token: str) -> str:
    """Put the session and CSRF cookies on ``response``; return the CSRF token."""
    max_age = int(settings.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        session_token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.https,
        path="/",
    )
    csrf = csrf_token_for(settings, session_token)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        httponly=False,
        samesite="lax",
        secure=settings.https,
        path="/",
    )
    return csrf


def clear_session_cookies(response: Response, settings: Settings) -> None:
    """Remove the session and CSRF cookies."""
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="lax", secure=settings.https)


class RateLimiter:
    """A sliding-window limit of ``limit`` events per ``window`` seconds per key.

    Thread-safe within one process; state is not shared between processes.
    """

    def __init__(
        self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for ``key``.

        Raises
        ------
        RateLimited
            ``key`` already had ``limit`` events in the window.
        """
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                retry = int(events[0] + self.window - now) + 1
                raise RateLimited("too many requests; try again shortly", retry_after=retry)
            events.append(now)
            if len(self._events) > 100_000:  # bound memory under a flood of addresses
                stale = [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]
                for k in stale:
                    del self._events[k]


def client_address(request: Request) -> str:
    """The peer address used as the rate-limit key."""
    return request.client.host if request.client else "unknown"
