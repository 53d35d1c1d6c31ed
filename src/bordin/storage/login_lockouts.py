"""Exponential backoff for failed logins, and a record of every lockout for the admins.

:class:`~bordin.storage.rate_limits.RateLimit` counts failed logins per address and per
account in fixed windows. With backoff on (``backoff_max`` seconds), reaching the limit
also locks the key out: for one window the first time, then twice as long each time the
key reaches the limit again within a day of its last lockout, up to ``backoff_max``. Only
accounts back off: an address (often a clinic's shared address) is locked for one window
each time, as before, so one colleague's typos never lock the others out for long. A
password guesser working through one account from many addresses slows down
geometrically; a colleague who mistyped a few times waits a minute.

Each lockout writes an ``auth.lockout`` audit event. When the attempted username belongs
to an account, the event is in that account's clinic (its admins see it in the audit
trail and on the admin page), names the user and says whether the account or the address
was locked; an address lockout for unknown usernames has no clinic and is in the trail
for the operator.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.audit import record_event
from bordin.storage.exceptions import RateLimited
from bordin.storage.models import LoginLockout, User

__all__ = ["LOCKOUT_MEMORY", "check_lockout", "note_limit_reached"]

#: A lockout this long after the previous one starts the backoff again from one window.
LOCKOUT_MEMORY = timedelta(days=1)


def check_lockout(db: Session, scope: str, key: str, now: float) -> None:
    """Refuse ``key`` while it is locked out.

    Raises
    ------
    RateLimited
        With ``retry_after`` the seconds until the lockout ends.
    """
    until = db.scalar(
        select(LoginLockout.locked_until).where(
            LoginLockout.scope == scope, LoginLockout.address == key
        )
    )
    if until is not None:
        left = until.timestamp() - now
        if left > 0:
            raise RateLimited(
                "too many failed attempts; try again later", retry_after=math.ceil(left)
            )


def note_limit_reached(
    db: Session,
    *,
    scope: str,
    key: str,
    window: int,
    backoff_max: int,
    now: float,
    username: str | None,
    kind: str,
    failures: int,
) -> None:
    """Lock ``key`` out (the backoff of the module docstring) and audit the lockout.

    Called when a counted failure takes ``key`` to its limit; a key already locked out is
    left as it is.
    """
    at = datetime.fromtimestamp(now, UTC)
    row = db.scalar(
        select(LoginLockout)
        .where(LoginLockout.scope == scope, LoginLockout.address == key)
        .with_for_update()
    )
    if row is not None and row.locked_until > at:
        return
    recent = row is not None and at - row.locked_at <= LOCKOUT_MEMORY
    # Accounts back off; an address (a clinic's shared NAT) stays at one window, so one
    # colleague's typos never lock the others out for long.
    level = (row.level + 1) if (row is not None and recent and kind == "account") else 1
    seconds = min(window * 2 ** (level - 1), max(backoff_max, window))
    until = at + timedelta(seconds=seconds)
    if row is None:
        db.add(
            LoginLockout(scope=scope, address=key, level=level, locked_at=at, locked_until=until)
        )
    else:
        row.level, row.locked_at, row.locked_until = level, at, until
    user = None
    if username:
        user = db.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    detail: dict[str, object] = {
        "locked": kind,
        "failures": failures,
        "seconds": seconds,
        "level": level,
        "until": until.isoformat(timespec="seconds"),
    }
    if kind == "address":
        detail["address"] = key
    record_event(
        db,
        actor=None,
        actor_kind="system",
        action="auth.lockout",
        object_type="user" if user is not None else "address",
        object_id=user.id if user is not None else None,
        clinic_id=user.clinic_id if user is not None else None,
        detail=detail,
    )
    db.flush()
