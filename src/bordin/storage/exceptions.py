"""Storage-specific refinements of the domain errors in :mod:`bordin.errors`.

Each is a subclass of a domain error, so code that catches the general error still works;
the web layer maps the refinements to more precise HTTP statuses.
"""

from __future__ import annotations

from typing import Any

from bordin.errors import BordinError, Conflict, NotFound, PermissionDenied

__all__ = [
    "AlreadySubmitted",
    "AuthenticationFailed",
    "LinkExpired",
    "LinkReplaced",
    "RateLimited",
    "TwoFactorRequired",
]


class AuthenticationFailed(PermissionDenied):
    """Wrong username or password, or an expired or unknown login session."""


class TwoFactorRequired(AuthenticationFailed):
    """The password was right; the account also needs its two-factor code."""


class LinkExpired(NotFound):
    """A client's form link exists but is past its expiry time."""


class LinkReplaced(LinkExpired):
    """A client's form link was cancelled because a newer link was made for its session."""


class AlreadySubmitted(Conflict):
    """A form link was used already; ``receipt`` is the receipt of the first submission."""

    def __init__(self, message: str, *, receipt: dict[str, Any]) -> None:
        super().__init__(message)
        self.receipt = receipt


class RateLimited(BordinError):
    """Too many counted events from one address; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
