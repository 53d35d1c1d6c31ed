"""Rate-limit counters shared by every worker process through the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime


class RateLimitCount(Base):
    """How many counted events (failed logins, unusable form links) one address caused in
    one fixed window.

    ``scope`` is ``login`` or ``token``; ``address`` the client address; ``window_start``
    the window's start in Unix seconds (a multiple of the window length). Rows of past
    windows are deleted as new events are counted.
    """

    __tablename__ = "rate_limit_counts"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)


class LoginLockout(Base):
    """The backoff state of one rate-limited key (an address, or an account's digest).

    Each time the key reaches its limit it is locked out for twice as long as the time
    before (``level``), unless its last lockout is more than a day old; ``locked_until`` is
    when the current lockout ends. Every lockout is also an ``auth.lockout`` audit event,
    which the clinic's admins see.
    """

    __tablename__ = "login_lockouts"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime())
