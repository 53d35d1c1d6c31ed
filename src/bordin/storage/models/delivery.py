"""Delivery of forms: contact details (kept apart, encrypted), booked sessions, schedules,
form deliveries (for reminders and the non-completer list) and the email outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class ClientContact(Base):
    """A client's contact details, apart from clinical data and encrypted (Fernet).

    Read only through :func:`bordin.storage.actions.read_client_contact` (scoped and
    audited); never joined into exports.
    """

    __tablename__ = "client_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), unique=True
    )
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BookedSession(Base):
    """A session booked ahead, with its start time (the form is sent before it)."""

    __tablename__ = "booked_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: the numbered session and the form request made for it (None until the form is due)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    form_request_id: Mapped[int | None] = mapped_column(ForeignKey("form_requests.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeliverySchedule(Base):
    """How an episode's forms reach the client: before each booked session, weekly, or by
    hand; which instruments, in which language."""

    __tablename__ = "delivery_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), unique=True)
    #: "before_session", "weekly" or "manual"
    mode: Mapped[str] = mapped_column(String(16))
    hours_before: Mapped[int] = mapped_column(Integer, default=24)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(16), default="en")
    #: weekly mode: when the next form is sent
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FormDelivery(Base):
    """A form link Bordin sent (or was to send) to a client: due time, reminders, outcome.

    ``token_enc`` is the link's token encrypted with the contact key, kept only while the
    form is open (reminders repeat the link); it is cleared once the form is answered,
    filled on paper or replaced.
    """

    __tablename__ = "form_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    form_request_id: Mapped[int] = mapped_column(ForeignKey("form_requests.id"), unique=True)
    token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: "schedule", "weekly", "manual" or "resend"
    reason: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: None: sent by email; otherwise why not ("no_email", "no_smtp")
    not_emailed: Mapped[str | None] = mapped_column(String(16))
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paper_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("form_deliveries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxMessage(Base):
    """An email waiting to be sent, being sent, or sent (the transactional outbox).

    Queued in the transaction of the change that causes it; sent at least once by a
    worker. ``idempotency_key`` is unique (queueing twice is a no-op) and the email's
    Message-ID is derived from it. The recipient is a client (address read from
    :class:`ClientContact` at send time), a staff user, never a stored address. A form
    link's body is built at send time from :class:`FormDelivery` (``body`` is None), so no
    live link is kept in clear in the database.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    #: "form", "reminder" or "notification"
    kind: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    form_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("form_deliveries.id"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    #: "queued", "sending", "sent", "failed" or "bounced"
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str] = mapped_column(String(128))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
