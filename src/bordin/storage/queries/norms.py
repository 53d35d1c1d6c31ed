"""Reads of clinic norms snapshots and of what feedback showed at each session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import NotFound
from bordin.storage.access import require_client, require_role
from bordin.storage.audit import record_event
from bordin.storage.models import FeedbackShown, NormsSnapshot, User

__all__ = ["get_norms_snapshot", "list_feedback_history", "list_norms_snapshots"]


def list_norms_snapshots(db: Session, *, actor: User) -> list[NormsSnapshot]:
    """The actor's clinic's norms snapshots, newest (current) first (admin, supervisor)."""
    require_role(actor, "admin", "supervisor")
    return list(
        db.scalars(
            select(NormsSnapshot)
            .where(NormsSnapshot.clinic_id == actor.clinic_id)
            .order_by(NormsSnapshot.id.desc())
        )
    )


def get_norms_snapshot(db: Session, *, actor: User, snapshot_id: int | None) -> NormsSnapshot:
    """One snapshot of the actor's clinic (the current one when ``snapshot_id`` is None).

    Raises
    ------
    NotFound
        No such snapshot in the actor's clinic (or the clinic has none yet).
    """
    require_role(actor, "admin", "supervisor")
    statement = select(NormsSnapshot).where(NormsSnapshot.clinic_id == actor.clinic_id)
    if snapshot_id is not None:
        statement = statement.where(NormsSnapshot.id == snapshot_id)
    found = db.scalars(statement.order_by(NormsSnapshot.id.desc()).limit(1)).first()
    if found is None:
        raise NotFound("no such norms snapshot in this clinic")
    return found


def list_feedback_history(db: Session, *, actor: User, client_id: int) -> list[FeedbackShown]:
    """What feedback showed for a client at each session, oldest first (audited read)."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="feedback_history.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return list(
        db.scalars(
            select(FeedbackShown)
            .where(FeedbackShown.client_id == client.id)
            .order_by(FeedbackShown.session, FeedbackShown.id)
        )
    )
