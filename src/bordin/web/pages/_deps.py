"""Database sessions and the logged-in user for the page routes.

Built on the web service's dependencies (:mod:`bordin.web.deps`): the same session
factory, the same session cookie. Pages differ from the JSON API only in how they answer a
missing login (a redirect to the login page rather than a 401).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Path, Request
from sqlalchemy.orm import Session

from bordin.errors import NotFound
from bordin.storage import transaction
from bordin.storage.actions import authenticate_session
from bordin.storage.exceptions import AuthenticationFailed
from bordin.storage.models import User
from bordin.web.deps import MAX_ID, app_state
from bordin.web.security import SESSION_COOKIE, csrf_token_for

__all__ = ["PageId", "csrf_for", "form_id", "open_transaction", "optional_form_id", "page_user"]

#: A record id in a page's path. Out of range (``/clients/99999999999999999999``) it names
#: no record: the app answers 404 (``bordin.web.errors``), never a database overflow.
PageId = Annotated[int, Path(ge=1, le=MAX_ID)]


def form_id(raw: object, *, what: str) -> int:
    """A record id sent in a form field.

    Raises
    ------
    NotFound
        Not a decimal number from 1 to ``MAX_ID``: no record has that id.
    """
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID:
        raise NotFound(f"{what} {text!r} not found")
    return int(text)


def optional_form_id(raw: object, *, what: str) -> int | None:
    """:func:`form_id`, or ``None`` for an empty field (such as "no team")."""
    if raw is None or not str(raw).strip():
        return None
    return form_id(raw, what=what)


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
