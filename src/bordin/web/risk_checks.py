"""The service's escalation check for unacknowledged risk answers, run by the lifespan loop
every ``risk_check_seconds`` (``bordin risk escalate`` runs the same check once)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from starlette.concurrency import run_in_threadpool

from bordin.web.deps import AppState

__all__ = ["check_risks_periodically", "escalate_risks_now"]

_log = logging.getLogger("bordin.risk")


def escalate_risks_now(state: AppState, *, now: datetime | None = None) -> int:
    """One escalation check in its own transaction; how many risk answers it escalated."""
    from bordin.storage import actions, transaction

    with transaction(state.sessions) as db:
        escalated = actions.escalate_overdue_risks(db, now=now)
        ids = [event.id for event in escalated]
    for event_id in ids:
        _log.warning("risk answer %s escalated to the supervisors", event_id)
    return len(ids)


async def check_risks_periodically(state: AppState) -> None:
    """Run :func:`escalate_risks_now` every ``risk_check_seconds``, off the event loop.

    Several worker processes may each run it: every answer is escalated once (row locks).
    A failed check is logged and retried at the next interval; it never stops the service.
    """
    while True:
        await asyncio.sleep(state.settings.risk_check_seconds)
        try:
            await run_in_threadpool(escalate_risks_now, state)
        except Exception:
            _log.exception("risk escalation check failed; retrying at the next check")
