"""Kiosk sessions: a tablet in the waiting room unlocked by staff for one client's form."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class KioskSession(Base):
    """One device in kiosk mode for one client's form.

    The device holds a random token in the ``bordin_kiosk`` cookie; only its SHA-256 is
    stored. The form request's one-time token is derived from the kiosk token and the server
    secret (``storage.actions.kiosk``), so it is never stored or shown. The session is
    ``locked`` (``locked_at`` set) after the submission or after ``timeout_seconds`` without
    a request; it ``ends`` when a staff member signs in on the device again.
    """

    __tablename__ = "kiosk_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    form_request_id: Mapped[int] = mapped_column(ForeignKey("form_requests.id"))
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: "submitted" or "timeout" (None while the form is open)
    lock_reason: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
