"""Clients (pseudonymous), episodes of care and attended sessions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class Client(Base):
    """A client, known only by a pseudonymous code (no name or contact details)."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("clinic_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    therapist_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    #: language of the client's form links (a content pack's language code)
    form_language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    #: questionnaires of the client's first form link (None: the clinic's default)
    default_instruments: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Episode(Base):
    """An episode of care: from intake to discharge."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    #: why it closed: planned end, dropout or referral (None while open)
    close_reason: Mapped[str | None] = mapped_column(String(16))


class TherapySession(Base):
    """An attended session; ``number`` is the client's 1-based attended-session count."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("client_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    date: Mapped[date | None] = mapped_column(Date)


class MissedSession(Base):
    """A session that did not take place: cancelled, or the client did not attend.

    Kept apart from :class:`TherapySession`, whose numbers count attended sessions only.
    """

    __tablename__ = "missed_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id"))
    date: Mapped[date] = mapped_column(Date)
    #: "cancelled" or "did_not_attend"
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
