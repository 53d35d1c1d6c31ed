"""Writing audit events; called by every query and action that touches a client's data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bordin.storage.audit_chain import note_new_event
from bordin.storage.models import AuditEvent, User, utcnow

__all__ = ["record_event"]


def record_event(
    db: Session,
    *,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None = None,
    client_id: int | None = None,
    clinic_id: int | None = None,
    actor_kind: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the current transaction (it commits or rolls back with the work).

    ``actor`` is the acting user; ``None`` with ``actor_kind="token"`` is a client's form
    link, and with ``actor_kind="system"`` an import or maintenance job. At commit the
    event joins the tamper-evident chain (:mod:`bordin.storage.audit_chain`).
    """
    kind = actor_kind or ("user" if actor is not None else "system")
    event = AuditEvent(
        at=utcnow(),
        clinic_id=clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
        actor_kind=kind,
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        client_id=client_id,
        detail=detail or {},
    )
    db.add(event)
    note_new_event(db, event)  # chained when the transaction commits
    return event
