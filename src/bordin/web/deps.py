"""Request dependencies: the database session, the logged-in user, CSRF and rate limits.

Rate limits count failures only (failed logins; form links that are unknown, expired or
used): a route checks the limit in its transaction (``limit_login``, ``limit_token``) and
wraps its work in :func:`counted_failures`, which counts a failure in the database and
commits the count even though the request's own work is rolled back.

The pages (``bordin.web.pages``) use the same dependencies as the JSON API:
``Depends(get_db)``, ``Depends(current_user)``, ``Depends(require_csrf)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import anyio
from fastapi import Depends, Path, Request
from sqlalchemy import Engine
from sqlalchemy.exc import TimeoutError as DatabaseBusy
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bordin.errors import NotFound
from bordin.settings import Settings
from bordin.storage.actions import authenticate_session
from bordin.storage.exceptions import AlreadySubmitted, AuthenticationFailed
from bordin.storage.models import User
from bordin.storage.rate_limits import RateLimit
from bordin.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    client_address,
    csrf_token_for,
    verify_csrf_token,
)

if TYPE_CHECKING:
    from bordin.web.submissions import SubmissionBatcher

__all__ = [
    "AppState",
    "CurrentUser",
    "Db",
    "MAX_ID",
    "RecordId",
    "TOKEN_FAILURES",
    "app_state",
    "counted_failures",
    "csrf_token",
    "current_user",
    "get_db",
    "limit_login",
    "limit_token",
    "optional_user",
    "require_csrf",
]


DB_WAIT_SECONDS = 120.0


@dataclass
class AppState:
    """What one app instance holds: settings, engine, session factory and rate limits.

    The rate limits keep their counts in the database (shared by every worker process);
    ``warmed_up`` is set once the compiled kernels are ready (the app's lifespan).

    ``db_slots`` is how many requests may use the database at once (the engine's pool
    capacity). Requests beyond it wait in the event loop, holding no worker thread, so a
    request that holds a connection always finds a thread to finish on (a request's
    dependencies and route run on separate threadpool calls).
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    login_limit: RateLimit
    token_limit: RateLimit
    db_slots: int = 1
    warmed_up: bool = False
    #: groups form submissions into shared transactions (set by ``create_app``)
    submissions: SubmissionBatcher | None = None
    _semaphores: dict[int, asyncio.Semaphore] = field(default_factory=dict)

    def db_slot(self) -> asyncio.Semaphore:
        """The semaphore bounding database use, for the running event loop."""
        loop = asyncio.get_running_loop()
        found = self._semaphores.get(id(loop))
        if found is None:
            found = self._semaphores[id(loop)] = asyncio.Semaphore(self.db_slots)
        return found


def app_state(request: Request) -> AppState:
    """The :class:`AppState` of the app serving ``request``."""
    state: AppState = request.app.state.bordin
    return state


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A database session for one request: committed when the route returns normally,
    rolled back when it raises (so a failed request stores nothing).

    At most ``AppState.db_slots`` requests hold a session at once; the others wait here,
    up to ``DB_WAIT_SECONDS`` (then 503).
    """
    state = app_state(request)
    slot = state.db_slot()
    try:
        await asyncio.wait_for(slot.acquire(), timeout=DB_WAIT_SECONDS)
    except TimeoutError:
        raise DatabaseBusy("the database is busy; try again", None, None) from None
    db = state.sessions()
    try:
        yield db
        # commit and close in one worker-thread call (each call is a thread hand-off)
        await run_in_threadpool(_commit_and_close, db)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_rollback_and_close, db)
        raise
    finally:
        slot.release()


def _commit_and_close(db: Session) -> None:
    try:
        db.commit()
    finally:
        db.close()


def _rollback_and_close(db: Session) -> None:
    try:
        db.rollback()
    finally:
        db.close()


Db = Annotated[Session, Depends(get_db, scope="function")]

MAX_ID = 2_147_483_647  # ids are 32-bit on every backend
RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id.")]


def optional_user(request: Request, db: Db) -> User | None:
    """The logged-in user, or ``None`` without a valid session cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return authenticate_session(db, token)
    except AuthenticationFailed:
        return None


def current_user(request: Request, db: Db) -> User:
    """The logged-in user.

    Raises
    ------
    AuthenticationFailed
        No valid session cookie (answered 401).
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationFailed("not logged in")
    return authenticate_session(db, token)


CurrentUser = Annotated[User, Depends(current_user)]


async def require_csrf(request: Request) -> None:
    """Refuse a cookie-authenticated write without the session's CSRF token.

    The token is read from the ``X-CSRF-Token`` header, or from the ``csrf_token`` field
    of a submitted HTML form.

    Raises
    ------
    PermissionDenied
        The token is missing or wrong (answered 403).
    """
    from bordin.errors import PermissionDenied

    session_token = request.cookies.get(SESSION_COOKIE)
    if not session_token:
        raise AuthenticationFailed("not logged in")
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    if not verify_csrf_token(app_state(request).settings, session_token, submitted):
        raise PermissionDenied("missing or wrong CSRF token")


def csrf_token(request: Request) -> str:
    """The CSRF token of the caller's login session, for a hidden ``csrf_token`` form field.

    Empty when the caller is not logged in (a form posted without a session is refused
    anyway).
    """
    session_token = request.cookies.get(SESSION_COOKIE)
    if not session_token:
        return ""
    return csrf_token_for(app_state(request).settings, session_token)


# What counts against the form-link limit: a link that is unknown (or expired) or used.
TOKEN_FAILURES: tuple[type[Exception], ...] = (NotFound, AlreadySubmitted)


def limit_login(request: Request, db: Db) -> None:
    """Refuse a login attempt from an address with too many failed logins (429)."""
    app_state(request).login_limit.check(db, client_address(request))


def limit_token(request: Request, db: Db) -> None:
    """Refuse a form-link request from an address with too many unusable links (429)."""
    app_state(request).token_limit.check(db, client_address(request))


@contextmanager
def counted_failures(
    request: Request, db: Session, limit: RateLimit, failures: tuple[type[Exception], ...]
) -> Iterator[None]:
    """Count a failure of the block against the caller's address, then re-raise it.

    The block's own writes are rolled back; the count is committed, so it holds even
    though the request fails.
    """
    try:
        yield
    except failures:
        db.rollback()
        limit.count(db, client_address(request))
        db.commit()
        raise
