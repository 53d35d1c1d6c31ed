"""Where a login may send the browser next: only to a page this app serves.

``/login?next=...`` is an open redirect unless the target is checked. The check does not
try to recognise bad forms (``//host``, ``/\\host``, ``/%09/host``, ``https:host``,
``/%2F%2Fhost``...), which browsers keep inventing; it accepts only what it can prove
good: after percent-decoding until nothing changes, the target is a path with no scheme,
no host, no control or space characters, no backslash and no dot segments, and it is
matched by one of the app's GET routes. The redirect then uses that path, percent-encoded
again, so what the browser receives is what was checked. Anything else goes to the home
page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

from starlette.routing import BaseRoute, Match

__all__ = ["HOME", "safe_next"]

#: Where a login goes when ``next`` is missing or refused.
HOME = "/caseload"

# The JSON API and FHIR: routed, but not pages a person is sent to after logging in.
_NOT_PAGES = ("/api/", "/fhir/", "/assets/")
_MAX_DECODES = 4  # more layers of encoding than this is not a link anyone typed
_PATH_SAFE = "/-._~!$&'()*+,;=:@"
_QUERY_SAFE = _PATH_SAFE + "?"


def _decoded(value: str) -> str | None:
    for _ in range(_MAX_DECODES):
        once = unquote(value, errors="strict")
        if once == value:
            return value
        value = once
    return None


def _plain(text: str) -> bool:
    """No control, format, separator or space characters, and no backslash."""
    return "\\" not in text and not any(
        unicodedata.category(ch)[0] in {"C", "Z"} or ch.isspace() for ch in text
    )


def _routed(path: str, routes: Iterable[BaseRoute]) -> bool:
    """Whether a GET of ``path`` reaches one of ``routes`` (Starlette's own matching)."""
    if path.startswith(_NOT_PAGES):
        return False
    for route in routes:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return True
    return False


def safe_next(value: str | None, routes: Iterable[BaseRoute]) -> str:
    """The local page to go to after login, or :data:`HOME`.

    Parameters
    ----------
    value
        The ``next`` parameter as received.
    routes
        The app's routes (``request.app.routes``); the target must match a GET route.
    """
    if not value:
        return HOME
    try:
        decoded = _decoded(value)
    except UnicodeDecodeError:
        return HOME
    if decoded is None or not _plain(decoded):
        return HOME
    parts = urlsplit(decoded)
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return HOME
    if any(segment in {".", ".."} for segment in path.split("/")):
        return HOME
    if not _routed(path, routes):
        return HOME
    target = quote(path, safe=_PATH_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_QUERY_SAFE)
    return target
