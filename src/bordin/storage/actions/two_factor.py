"""Two-factor login for staff: time-based one-time passwords (TOTP, RFC 6238, pyotp).

* A staff member turns it on for themself: :func:`start_two_factor` makes a secret (shown
  once, as a ``otpauth://`` link or QR code for an authenticator app), and
  :func:`confirm_two_factor` switches it on once a code from the app is right.
* From then on a login needs the password and the current six-digit code
  (:func:`check_second_factor`, called by ``log_in``). Codes of the previous and next
  30-second step are accepted for clock drift, and a code is never accepted twice.
* It is turned off by its owner (with a current code) or, for a lost phone, by an admin
  of the clinic (:func:`turn_off_two_factor`).
* A clinic may require it for its admins (:func:`require_admin_two_factor`): only when
  every active admin already uses it, and while required an admin cannot turn it off and
  an admin without it cannot log in (lift the requirement to let a new admin enrol).

Every change is audited. The secret is stored in the database as it is (like the
password hash, protect the database and its backups).
"""

from __future__ import annotations

import hmac
import time

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.audit import record_event
from bordin.storage.exceptions import AuthenticationFailed, TwoFactorRequired
from bordin.storage.models import Clinic, User, utcnow

__all__ = [
    "ISSUER",
    "check_second_factor",
    "confirm_two_factor",
    "require_admin_two_factor",
    "start_two_factor",
    "turn_off_two_factor",
]

#: the issuer shown in authenticator apps
ISSUER = "Bordin"
_STEP = 30


def _matching_step(secret: str, code: str, *, after: int | None, now: float | None) -> int | None:
    """The time step (within one of now) whose code is ``code`` and is newer than
    ``after``, or ``None``."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=_STEP)
    current = int((time.time() if now is None else now) // _STEP)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def start_two_factor(db: Session, *, actor: User) -> tuple[str, str]:
    """Make a new TOTP secret for ``actor`` (not yet in use); return it and its
    ``otpauth://`` link for an authenticator app.

    Raises
    ------
    Conflict
        Two-factor login is already on (turn it off first).
    """
    if actor.totp_enabled_at is not None:
        raise Conflict("two-factor login is already on; turn it off first to change the app")
    secret = pyotp.random_base32()
    actor.totp_secret = secret
    actor.totp_last_step = None
    record_event(
        db, actor=actor, action="user.two_factor_start", object_type="user", object_id=actor.id
    )
    uri = pyotp.TOTP(secret, interval=_STEP).provisioning_uri(
        name=actor.username, issuer_name=ISSUER
    )
    return secret, uri


def confirm_two_factor(db: Session, *, actor: User, code: str, now: float | None = None) -> None:
    """Turn two-factor login on with a first code from the app.

    Raises
    ------
    Conflict
        No enrolment was started, or it is already on.
    InputError
        The code is not right (column ``code``).
    """
    if actor.totp_enabled_at is not None or actor.totp_secret is None:
        raise Conflict("start two-factor enrolment first")
    step = _matching_step(actor.totp_secret, code, after=None, now=now)
    if step is None:
        raise InputError("the code is not right; check the app's clock", column="code")
    actor.totp_enabled_at = utcnow()
    actor.totp_last_step = step
    record_event(
        db, actor=actor, action="user.two_factor_on", object_type="user", object_id=actor.id
    )


def _refuse_if_required(user: User) -> None:
    if user.role == "admin" and user.clinic.admin_two_factor:
        raise Conflict("the clinic requires two-factor login for admins; lift that first")


def turn_off_two_factor(
    db: Session, *, actor: User, user_id: int, code: str | None = None, now: float | None = None
) -> None:
    """Turn two-factor login off: one's own with a current code, or (a lost phone) another
    account's as an admin of its clinic.

    Raises
    ------
    InputError
        One's own, and the code is missing or wrong (column ``code``).
    NotFound
        Another account outside the admin's clinic (or the caller is no admin).
    Conflict
        The account is an admin's and the clinic requires two-factor login for admins.
    """
    if user_id == actor.id:
        user = actor
        secret = user.totp_secret
        if user.totp_enabled_at is None or secret is None:
            raise Conflict("two-factor login is not on")
        _refuse_if_required(user)
        if _matching_step(secret, code or "", after=user.totp_last_step, now=now) is None:
            raise InputError("the code is not right", column="code")
    else:
        require_role(actor, "admin")
        found = db.get(User, user_id)
        if found is None or found.clinic_id != actor.clinic_id:
            raise NotFound(f"user {user_id} not found")
        user = found
        _refuse_if_required(user)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    record_event(
        db, actor=actor, action="user.two_factor_off", object_type="user", object_id=user.id
    )


def require_admin_two_factor(db: Session, *, actor: User, required: bool) -> Clinic:
    """Require (or stop requiring) two-factor login for the clinic's admins.

    Raises
    ------
    PermissionDenied
        The caller is not an admin.
    Conflict
        Requiring it while an active admin has not turned it on (they are named).
    """
    require_role(actor, "admin")
    clinic = actor.clinic
    if required:
        missing = db.scalars(
            select(User.username).where(
                User.clinic_id == clinic.id,
                User.role == "admin",
                User.active.is_(True),
                User.totp_enabled_at.is_(None),
            )
        ).all()
        if missing:
            raise Conflict(
                "these admins must turn on two-factor login first: " + ", ".join(sorted(missing))
            )
    clinic.admin_two_factor = required
    record_event(
        db,
        actor=actor,
        action="clinic.admin_two_factor",
        object_type="clinic",
        object_id=clinic.id,
        detail={"required": required},
    )
    return clinic


def check_second_factor(user: User, code: str | None, *, now: float | None = None) -> None:
    """The second factor of a login whose password was right (``log_in``).

    Raises
    ------
    TwoFactorRequired
        Two-factor login is on and no code was given.
    AuthenticationFailed
        The code is wrong or was used before, or the account is an admin's without
        two-factor login in a clinic that requires it.
    """
    secret = user.totp_secret
    if user.totp_enabled_at is None or secret is None:
        if user.role == "admin" and user.clinic.admin_two_factor:
            raise AuthenticationFailed(
                "this clinic requires two-factor login for admins; ask another admin to "
                "lift the requirement while you turn it on"
            )
        return
    if not code:
        raise TwoFactorRequired("enter the six-digit code from your authenticator app")
    step = _matching_step(secret, code, after=user.totp_last_step, now=now)
    if step is None:
        raise AuthenticationFailed("wrong username, password or code")
    user.totp_last_step = step
