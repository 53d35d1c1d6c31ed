"""Logging in and out: server-side login sessions behind a random cookie token."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bordin.storage.actions.two_factor import check_second_factor
from bordin.storage.audit import record_event
from bordin.storage.credentials import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from bordin.storage.exceptions import AuthenticationFailed
from bordin.storage.models import LoginSession, User, utcnow

__all__ = ["authenticate_session", "log_in", "log_out"]


def log_in(
    db: Session,
    *,
    username: str,
    password: str,
    lifetime: timedelta,
    totp_code: str | None = None,
) -> tuple[User, str]:
    """Check a username and password (and the two-factor code of an account that uses
    one, :mod:`bordin.storage.actions.two_factor`); open a login session and return its
    token.

    The token goes into the session cookie; only its SHA-256 is stored. A failed attempt
    is audited (with the username tried) and takes as long as a successful one.

    Raises
    ------
    AuthenticationFailed
        Unknown username, wrong password or disabled account (one message for all three),
        or a wrong or reused two-factor code.
    TwoFactorRequired
        The password was right but the account's two-factor code is missing.
    """
    name = username.strip().lower()
    user = db.scalar(select(User).where(User.username == name))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        record_event(
            db,
            actor=None,
            actor_kind="anonymous",
            action="auth.login_failed",
            object_type="user",
            object_id=user.id if user else None,
            clinic_id=user.clinic_id if user else None,
            detail={"username": name[:254]},
        )
        raise AuthenticationFailed("wrong username or password")
    try:
        check_second_factor(user, totp_code)
    except AuthenticationFailed as exc:
        record_event(
            db,
            actor=None,
            actor_kind="anonymous",
            action="auth.login_failed",
            object_type="user",
            object_id=user.id,
            clinic_id=user.clinic_id,
            detail={"username": name[:254], "second_factor": type(exc).__name__},
        )
        raise
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = new_token()
    now = utcnow()
    db.add(LoginSession(token_hash=hash_token(token), user_id=user.id, expires_at=now + lifetime))
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    record_event(db, actor=user, action="auth.login", object_type="user", object_id=user.id)
    return user, token


def authenticate_session(db: Session, token: str, *, now: datetime | None = None) -> User:
    """The user behind a session cookie's token.

    Raises
    ------
    AuthenticationFailed
        Unknown or expired session, or the account was disabled since.
    """
    found = db.scalar(select(LoginSession).where(LoginSession.token_hash == hash_token(token)))
    if found is None or found.expires_at <= (now or utcnow()) or not found.user.active:
        raise AuthenticationFailed("not logged in, or the session has expired")
    return found.user


def log_out(db: Session, *, actor: User, token: str) -> None:
    """End the login session of ``token``."""
    db.execute(delete(LoginSession).where(LoginSession.token_hash == hash_token(token)))
    record_event(db, actor=actor, action="auth.logout", object_type="user", object_id=actor.id)
