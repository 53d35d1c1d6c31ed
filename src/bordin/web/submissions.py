"""Form submissions grouped into shared transactions (group commit).

A submission's cost is mostly fixed per transaction, not per client: the statements that
recompute feedback, the engine's per-call overhead, the audit chain and the commit. When
several clients submit at once (a waiting room), the submissions that arrive while the
database is busy wait here, in the event loop, and the next transaction takes all of
them: :func:`bordin.storage.actions.record_submissions` checks each, stores the accepted
ones with one statement per table and recomputes their clients' feedback in one
vectorised call. A lone submission is a batch of one and goes at once.

What a client is told does not change: each request gets its own receipt or its own
error (404, 409, 410, 422, 429), and a receipt is given only after the transaction that
stored the answers has committed. A refused submission stores nothing, and a failed link
is counted against its address as before. If a batch fails for any other reason, its
submissions are stored again one transaction each, so one bad submission cannot take the
others down with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import TimeoutError as DatabaseBusy
from starlette.concurrency import run_in_threadpool

from bordin.storage.actions import record_submission, record_submissions
from bordin.storage.actions.forms import REFUSALS
from bordin.storage.rate_limits import RateLimit

__all__ = ["MAX_BATCH", "SubmissionBatcher"]

#: Submissions per transaction at most (a batch of this many takes tens of milliseconds).
MAX_BATCH = 64
#: Seconds a submission may wait to be taken into a transaction (then 503, nothing stored).
WAIT_SECONDS = 120.0


@dataclass
class _Waiting:
    token: str
    answers: Mapping[str, Any]
    address: str
    future: asyncio.Future[dict[str, Any]]


@dataclass
class SubmissionBatcher:
    """Groups waiting form submissions into shared transactions (one per event loop).

    ``sessions`` makes database sessions; ``slot`` returns the semaphore that bounds
    database use in the running loop (``AppState.db_slot``), which a batch holds while it
    runs; ``limit`` is the form-link rate limit.
    """

    sessions: Any
    slot: Any
    limit: RateLimit
    max_batch: int = MAX_BATCH
    #: sizes of the batches run so far (the last 1000), for tests and the benchmark
    batch_sizes: list[int] = field(default_factory=list)
    _queues: dict[int, list[_Waiting]] = field(default_factory=dict)
    _draining: set[int] = field(default_factory=set)

    async def submit(self, token: str, answers: Mapping[str, Any], address: str) -> dict[str, Any]:
        """Store one submission; its receipt, or the exception that refused it.

        Raises
        ------
        NotFound, LinkExpired, AlreadySubmitted, InputError, RateLimited
            As :func:`~bordin.storage.actions.record_submission` and the rate limit.
        DatabaseBusy
            It waited ``WAIT_SECONDS`` without being taken into a transaction; nothing is
            stored.
        """
        loop = asyncio.get_running_loop()
        key = id(loop)
        waiting = _Waiting(token, answers, address, loop.create_future())
        queue = self._queues.setdefault(key, [])
        queue.append(waiting)
        if key not in self._draining:
            self._draining.add(key)
            loop.create_task(self._drain(key))
        try:
            return await asyncio.wait_for(asyncio.shield(waiting.future), WAIT_SECONDS)
        except TimeoutError:
            if waiting in queue:  # not taken yet: withdraw it
                queue.remove(waiting)
                raise DatabaseBusy("the database is busy; try again", None, None) from None
            return await waiting.future  # its transaction is running: wait for it

    async def _drain(self, key: int) -> None:
        """Run transactions while submissions wait (one at a time per loop)."""
        queue = self._queues[key]
        try:
            while queue:
                batch: list[_Waiting] = []
                try:
                    async with self.slot():
                        batch = queue[: self.max_batch]
                        del queue[: self.max_batch]
                        outcomes = await run_in_threadpool(self._run, batch)
                except BaseException:  # cancelled at shutdown, say: nobody waits forever
                    for waiting in batch:
                        if not waiting.future.done():
                            waiting.future.set_exception(
                                DatabaseBusy("the submission was interrupted", None, None)
                            )
                    raise
                self.batch_sizes.append(len(batch))
                del self.batch_sizes[:-1000]
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if waiting.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)
        finally:
            self._draining.discard(key)
            if queue:  # arrived after the loop's last look
                self._draining.add(key)
                asyncio.get_running_loop().create_task(self._drain(key))

    def _run(self, batch: list[_Waiting]) -> list[dict[str, Any] | BaseException]:
        """One transaction for the batch (worker thread); one each if it fails."""
        try:
            return self._together(batch)
        except Exception:
            return [self._alone(waiting) for waiting in batch]

    def _together(self, batch: list[_Waiting]) -> list[dict[str, Any] | BaseException]:
        outcomes: dict[int, dict[str, Any] | BaseException] = {}
        with self.sessions() as db, db.begin():
            refusals = self.limit.check_all(db, (waiting.address for waiting in batch))
            allowed: list[int] = []
            for index, waiting in enumerate(batch):
                if waiting.address in refusals:
                    outcomes[index] = refusals[waiting.address]
                    continue
                allowed.append(index)

            def refused(position: int, exc: Exception) -> None:
                if _counted(exc):
                    self.limit.count(db, batch[allowed[position]].address)

            stored = record_submissions(
                db,
                [(batch[i].token, batch[i].answers) for i in allowed],
                on_refusal=refused,
            )
            outcomes.update(zip(allowed, stored, strict=True))
        return [outcomes[index] for index in range(len(batch))]

    def _alone(self, waiting: _Waiting) -> dict[str, Any] | BaseException:
        """One submission in its own transaction, as the request alone would run it."""
        outcome: dict[str, Any] | BaseException
        try:
            with self.sessions() as db, db.begin():
                self.limit.check(db, waiting.address)
                try:
                    with db.begin_nested():
                        outcome = record_submission(
                            db, token=waiting.token, answers=waiting.answers
                        )
                except REFUSALS as exc:  # its savepoint is rolled back; the count stays
                    if _counted(exc):
                        self.limit.count(db, waiting.address)
                    outcome = exc
        except Exception as exc:
            return exc
        return outcome


def _counted(exc: BaseException) -> bool:
    """Whether a refusal counts against the address's form-link limit (an unusable link:
    unknown, expired, replaced or used; not an invalid answer)."""
    from bordin.web.deps import TOKEN_FAILURES

    return isinstance(exc, TOKEN_FAILURES)
