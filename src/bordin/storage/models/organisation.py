"""Clinics, teams, users and their login sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bordin.storage.models._base import Base, UTCDateTime, utcnow

Role = Literal["therapist", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("therapist", "supervisor", "admin")


class Clinic(Base):
    """A clinic: the unit of tenancy; nothing is visible across clinics."""

    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: IANA time zone (zoneinfo) in which the pages show the clinic's dates and times
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: shown to a client at the end of any form that asks a risk item (local crisis numbers)
    crisis_text: Mapped[str | None] = mapped_column(Text)
    #: minutes an unacknowledged risk answer waits before the supervisors are notified too
    risk_escalate_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: admins must log in with a second factor (TOTP; ``actions.two_factor``)
    admin_two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Team(Base):
    """A team of therapists inside a clinic; its supervisors see its caseload."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("clinic_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Base):
    """A staff account: therapist, supervisor or admin (clients have no accounts)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('therapist', 'supervisor', 'admin')", name="role"),
        UniqueConstraint("clinic_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    username: Mapped[str] = mapped_column(String(254), unique=True)
    code: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: TOTP (RFC 6238) secret, base32; set when enrolment starts, in use once confirmed
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the last time step whose code was accepted (a code is never accepted twice)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    clinic: Mapped[Clinic] = relationship(lazy="joined")


class LoginSession(Base):
    """A server-side login session; the cookie holds a random token, stored here hashed."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
