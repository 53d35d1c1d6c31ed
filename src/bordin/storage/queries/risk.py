"""Reads of the risk pathway: risk answers in a user's scope, one answer with its wording,
the staff member's unread notices, the clinic's risk log, and the crisis text of a form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope, require_role
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Client,
    Clinic,
    FormRequest,
    RiskEvent,
    RiskLogEntry,
    StaffNotification,
    TherapySession,
    User,
)

__all__ = [
    "count_unread_risk_notices",
    "describe_risk_event",
    "get_crisis_text",
    "list_risk_events",
    "list_risk_log",
]


def _wording(db: Session, event: RiskEvent) -> dict[str, str]:
    """The item's wording and the answer's label, in the language the client read."""
    from bordin.storage.queries.forms import get_wording

    pack = get_wording(db, event.clinic_id, event.instrument, event.language)
    texts = {int(i["number"]): i for i in pack.get("items", [])}
    entry = texts.get(event.item, {})
    labels = {
        float(o["value"]): str(o["label"])
        for o in pack.get("response_sets", {}).get(entry.get("responses", ""), [])
    }
    return {
        "title": str(pack.get("title", event.instrument)),
        "text": str(entry.get("text", f"Item {event.item}")),
        "label": labels.get(float(event.value), ""),
        "language": str(pack.get("language", event.language)),
    }


def describe_risk_event(db: Session, event: RiskEvent) -> dict[str, Any]:
    """A risk answer as pages and the API show it: who, which item, its wording, the
    answer, when it was given, and where it stands."""
    names: dict[int, str] = dict(
        db.execute(
            select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)).where(
                User.id.in_([event.therapist_id, event.acknowledged_by or 0])
            )
        ).all()
    )
    code = db.scalar(select(Client.code).where(Client.id == event.client_id))
    number = db.scalar(select(TherapySession.number).where(TherapySession.id == event.session_id))
    wording = _wording(db, event)
    return {
        "id": event.id,
        "href": f"/risk/{event.id}",
        "client": {"id": event.client_id, "code": code, "href": f"/clients/{event.client_id}"},
        "therapist": names.get(event.therapist_id, ""),
        "session": number,
        "instrument": event.instrument,
        "questionnaire": wording["title"],
        "item": event.item,
        "wording": wording["text"],
        "wording_language": wording["language"],
        "answer": event.value,
        "answer_label": wording["label"],
        "answered_at": event.answered_at,
        "entered_on_paper": event.entered_by is not None,
        "acknowledged": (
            {
                "at": event.acknowledged_at,
                "by": names.get(event.acknowledged_by or 0, ""),
                "note": event.note or "",
            }
            if event.acknowledged_at is not None
            else None
        ),
        "escalated_at": event.escalated_at,
    }


def list_risk_events(
    db: Session, *, actor: User, open_only: bool = True, limit: int = 200
) -> list[dict[str, Any]]:
    """Risk answers of the clients ``actor`` may see, newest first (unacknowledged only by
    default); audited as a read."""
    statement = (
        select(RiskEvent)
        .join(Client, Client.id == RiskEvent.client_id)
        .where(client_scope(actor))
        .order_by(RiskEvent.answered_at.desc(), RiskEvent.id.desc())
        .limit(limit)
    )
    if open_only:
        statement = statement.where(RiskEvent.acknowledged_at.is_(None))
    events = db.scalars(statement).all()
    if events:
        record_event(
            db,
            actor=actor,
            action="risk.list",
            object_type="risk_event",
            detail={"count": len(events), "open_only": open_only},
        )
    return [describe_risk_event(db, event) for event in events]


def count_unread_risk_notices(db: Session, *, user: User) -> int:
    """How many risk notices ``user`` has not read (shown in the pages' navigation)."""
    return int(
        db.scalar(
            select(func.count())
            .select_from(StaffNotification)
            .where(StaffNotification.user_id == user.id, StaffNotification.read_at.is_(None))
        )
        or 0
    )


def list_risk_log(
    db: Session,
    *,
    actor: User,
    risk_event_id: int | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """The admin's clinic's risk log, oldest step first (optionally one event's, or since
    a time). Steps name people by display name and clients by code; no wording or answer.

    Raises
    ------
    PermissionDenied
        The actor is not an admin.
    """
    require_role(actor, "admin")
    statement = (
        select(RiskLogEntry, RiskEvent.client_id, Client.code)
        .join(RiskEvent, RiskEvent.id == RiskLogEntry.risk_event_id)
        .join(Client, Client.id == RiskEvent.client_id)
        .where(RiskLogEntry.clinic_id == actor.clinic_id)
        .order_by(RiskLogEntry.at, RiskLogEntry.id)
        .limit(limit)
    )
    if risk_event_id is not None:
        statement = statement.where(RiskLogEntry.risk_event_id == risk_event_id)
    if since is not None:
        statement = statement.where(RiskLogEntry.at >= since)
    names: dict[int, str] = dict(
        db.execute(
            select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)).where(
                User.clinic_id == actor.clinic_id
            )
        ).all()
    )
    rows = db.execute(statement).all()
    record_event(
        db,
        actor=actor,
        action="risk.read_log",
        object_type="risk_log",
        detail={"count": len(rows), "risk_event": risk_event_id},
    )
    return [
        {
            "id": entry.id,
            "at": entry.at,
            "risk_event": entry.risk_event_id,
            "client": code,
            "client_id": client_id,
            "step": entry.step,
            "actor_kind": entry.actor_kind,
            "actor": names.get(entry.actor_id or 0) if entry.actor_id else None,
            "recipient": names.get(entry.recipient_id or 0) if entry.recipient_id else None,
            "detail": entry.detail,
        }
        for entry, client_id, code in rows
    ]


def get_crisis_text(db: Session, form_request: FormRequest) -> str | None:
    """The crisis text of the form's clinic (local crisis numbers), if it set one."""
    return db.scalar(
        select(Clinic.crisis_text)
        .join(Client, Client.clinic_id == Clinic.id)
        .where(Client.id == form_request.client_id)
    )
