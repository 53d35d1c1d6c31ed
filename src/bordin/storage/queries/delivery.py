"""Reads of delivery: non-completers, booked sessions, schedules, the outbox's state.

Scoped by :mod:`bordin.storage.access` and audited like every read of clients' data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope, require_client
from bordin.storage.audit import record_event
from bordin.storage.models import (
    BookedSession,
    Client,
    DeliverySchedule,
    FormDelivery,
    FormRequest,
    OutboxMessage,
    TherapySession,
    User,
)

__all__ = [
    "NonCompleter",
    "count_outbox",
    "list_bookings",
    "list_non_completers",
    "list_schedules",
]


@dataclass(frozen=True)
class NonCompleter:
    """A client who had a form due and has not answered it.

    Attributes
    ----------
    delivery_id : int
        The form delivery (the target of resend and "filled on paper").
    client_id, client_code : int, str
        The client (pseudonymous code).
    therapist_id, therapist : int, str
        Their therapist (display name).
    session_id, session : int
        The session the form is for (id and number).
    instruments : list of str
        The form's questionnaires.
    due_at : datetime
        When the form was due (the booked session's start, or when it was sent).
    state : str
        ``waiting`` (the link is live) or ``expired``.
    emailed : bool
        Whether it went by email (False: no address on file).
    reminders_sent : int
        Reminders queued so far.
    """

    delivery_id: int
    client_id: int
    client_code: str
    therapist_id: int
    therapist: str
    session_id: int
    session: int
    instruments: list[str]
    due_at: datetime
    state: str
    emailed: bool
    reminders_sent: int

    def to_dict(self) -> dict[str, Any]:
        """The row as plain data (the JSON twin and the API)."""
        return asdict(self)


def list_non_completers(db: Session, *, actor: User, now: datetime) -> list[NonCompleter]:
    """Clients in the actor's scope whose form was due by ``now`` and is neither answered
    nor filled on paper nor replaced; by therapist, then due time (audited)."""
    rows = db.execute(
        select(
            FormDelivery,
            FormRequest,
            Client,
            User.display_name,
            User.username,
            TherapySession.id,
            TherapySession.number,
        )
        .join(FormRequest, FormRequest.id == FormDelivery.form_request_id)
        .join(Client, Client.id == FormDelivery.client_id)
        .join(User, User.id == Client.therapist_id)
        .join(TherapySession, TherapySession.id == FormRequest.session_id)
        .where(
            client_scope(actor),
            FormRequest.submitted_at.is_(None),
            FormDelivery.paper_at.is_(None),
            FormDelivery.replaced_by.is_(None),
            FormDelivery.due_at <= now,
        )
        .order_by(User.display_name, Client.therapist_id, FormDelivery.due_at, FormDelivery.id)
    ).all()
    found = [
        NonCompleter(
            delivery_id=delivery.id,
            client_id=client.id,
            client_code=client.code,
            therapist_id=client.therapist_id,
            therapist=display or username,
            session_id=session_id,
            session=number,
            instruments=list(request.instruments),
            due_at=delivery.due_at,
            state="expired" if request.expires_at <= now else "waiting",
            emailed=delivery.not_emailed is None,
            reminders_sent=delivery.reminders_sent,
        )
        for delivery, request, client, display, username, session_id, number in rows
    ]
    record_event(
        db,
        actor=actor,
        action="non_completers.read",
        object_type="form_delivery",
        detail={"clients": sorted({n.client_id for n in found})},
    )
    return found


def list_bookings(
    db: Session, *, actor: User, client_id: int | None = None, since: datetime | None = None
) -> list[BookedSession]:
    """Booked sessions in the actor's scope (of one client, or all), by start (audited)."""
    statement = (
        select(BookedSession)
        .join(Client, Client.id == BookedSession.client_id)
        .where(client_scope(actor), BookedSession.cancelled_at.is_(None))
        .order_by(BookedSession.starts_at, BookedSession.id)
    )
    if client_id is not None:
        require_client(db, actor, client_id)
        statement = statement.where(BookedSession.client_id == client_id)
    if since is not None:
        statement = statement.where(BookedSession.starts_at >= since)
    found = list(db.scalars(statement))
    record_event(
        db,
        actor=actor,
        action="booking.list",
        object_type="booked_session",
        client_id=client_id,
        detail={"bookings": len(found)},
    )
    return found


def list_schedules(db: Session, *, actor: User, client_id: int) -> list[DeliverySchedule]:
    """The delivery schedules of a client's episodes (audited)."""
    from bordin.storage.models import Episode

    client = require_client(db, actor, client_id)
    found = list(
        db.scalars(
            select(DeliverySchedule)
            .join(Episode, Episode.id == DeliverySchedule.episode_id)
            .where(Episode.client_id == client.id)
            .order_by(DeliverySchedule.id)
        )
    )
    record_event(
        db,
        actor=actor,
        action="schedule.list",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return found


def count_outbox(db: Session, *, clinic_id: int | None = None) -> dict[str, int]:
    """Outbox messages by status (of one clinic, or all): for monitoring and the benchmark."""
    statement = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if clinic_id is not None:
        statement = statement.where(OutboxMessage.clinic_id == clinic_id)
    return {status: int(n) for status, n in db.execute(statement)}
