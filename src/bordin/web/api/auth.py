"""``/api/v1/auth``: log in and out with a session cookie."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request, Response

from bordin.storage.actions import log_in, log_out
from bordin.storage.exceptions import AuthenticationFailed
from bordin.web.deps import CurrentUser, Db, app_state, limit_login, require_csrf
from bordin.web.schemas import (
    LoginIn,
    LoginOut,
    TwoFactorCodeIn,
    TwoFactorStartOut,
    UserOut,
)
from bordin.web.security import (
    SESSION_COOKIE,
    account_key,
    clear_session_cookies,
    client_address,
    set_session_cookies,
)

__all__ = ["login_user", "logout_user", "router"]

router = APIRouter(prefix="/auth", tags=["auth"])


def login_user(
    request: Request,
    response: Response,
    db: Db,
    username: str,
    password: str,
    totp_code: str | None = None,
) -> LoginOut:
    """Check credentials, open a session and set its cookies on ``response``.

    Usable from an HTML form POST handler as well as from the JSON route. A failed
    attempt's audit row and its count against the login rate limit are committed before
    the error propagates.

    Raises
    ------
    AuthenticationFailed
        Wrong username or password (answered 401).
    """
    state = app_state(request)
    settings = state.settings
    account = account_key(username)
    state.login_limit.check(db, account)  # the address is checked by the route's limit
    try:
        user, token = log_in(
            db,
            username=username,
            password=password,
            lifetime=timedelta(hours=settings.session_hours),
            totp_code=totp_code,
        )
    except AuthenticationFailed:
        state.login_limit.count(db, client_address(request), username=username)
        state.login_limit.count(db, account, username=username, kind="account")
        db.commit()
        raise
    csrf = set_session_cookies(response, settings, token)
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf)


def logout_user(request: Request, response: Response, db: Db, user: CurrentUser) -> None:
    """End the caller's session and clear its cookies (usable from an HTML form POST)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    log_out(db, actor=user, token=token)
    clear_session_cookies(response, app_state(request).settings)


@router.post("/login", dependencies=[Depends(limit_login)])
def login(body: LoginIn, request: Request, response: Response, db: Db) -> LoginOut:
    """Log in; sets the HttpOnly session cookie and returns the CSRF token for writes.

    Refused (429) for an address with ``BORDIN_LOGIN_RATE_LIMIT`` failed logins in the
    current minute, counted in the database across every worker process.
    """
    return login_user(request, response, db, body.username, body.password, body.totp_code)


@router.post("/logout", status_code=204, dependencies=[Depends(require_csrf)])
def logout(request: Request, response: Response, db: Db, user: CurrentUser) -> None:
    """Log out: the session is deleted server-side and the cookies cleared."""
    logout_user(request, response, db, user)


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    """The logged-in user."""
    return UserOut.model_validate(user)


# --- two-factor login (issue 21) ---
@router.post("/two-factor", dependencies=[Depends(require_csrf)])
def start_two_factor(db: Db, user: CurrentUser) -> TwoFactorStartOut:
    """Start turning on two-factor login: a new secret for an authenticator app (shown
    once; not in use until confirmed with a code)."""
    from bordin.storage.actions.two_factor import start_two_factor as start

    secret, uri = start(db, actor=user)
    return TwoFactorStartOut(secret=secret, otpauth_uri=uri)


@router.post("/two-factor/confirm", status_code=204, dependencies=[Depends(require_csrf)])
def confirm_two_factor(body: TwoFactorCodeIn, db: Db, user: CurrentUser) -> None:
    """Turn two-factor login on with a first code from the app."""
    from bordin.storage.actions.two_factor import confirm_two_factor as confirm

    confirm(db, actor=user, code=body.code)


@router.post("/two-factor/off", status_code=204, dependencies=[Depends(require_csrf)])
def turn_off_own_two_factor(body: TwoFactorCodeIn, db: Db, user: CurrentUser) -> None:
    """Turn one's own two-factor login off, with a current code."""
    from bordin.storage.actions.two_factor import turn_off_two_factor

    turn_off_two_factor(db, actor=user, user_id=user.id, code=body.code)
