"""Defence in depth for writes: where a cookie-authenticated write comes from, and how big
a request body may be (issue 21, item 6).

Both checks run before routing and before any body is parsed, as one plain ASGI
middleware.

**Origin.** Every write with the session cookie already needs the CSRF token
(``bordin.web.deps.require_csrf``, the pages' hidden field). Browsers also say where a
request comes from; a write that carries the session cookie, or a login, is refused (403)
when

* ``Sec-Fetch-Site`` is present and is neither ``same-origin`` nor ``none`` (a bookmark or
  typed address), or
* without ``Sec-Fetch-Site``, ``Origin`` is present, is not ``null`` (which browsers send
  for same-origin forms under this app's ``Referrer-Policy: no-referrer``) and is neither
  the configured ``base_url``'s origin nor the host the request was sent to.

Clients that send neither header (scripts, the command line, older browsers) are left to
the CSRF token, as before.

**Body size.** A body larger than ``max_body_bytes`` (``max_upload_bytes`` for
``multipart/form-data``) is refused with 413: at once from its ``Content-Length``, or, for
a body sent in chunks, as soon as the bytes received pass the limit, so a 10 MB JSON body
is never read into memory or parsed.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestGuards"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOGIN_PATHS = frozenset({"/login", "/api/v1/auth/login"})
_SAME_SITE_VALUES = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _TooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="the request body is too large")


class RequestGuards:
    """The origin and body-size checks (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str,
        session_cookie: str,
        max_body_bytes: int,
        max_upload_bytes: int,
    ) -> None:
        self.app = app
        self.base_origin = _origin_of(base_url)
        self.session_cookie = session_cookie
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._foreign_write(scope, headers)
        if refusal is not None:
            await _respond(send, 403, "forbidden", refusal)
            return
        limit = self.max_body_bytes
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            limit = self.max_upload_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _respond(send, 413, "too_large", f"the request body is over {limit} bytes")
            return
        await self._with_limit(scope, receive, send, limit)

    def _foreign_write(self, scope: Scope, headers: Headers) -> str | None:
        """Why this write is refused as coming from another site, or ``None``."""
        cookies = headers.get("cookie", "")
        with_session = f"{self.session_cookie}=" in cookies
        if not with_session and scope["path"] not in _LOGIN_PATHS:
            return None
        site = headers.get("sec-fetch-site")
        if site is not None:  # the browser's own verdict, when it gives one
            if site.lower() not in _SAME_SITE_VALUES:
                return f"a write from another site is refused (Sec-Fetch-Site: {site})"
            return None
        origin = headers.get("origin")
        # "null" says nothing: browsers send it for their own pages under
        # Referrer-Policy: no-referrer, which this app sets.
        if origin is not None and origin != "null":
            own = {self.base_origin}
            host = headers.get("host")
            if host:
                own |= {f"http://{host}".lower(), f"https://{host}".lower()}
            if origin.lower() not in own:
                return f"a write from another origin is refused (Origin: {origin})"
        return None

    async def _with_limit(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if started:
                raise
            await _respond(send, 413, "too_large", f"the request body is over {limit} bytes")


async def _respond(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
