"""Clinic norms snapshots: refresh on demand and on schedule.

The snapshot itself is fitted and stored by :mod:`bordin.storage.actions._feedback`
(:func:`~bordin.storage.actions._feedback.refresh_norms`); this module holds the two ways a
refresh is asked for: by an administrator (``bordin db refresh-norms``, the clinic page,
``POST /api/v1/clinic/norms/refresh``), and by the service's scheduled check, which refits a
clinic's norms once ``norms_refresh_sessions`` new sessions have been scored since its
snapshot, once the snapshot is older than ``norms_refresh_hours`` and any new session
was scored, or at once when the snapshot has no adaptive rupture model (stored before the
model was; :func:`~bordin.storage.actions._feedback.lacks_rupture_model`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import PermissionDenied
from bordin.storage.access import require_role
from bordin.storage.actions._feedback import (
    clinic_scored_sessions,
    current_snapshot,
    lacks_rupture_model,
    refresh_norms,
)
from bordin.storage.models import Clinic, NormsSnapshot, User, utcnow

__all__ = ["NormsDue", "norms_due", "refresh_clinic_norms", "refresh_due_norms"]


def refresh_clinic_norms(db: Session, *, actor: User | None, clinic_id: int) -> NormsSnapshot:
    """Refit the clinic's norms now and recompute its clients (an administrator's request,
    or the system's with ``actor=None``).

    Raises
    ------
    PermissionDenied
        The actor is not an administrator of the clinic.
    """
    if actor is not None:
        require_role(actor, "admin")
        if actor.clinic_id != clinic_id:
            raise PermissionDenied("this is another clinic's")
    return refresh_norms(db, clinic_id, reason="on demand", actor=actor)


@dataclass(frozen=True)
class NormsDue:
    """Whether a clinic's norms are due for a refresh, and why."""

    clinic_id: int
    due: bool
    reason: str
    new_sessions: int


def norms_due(db: Session, clinic_id: int, *, every_sessions: int, max_age: timedelta) -> NormsDue:
    """Whether the clinic's snapshot is due: it has no adaptive rupture model (stored before
    the model was), ``every_sessions`` new scored sessions since it was fitted (0: never for
    that reason), or older than ``max_age`` with at least one."""
    snapshot = current_snapshot(db, clinic_id)
    scored = clinic_scored_sessions(db, clinic_id)
    if snapshot is None:
        return NormsDue(clinic_id, scored > 0, "first", scored)
    new = scored - snapshot.sessions_at_fit
    if lacks_rupture_model(snapshot):
        return NormsDue(clinic_id, True, "rupture model", new)
    if every_sessions > 0 and new >= every_sessions:
        return NormsDue(clinic_id, True, "sessions", new)
    if new > 0 and utcnow() - snapshot.created_at >= max_age:
        return NormsDue(clinic_id, True, "schedule", new)
    return NormsDue(clinic_id, False, "", new)


def refresh_due_norms(
    db: Session, *, every_sessions: int, max_age: timedelta
) -> list[NormsSnapshot]:
    """Refresh every clinic whose norms are due (the scheduled check).

    Each clinic row is locked FOR UPDATE SKIP LOCKED on PostgreSQL, so that of several
    workers running the check only one refreshes a clinic, and the check is repeated under
    the lock. Runs in the caller's transaction.
    """
    done = []
    for clinic_id in db.scalars(select(Clinic.id).order_by(Clinic.id)).all():
        if not norms_due(db, clinic_id, every_sessions=every_sessions, max_age=max_age).due:
            continue
        locked = db.scalar(
            select(Clinic.id).where(Clinic.id == clinic_id).with_for_update(skip_locked=True)
        )
        if locked is None:
            continue  # another worker is refreshing it
        due = norms_due(db, clinic_id, every_sessions=every_sessions, max_age=max_age)
        if due.due:
            done.append(refresh_norms(db, clinic_id, reason=due.reason))
    return done
