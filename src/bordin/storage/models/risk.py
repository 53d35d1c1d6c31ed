"""The risk pathway: endorsed risk items, staff notifications, their e-mails and the log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class RiskEvent(Base):
    """A risk item endorsed in a form (e.g. PHQ-9 item 9 above 0), one per answered item.

    ``answered_at`` is when the answer was given (the submission). The therapist is
    notified at once; if nobody in scope acknowledges it within the clinic's
    ``risk_escalate_minutes``, the supervisors are notified too (``escalated_at``), once.
    No wording is stored: pages show it from the clinic's content pack.
    """

    __tablename__ = "risk_events"
    __table_args__ = (UniqueConstraint("session_id", "instrument", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    form_request_id: Mapped[int | None] = mapped_column(ForeignKey("form_requests.id"))
    #: the staff member who typed in a paper form (None: the client's own link or kiosk)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    instrument: Mapped[str] = mapped_column(String(32))
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    #: the form language, so that the wording shown is the one the client read
    language: Mapped[str] = mapped_column(String(16), default="en")
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class StaffNotification(Base):
    """A notice to one staff member about one risk event, shown on their pages until read.

    ``reason`` is ``risk`` (the client's therapist, at once) or ``escalation`` (a
    supervisor, when the therapist did not acknowledge in time); the unique constraint makes
    each notice exist at most once.
    """

    __tablename__ = "staff_notifications"
    __table_args__ = (UniqueConstraint("user_id", "risk_event_id", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    risk_event_id: Mapped[int] = mapped_column(ForeignKey("risk_events.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RiskEmail(Base):
    """An e-mail owed for a notification, without clinical content, waiting to be sent.

    Written in the same transaction as the notification. ``idempotency_key`` identifies the
    message to whatever sends it (``risk-notification:<id>``), so a retry never sends twice;
    ``handed_over_at`` is set when the sender takes it
    (:func:`bordin.storage.actions.take_risk_emails`).
    """

    __tablename__ = "risk_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("staff_notifications.id"), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    reason: Mapped[str] = mapped_column(String(16))
    link_path: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class RiskLogEntry(Base):
    """One step of the risk pathway (raised, notified, e-mail queued or handed over,
    viewed, acknowledged, escalated), never changed; the admin reads them all."""

    __tablename__ = "risk_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    risk_event_id: Mapped[int] = mapped_column(ForeignKey("risk_events.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    step: Mapped[str] = mapped_column(String(32))
    #: "user", "token" (the client's form) or "system" (the escalation check)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
