"""Database sessions and the logged-in user for the page routes.

Built on the web service's dependencies (:mod:`bordin.web.deps`): the same session
factory, the same session cookie. Pages differ from the JSON API only in how they answer a
missing login (a redirect to the login page rather than a 401).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy.orm import Session

from bordin.storage import transaction
from bordin.storage.actions import authenticate_session
from bordin.storage.exceptions import AuthenticationFailed
from bordin.storage.models import User
from bordin.web.deps import app_state
from bordin.web.security import SESSION_COOKIE, csrf_token_for

__all__ = ["csrf_for", "open_transaction", "page_user"]


@contextmanager
def open_transaction(request: Request) -> Iterator[Session]:
    """One unit of work: commit when the block succeeds, roll back when it raises."""
    with transaction(app_state(request).sessions) as db:
        yield db


def page_user(request: Request, db: Session) -> User | None:
    """The logged-in user, or ``None`` (the page then redirects to the login page)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate_session(db, token)
    except AuthenticationFailed:
        return None


def csrf_for(request: Request) -> str:
    """The CSRF token of the current login session (for hidden form fields)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    return csrf_token_for(app_state(request).settings, token)
