"""Acknowledging alerts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.access import can_see_client
from bordin.storage.audit import record_event
from bordin.storage.models import Alert, User, utcnow

__all__ = ["acknowledge_alert"]

MAX_NOTE = 4000


def acknowledge_alert(db: Session, *, actor: User, alert_id: int, note: str = "") -> Alert:
    """Acknowledge an alert with a note; it stays acknowledged when feedback is recomputed.

    Acknowledging again replaces the note (and is audited again).

    Raises
    ------
    NotFound
        The alert's client is not in the caller's scope.
    InputError
        The note is longer than 4000 characters.
    """
    alert = db.get(Alert, alert_id)
    if alert is None or not can_see_client(db, actor, alert.client_id):
        raise NotFound(f"alert {alert_id} not found")
    if len(note) > MAX_NOTE:
        raise InputError(f"the note is longer than {MAX_NOTE} characters", column="note")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = actor.id
    alert.note = note.strip()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="alert.acknowledge",
        object_type="alert",
        object_id=alert.id,
        client_id=alert.client_id,
        detail={"kind": alert.kind, "session": alert.session},
    )
    return alert
