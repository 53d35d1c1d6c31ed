"""Reads the pages need that the storage queries do not offer (yet), scoped the same way.

Every read goes through :func:`bordin.storage.access.client_scope` or
:func:`~bordin.storage.access.require_client`, so a user never sees a client outside their
caseload, team or clinic; reads of one client's data are audited like the storage queries.
These are candidates to move into ``bordin.storage.queries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope, require_client, require_role
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Alert,
    Client,
    ContentPack,
    FormRequest,
    ItemResponse,
    Team,
    TherapySession,
    User,
    utcnow,
)

__all__ = [
    "FormStatus",
    "list_client_items",
    "list_clinic_content_packs",
    "list_clinic_users",
    "list_form_status",
    "list_open_alerts",
]


def list_open_alerts(db: Session, *, actor: User) -> dict[int, list[Alert]]:
    """Active, unacknowledged alerts of every client in the actor's scope, by client."""
    rows = db.scalars(
        select(Alert)
        .join(Client, Client.id == Alert.client_id)
        .where(client_scope(actor), Alert.active.is_(True), Alert.acknowledged_at.is_(None))
        .order_by(Alert.client_id, Alert.priority.desc(), Alert.session.desc(), Alert.id)
    )
    found: dict[int, list[Alert]] = {}
    for alert in rows:
        found.setdefault(alert.client_id, []).append(alert)
    return found


@dataclass(frozen=True)
class FormStatus:
    """The latest form link of a client and what became of it."""

    client_id: int
    form_id: int
    session_id: int
    state: str  # "answered", "waiting" or "expired"
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None


def list_form_status(db: Session, *, actor: User) -> dict[int, FormStatus]:
    """The latest form link of every client in the actor's scope, by client."""
    now = utcnow()
    rows = db.scalars(
        select(FormRequest)
        .join(Client, Client.id == FormRequest.client_id)
        .where(client_scope(actor))
        .order_by(FormRequest.client_id, FormRequest.id)
    )
    latest: dict[int, FormStatus] = {}
    for request in rows:
        if request.submitted_at is not None:
            state = "answered"
        elif request.expires_at <= now:
            state = "expired"
        else:
            state = "waiting"
        latest[request.client_id] = FormStatus(
            client_id=request.client_id,
            form_id=request.id,
            session_id=request.session_id,
            state=state,
            created_at=request.created_at,
            expires_at=request.expires_at,
            submitted_at=request.submitted_at,
        )
    return latest


def list_client_items(db: Session, *, actor: User, client_id: int) -> list[dict[str, Any]]:
    """A client's item responses (session number, instrument, item, value), audited."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="items.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    rows = db.execute(
        select(
            TherapySession.number, ItemResponse.instrument, ItemResponse.item, ItemResponse.value
        )
        .join(TherapySession, TherapySession.id == ItemResponse.session_id)
        .where(ItemResponse.client_id == client.id)
        .order_by(TherapySession.number, ItemResponse.instrument, ItemResponse.item)
    ).all()
    return [
        {"session": int(number), "instrument": instrument, "item": int(item), "value": value}
        for number, instrument, item, value in rows
    ]


def list_clinic_users(db: Session, *, actor: User) -> tuple[list[User], list[Team]]:
    """Users and teams of the admin's clinic.

    Raises
    ------
    PermissionDenied
        The actor is not an admin.
    """
    require_role(actor, "admin")
    users = list(
        db.scalars(select(User).where(User.clinic_id == actor.clinic_id).order_by(User.username))
    )
    teams = list(
        db.scalars(select(Team).where(Team.clinic_id == actor.clinic_id).order_by(Team.name))
    )
    return users, teams


def list_clinic_content_packs(db: Session, *, actor: User) -> list[ContentPack]:
    """Content packs uploaded by the admin's clinic.

    Raises
    ------
    PermissionDenied
        The actor is not an admin.
    """
    require_role(actor, "admin")
    return list(
        db.scalars(
            select(ContentPack)
            .where(ContentPack.clinic_id == actor.clinic_id)
            .order_by(ContentPack.instrument, ContentPack.language)
        )
    )
