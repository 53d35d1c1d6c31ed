"""Scale scores, feedback signals and alerts, recomputed per client after each write;
clinic norms snapshots and the record of what feedback showed at each session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class Score(Base):
    """A scale score for one session (``column`` is the wide name, e.g. ``phq9_total``)."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("session_id", "column"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    column: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)


class NormsSnapshot(Base):
    """One fitted :class:`bordin.feedback.ClinicNorms` of a clinic; the newest is current.

    Snapshots are never changed or deleted: every stored signal, alert and history row
    names the snapshot it was computed against. ``columns`` are the score columns the
    clinic had when it was fitted (a session bringing a new one triggers a refit), and
    ``sessions_at_fit`` the clinic's scored sessions then (for refresh after N sessions).
    """

    __tablename__ = "norms_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    sessions_at_fit: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[str]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Signal(Base):
    """A feedback signal (a rupture, its repair, the client's outcome status...)."""

    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    session: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    norms_id: Mapped[int | None] = mapped_column(ForeignKey("norms_snapshots.id"))


class FeedbackShown(Base):
    """What feedback showed for a client when a session came in (never rewritten).

    Written when a submission recomputes the client: the alerts then active and the
    session's signals, with the norms snapshot they were computed against. A later
    snapshot or a later session updates the current signals and alerts, not this record.
    """

    __tablename__ = "feedback_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    session: Mapped[int] = mapped_column(Integer)
    norms_id: Mapped[int] = mapped_column(ForeignKey("norms_snapshots.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON)
    alerts: Mapped[list[Any]] = mapped_column(JSON)


class Alert(Base):
    """An alert for the therapist; acknowledgement survives recomputation.

    Alerts are identified by (client, kind, session): recomputing feedback updates the text
    of an existing alert and keeps its acknowledgement.
    """

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("client_id", "kind", "session"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    session: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    priority: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[Any] = mapped_column(JSON)
    suggestions: Mapped[Any] = mapped_column(JSON)
    references: Mapped[Any] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    norms_id: Mapped[int | None] = mapped_column(ForeignKey("norms_snapshots.id"))
