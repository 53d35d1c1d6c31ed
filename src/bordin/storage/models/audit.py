"""The audit trail: one row for every read and write of a client's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """Who did what to which record, when.

    ``actor_kind`` is ``user`` (``actor_id`` set), ``token`` (a client's form link: the form
    request id is in ``object_id``) or ``system`` (imports, migrations).

    ``chain_seq``, ``prev_hash`` and ``hash`` make the trail tamper-evident: each event's
    hash covers its content and the previous event's hash (:mod:`bordin.storage.audit_chain`).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row holding the audit chain's last position and hash.

    Appending to the chain locks this row, so concurrent transactions chain one after the
    other; comparing it with the last event also shows events deleted from the end.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
