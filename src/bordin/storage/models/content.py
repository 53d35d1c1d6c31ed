"""Content packs uploaded by a clinic: licensed wording for definitions-only instruments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bordin.storage.models._base import Base, UTCDateTime, utcnow


class ContentPack(Base):
    """Wording of one instrument in one language, uploaded by a clinic's admin.

    It is used only inside that clinic; shipped packs live in ``bordin.instruments``.
    """

    __tablename__ = "content_packs"
    __table_args__ = (UniqueConstraint("clinic_id", "instrument", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    instrument: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
