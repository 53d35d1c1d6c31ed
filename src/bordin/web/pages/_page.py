"""What every signed-in page shares: the user, the navigation, the CSRF field, errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from bordin.errors import PermissionDenied
from bordin.storage.models import User
from bordin.web.deps import app_state
from bordin.web.pages._deps import csrf_for
from bordin.web.pages._render import render_page
from bordin.web.security import CSRF_FIELD, SESSION_COOKIE, verify_csrf_token

__all__ = [
    "NAVIGATION",
    "base_context",
    "check_form_csrf",
    "error_page",
    "html_extras",
    "login_redirect",
    "user_summary",
]

# (path, label, roles that see it); the order is the menu's order
NAVIGATION: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/caseload", "Caseload", ("therapist", "supervisor", "admin")),
    ("/risk", "Risk answers", ("therapist", "supervisor", "admin")),
    ("/team", "Team", ("supervisor", "admin")),
    ("/clinic", "Clinic", ("supervisor", "admin")),
    ("/admin", "Admin", ("admin",)),
)


def user_summary(user: User) -> dict[str, Any]:
    """The signed-in user as shown on pages (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name or user.username,
        "role": user.role,
        "code": user.code,
    }


def base_context(user: User, *, title: str, current: str) -> dict[str, Any]:
    """Title, user and navigation of a signed-in page."""
    nav = [
        {"href": path, "label": label, "current": path == current}
        for path, label, roles in NAVIGATION
        if user.role in roles
    ]
    return {
        "title": title,
        "lang": "en",
        "user": user_summary(user),
        "nav": nav,
        "timezone": user.clinic.timezone,
    }


def html_extras(request: Request, **extra: Any) -> dict[str, Any]:
    """HTML-only values: the CSRF hidden field for every form on the page."""
    token = csrf_for(request)
    field = Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">')
    return {"csrf_field": field, "csrf_token": token, **extra}


def check_form_csrf(request: Request, form: Mapping[str, Any]) -> None:
    """Refuse an HTML form POST without the login session's CSRF token.

    Raises
    ------
    PermissionDenied
        The hidden ``csrf_token`` field is missing or wrong.
    """
    token = request.cookies.get(SESSION_COOKIE)
    submitted = form.get(CSRF_FIELD)
    if not token or not verify_csrf_token(
        app_state(request).settings, token, submitted if isinstance(submitted, str) else None
    ):
        raise PermissionDenied("the form is out of date (missing or wrong CSRF token); reload it")


def login_redirect(request: Request) -> Response:
    """Send a visitor without a valid login to the login page, then back here."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="/")


def error_page(
    request: Request,
    user: User | None,
    *,
    status_code: int,
    heading: str,
    message: str,
) -> Response:
    """A plain error page (not found, not allowed) in the site's layout."""
    if user is not None:
        context = base_context(user, title=heading, current="")
        extras = html_extras(request)
    else:
        context = {"title": heading, "lang": "en", "user": None, "nav": []}
        extras = {}
    context.update({"heading": heading, "message": message, "status": status_code})
    return render_page(request, "error.html", context, status_code=status_code, html=extras)
