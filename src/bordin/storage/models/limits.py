"""Rate-limit counters shared by every worker process through the database."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base


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
