"""Logging in and out from HTML forms (the session cookie of the web service)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bordin.errors import PermissionDenied
from bordin.storage import transaction
from bordin.storage.actions import log_in, log_out
from bordin.storage.exceptions import AuthenticationFailed, TwoFactorRequired
from bordin.web.deps import AppState, app_state
from bordin.web.pages._deps import open_transaction, page_user
from bordin.web.pages._redirects import HOME, safe_next
from bordin.web.pages._render import render_page
from bordin.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    RateLimited,
    account_key,
    clear_session_cookies,
    client_address,
    set_session_cookies,
    verify_csrf_token,
)

__all__ = ["router", "safe_next"]

router = APIRouter()


def _next_page(request: Request, value: str | None) -> str:
    """The page to go on to after login: a GET route of this app, or the home page."""
    return safe_next(value, request.app.routes)


def _login_page(
    request: Request, *, next_path: str, error: str | None, username: str, status_code: int
) -> Response:
    context: dict[str, object] = {
        "title": "Log in" if error is None else "Error: log in",
        "lang": "en",
        "user": None,
        "nav": [],
        "next": next_path,
        "error": error,
        "username": username,
    }
    return render_page(request, "login.html", context, status_code=status_code)


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    """The home page is the caseload (or the login page)."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:
    """The login form (a signed-in user goes straight on)."""
    with open_transaction(request) as db:
        user = page_user(request, db)
    if user is not None:
        return RedirectResponse(_next_page(request, next), status_code=303)
    return _login_page(
        request, next_path=_next_page(request, next), error=None, username="", status_code=200
    )


def _log_in(
    state: AppState, address: str, username: str, password: str, code: str | None = None
) -> str | None:
    """The new session's token, or ``None`` for a failed login (audited, and counted
    against the address's login limit).

    Raises
    ------
    RateLimited
        The address, or the account, has too many failed logins in the current window.
    TwoFactorRequired
        The password was right; the account's two-factor code is missing (counted too).
    """
    account = account_key(username)
    with transaction(state.sessions) as db:
        state.login_limit.check(db, address)
        state.login_limit.check(db, account)
        try:
            _user, token = log_in(
                db,
                username=username,
                password=password,
                lifetime=timedelta(hours=state.settings.session_hours),
                totp_code=code,
            )
        except AuthenticationFailed as exc:
            state.login_limit.count(db, address, username=username)
            state.login_limit.count(db, account, username=username, kind="account")
            missing_code = isinstance(exc, TwoFactorRequired)
        else:
            return token
    if missing_code:  # the failed attempt's audit row and count are committed
        raise TwoFactorRequired("enter the code")
    return None


@router.post("/login", include_in_schema=False)
async def login_submit(request: Request) -> Response:
    """Check the username and password; set the session cookie and go on."""
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    code = str(form.get("code") or "").strip() or None
    next_path = _next_page(request, str(form.get("next") or ""))
    state = app_state(request)
    address = client_address(request)
    try:
        token = await run_in_threadpool(_log_in, state, address, username, password, code)
    except TwoFactorRequired:
        return _login_page(
            request,
            next_path=next_path,
            error="Enter the six-digit code from your authenticator app as well.",
            username=username,
            status_code=401,
        )
    except RateLimited as exc:
        return _login_page(
            request,
            next_path=next_path,
            error=(
                "Logging in is paused after too many failed attempts from here, so this "
                f"password was not checked. Try again in {exc.retry_after} seconds: a "
                "correct password works then."
            ),
            username=username,
            status_code=429,
        )
    if token is None:
        return _login_page(
            request,
            next_path=next_path,
            error="Wrong username or password.",
            username=username,
            status_code=401,
        )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookies(response, state.settings, token)
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    """End the login session (CSRF-checked) and go back to the login page."""
    state = app_state(request)
    form = await request.form()
    token = request.cookies.get(SESSION_COOKIE)
    submitted = form.get(CSRF_FIELD)
    response = RedirectResponse("/login", status_code=303)
    if not token:
        return response
    if not verify_csrf_token(
        state.settings, token, submitted if isinstance(submitted, str) else None
    ):
        raise PermissionDenied("missing or wrong CSRF token")
    await run_in_threadpool(_log_out, request, token)
    clear_session_cookies(response, state.settings)
    return response


def _log_out(request: Request, token: str) -> None:
    with open_transaction(request) as db:
        user = page_user(request, db)
        if user is not None:
            log_out(db, actor=user, token=token)
