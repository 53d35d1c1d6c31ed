"""Rate limits kept in the database, so that every worker process counts the same events.

What is counted is what an attacker produces and a genuine client does not: failed logins
(``login``) and requests with a form link that cannot be used (``token``: unknown, expired
or already used). Successful use is never counted, so a waiting room behind one address
(a clinic's NAT, a kiosk) can send any number of genuine forms.

Counts are kept per scope, address and fixed window (``window`` seconds, aligned on the
Unix epoch) in the ``rate_limit_counts`` table. Counting is one atomic upsert
(``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1``) on SQLite and PostgreSQL, so
concurrent failures in several processes are never lost. Once an address has ``limit``
counted events in the current window, every request of that scope from it is refused
until the window ends (``Retry-After``). Requests already past the check when the limit
is reached still finish, so under concurrency an address can exceed the limit by the
number of its requests in flight. Rows of windows that have ended are deleted as new
events are counted.

No audit row is written for a count: a failed login is audited by
:func:`~bordin.storage.actions.log_in`, and a counter is no client's data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import bindparam, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bordin.storage.exceptions import RateLimited
from bordin.storage.models import RateLimitCount

__all__ = ["RateLimit", "Scope"]

Scope = Literal["login", "token"]

# A scope's counts of some addresses in one window (built once: every form submission and
# login runs it).
_COUNTS = select(RateLimitCount.address, RateLimitCount.count).where(
    RateLimitCount.scope == bindparam("scope"),
    RateLimitCount.address.in_(bindparam("addresses", expanding=True)),
    RateLimitCount.window_start == bindparam("start"),
)


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` counted events per address in each window of ``window`` seconds.

    ``clock`` gives the time in Unix seconds (tests pass their own). ``backoff_max`` above
    zero turns on the exponential lockout of :mod:`bordin.storage.login_lockouts` (up to
    that many seconds) and its audited record.
    """

    scope: Scope
    limit: int
    window: int = 60
    clock: Callable[[], float] = field(default=time.time, compare=False)
    backoff_max: int = 0

    def _window_start(self, now: float) -> int:
        return int(now // self.window) * self.window

    def check(self, db: Session, address: str) -> None:
        """Refuse ``address`` when it has reached the limit in the current window.

        Reads only; run it in the request's transaction before doing the work.

        Raises
        ------
        RateLimited
            The limit is reached; ``retry_after`` is the seconds left in the window.
        """
        refusal = self.check_all(db, [address]).get(address)
        if refusal is not None:
            raise refusal

    def check_all(self, db: Session, addresses: Iterable[str]) -> dict[str, RateLimited]:
        """:meth:`check` for several addresses at once (a batch of requests): the refusal
        of each address that has reached the limit. Without backoff, one statement."""
        now = self.clock()
        wanted = sorted(set(addresses))
        refusals: dict[str, RateLimited] = {}
        if self.backoff_max:
            from bordin.storage.login_lockouts import check_lockout

            for address in list(wanted):
                try:
                    check_lockout(db, self.scope, address, now)
                except RateLimited as exc:
                    refusals[address] = exc
                    wanted.remove(address)
        start = self._window_start(now)
        counts = db.execute(_COUNTS, {"scope": self.scope, "addresses": wanted, "start": start})
        retry = max(1, math.ceil(start + self.window - now))
        for address, count in counts:
            if count >= self.limit:
                refusals[address] = RateLimited(
                    "too many requests; try again shortly", retry_after=retry
                )
        return refusals

    def count(
        self,
        db: Session,
        address: str,
        *,
        username: str | None = None,
        kind: Literal["address", "account"] = "address",
    ) -> None:
        """Count one event for ``address`` in the current window (an atomic upsert), and
        delete this scope's rows of windows that have ended. With backoff on, reaching the
        limit locks the key out; ``username`` (the login attempted) and ``kind`` (what the
        key is) go into the lockout's audit event.

        The caller commits: after a failed request, roll back its work, count, commit.
        """
        now = self.clock()
        start = self._window_start(now)
        values = {"scope": self.scope, "address": address, "window_start": start, "count": 1}
        keys = ["scope", "address", "window_start"]
        bump = {"count": RateLimitCount.count + 1}
        if db.get_bind().dialect.name == "postgresql":
            db.execute(
                pg_insert(RateLimitCount)
                .values(values)
                .on_conflict_do_update(index_elements=keys, set_=bump)
            )
        else:
            db.execute(
                sqlite_insert(RateLimitCount)
                .values(values)
                .on_conflict_do_update(index_elements=keys, set_=bump)
            )
        # Rows another transaction is deleting are skipped (PostgreSQL; SQLite has one
        # writer), so concurrent clean-ups never wait on each other.
        ended = (
            select(RateLimitCount.scope, RateLimitCount.address, RateLimitCount.window_start)
            .where(RateLimitCount.scope == self.scope, RateLimitCount.window_start < start)
            .with_for_update(skip_locked=True)
        )
        db.execute(
            delete(RateLimitCount).where(
                tuple_(
                    RateLimitCount.scope, RateLimitCount.address, RateLimitCount.window_start
                ).in_(ended)
            )
        )
        if self.backoff_max:
            self._note_limit(db, address, start, now, username=username, kind=kind)

    def _note_limit(
        self, db: Session, address: str, start: int, now: float, *, username: str | None, kind: str
    ) -> None:
        from bordin.storage.login_lockouts import note_limit_reached

        count = db.scalar(
            select(RateLimitCount.count).where(
                RateLimitCount.scope == self.scope,
                RateLimitCount.address == address,
                RateLimitCount.window_start == start,
            )
        )
        if count is not None and count >= self.limit:
            note_limit_reached(
                db,
                scope=self.scope,
                key=address,
                window=self.window,
                backoff_max=self.backoff_max,
                now=now,
                username=username,
                kind=kind,
                failures=count,
            )
