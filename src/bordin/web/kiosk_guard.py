"""Confinement of a kiosk device: a request carrying the kiosk cookie reaches the kiosk's
own pages and the static assets, nothing else.

A device in kiosk mode (:mod:`bordin.storage.actions.kiosk`) holds the ``bordin_kiosk``
cookie until a staff member signs in on it again. Every other address is refused while the
cookie is there, whatever else the request carries: a GET or HEAD is sent back to the
kiosk (303), anything else is answered 403. The staff session cookie is also removed from
such requests before any route sees them, so a kiosk device never acts with a staff
member's rights.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from bordin.web.security import CSRF_COOKIE, SESSION_COOKIE

__all__ = ["KIOSK_COOKIE", "KIOSK_PATHS", "KioskConfinement", "kiosk_allows"]

KIOSK_COOKIE = "bordin_kiosk"
#: the addresses a kiosk device may reach (exact paths, and the assets' prefix)
KIOSK_PATHS = frozenset({"/kiosk", "/kiosk/thanks", "/kiosk/unlock"})
_ASSETS = "/assets/"


def kiosk_allows(path: str) -> bool:
    """Whether a device in kiosk mode may request ``path``."""
    return path in KIOSK_PATHS or path.startswith(_ASSETS)


def _cookie_names(raw: str) -> set[str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed header: fall back to a plain split
        return {part.split("=", 1)[0].strip() for part in raw.split(";")}
    return set(jar.keys())


class KioskConfinement:
    """ASGI middleware: confine requests that carry the kiosk cookie (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
        if KIOSK_COOKIE not in raw or KIOSK_COOKIE not in _cookie_names(raw):
            await self.app(scope, receive, send)
            return
        if not kiosk_allows(scope["path"]):
            await _refuse(scope, send)
            return
        await self.app(_without_staff_cookies(scope, raw), receive, send)


def _without_staff_cookies(scope: Scope, raw: str) -> Scope:
    kept = [
        part.strip()
        for part in raw.split(";")
        if part.strip() and part.split("=", 1)[0].strip() not in (SESSION_COOKIE, CSRF_COOKIE)
    ]
    headers = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
    headers.append((b"cookie", "; ".join(kept).encode("latin-1")))
    return {**scope, "headers": headers}


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["method"] in ("GET", "HEAD"):
        status, body = 303, b""
        headers = [(b"location", b"/kiosk"), (b"content-length", b"0")]
    else:
        status = 403
        body = json.dumps(
            {"detail": "this device is in kiosk mode: only the kiosk's form can be used"}
        ).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
