"""Form requests (one-time client links) and the item responses they collect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class FormRequest(Base):
    """A request for a client to fill in instruments for one session, reached by a link.

    Only the SHA-256 of the link's token is stored. ``receipt`` is set by the one accepted
    submission and returned again to any repeated submission.
    """

    __tablename__ = "form_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(16), default="en")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ItemResponse(Base):
    """One answered item (the long item-response contract of DESIGN.md); never wording.

    ``value`` is the response code; a float because visual analogue items (ORS) are
    answered in steps of 0.1.
    """

    __tablename__ = "item_responses"
    __table_args__ = (UniqueConstraint("session_id", "instrument", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    form_request_id: Mapped[int | None] = mapped_column(ForeignKey("form_requests.id"))
    #: the staff member who typed in a form filled on paper (None: the client's own link)
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instrument: Mapped[str] = mapped_column(String(32))
    item: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
