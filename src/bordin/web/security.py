"""Session cookies, CSRF tokens and the client address used by the rate limits.

* The session cookie (``bordin_session``) holds a random token; the server keeps only its
  SHA-256 (``storage.actions.auth``). It is HttpOnly, SameSite=Lax and Secure when the
  service is configured for HTTPS.
* CSRF: every write authenticated by the cookie must carry a token, in the
  ``X-CSRF-Token`` header (JSON API) or the ``csrf_token`` form field (HTML forms). The
  token is an HMAC of the session token under the server secret, so it needs no storage
  and changes at every login; it is also sent in the readable ``bordin_csrf`` cookie and
  in the login response.
* Rate limits (:mod:`bordin.storage.rate_limits`) count failed logins and unusable form
  links per client address in the database, so every worker process shares them.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from bordin.settings import Settings
from bordin.storage.exceptions import RateLimited

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "RateLimited",
    "account_key",
    "clear_session_cookies",
    "client_address",
    "csrf_token_for",
    "set_session_cookies",
    "verify_csrf_token",
]

SESSION_COOKIE = "bordin_session"
CSRF_COOKIE = "bordin_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


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


def account_key(username: str) -> str:
    """The key failed logins for one account are counted under (beside the address's):
    a digest of the normalised username, so the table holds no usernames."""
    digest = hashlib.sha256(username.strip().lower().encode("utf-8")).hexdigest()[:40]
    return f"account:{digest}"


def client_address(request: Request) -> str:
    """The peer address used as the rate-limit key."""
    return request.client.host if request.client else "unknown"
