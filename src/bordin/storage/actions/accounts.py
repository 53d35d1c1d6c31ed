"""Staff accounts after creation: own password, reset links, deactivation, role and team.

A reset link carries a token of 256 random bits; only its SHA-256 is stored, it is shown
once (to the admin who made it), works once, and expires after two days. Setting a new
password by a link, and deactivating an account, end the account's login sessions at once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.audit import record_event
from bordin.storage.credentials import hash_password, hash_token, new_token, verify_password
from bordin.storage.models import ROLES, LoginSession, PasswordReset, Team, User, utcnow
from bordin.storage.password_policy import check_new_password

__all__ = [
    "RESET_LINK_LIFETIME",
    "change_own_password",
    "create_password_reset",
    "find_password_reset",
    "reset_password",
    "set_user_active",
    "update_user",
]

#: how long a password reset link works
RESET_LINK_LIFETIME = timedelta(days=2)


def _check_new_password(password: str, username: str | None) -> None:
    check_new_password(password, username=username, column="new_password")


def _clinic_user(db: Session, actor: User, user_id: int) -> User:
    require_role(actor, "admin")
    user = db.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise NotFound(f"user {user_id} not found")
    return user


def change_own_password(db: Session, *, actor: User, current: str, new: str) -> None:
    """Change one's own password, after giving the current one.

    Raises
    ------
    InputError
        The current password is wrong (column ``current_password``), or the new one is too
        short or the same as the current one (column ``new_password``).
    """
    if not verify_password(actor.password_hash, current):
        raise InputError("the current password is not right", column="current_password")
    _check_new_password(new, actor.username)
    if new == current:
        raise InputError("the new password is the same as the current one", column="new_password")
    actor.password_hash = hash_password(new)
    record_event(
        db, actor=actor, action="user.change_password", object_type="user", object_id=actor.id
    )


def create_password_reset(db: Session, *, actor: User, user_id: int) -> str:
    """Make a one-time password reset link for a user of the admin's clinic.

    Earlier unused links of that user stop working. Returns the token (to show once).
    """
    user = _clinic_user(db, actor, user_id)
    now = utcnow()
    db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = new_token()
    db.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_token(token),
            created_by=actor.id,
            expires_at=now + RESET_LINK_LIFETIME,
        )
    )
    record_event(db, actor=actor, action="user.reset_link", object_type="user", object_id=user.id)
    return token


def find_password_reset(db: Session, token: str) -> PasswordReset:
    """The unused, unexpired reset link of ``token``.

    Raises
    ------
    NotFound
        Unknown, used or expired link (one message for all three).
    """
    found = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(token)))
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        raise NotFound("this reset link is not valid: it was used, has expired or was replaced")
    return found


def reset_password(db: Session, *, token: str, password: str) -> User:
    """Set a new password through a reset link; the link is used up and the account's
    login sessions end."""
    link = find_password_reset(db, token)
    user = db.get(User, link.user_id)
    if user is None:
        raise NotFound("this reset link is not valid")
    _check_new_password(password, user.username)
    user.password_hash = hash_password(password)
    link.used_at = utcnow()
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    record_event(
        db,
        actor=None,
        actor_kind="token",
        action="user.reset_password",
        object_type="user",
        object_id=user.id,
        clinic_id=user.clinic_id,
    )
    return user


def set_user_active(db: Session, *, actor: User, user_id: int, active: bool) -> User:
    """Deactivate (their login sessions end at once) or reactivate an account.

    A deactivated therapist's clients keep their therapist: they stay visible to the
    team's supervisors and the admins, who can transfer them.

    Raises
    ------
    Conflict
        An admin deactivates their own account.
    """
    user = _clinic_user(db, actor, user_id)
    if user.id == actor.id and not active:
        raise Conflict("you cannot deactivate your own account")
    user.active = active
    if not active:
        db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    record_event(
        db,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        object_type="user",
        object_id=user.id,
    )
    return user


def update_user(db: Session, *, actor: User, user_id: int, role: str, team_id: int | None) -> User:
    """Change a user's role and team.

    Raises
    ------
    InputError
        Unknown role.
    NotFound
        The team is not in the clinic.
    Conflict
        An admin takes away their own admin role.
    """
    user = _clinic_user(db, actor, user_id)
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}", column="role")
    if user.id == actor.id and role != "admin":
        raise Conflict("you cannot take away your own admin role; ask another admin")
    if team_id is not None:
        team = db.get(Team, team_id)
        if team is None or team.clinic_id != actor.clinic_id:
            raise NotFound(f"team {team_id} not found")
    before = {"role": user.role, "team_id": user.team_id}
    user.role = role
    user.team_id = team_id
    record_event(
        db,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user.id,
        detail={"before": before, "after": {"role": role, "team_id": team_id}},
    )
    return user
