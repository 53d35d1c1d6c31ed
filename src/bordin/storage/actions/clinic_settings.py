"""A clinic's settings: the time zone its pages show dates and times in."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.audit import record_event
from bordin.storage.models import Clinic, User

__all__ = ["clinic_today", "set_clinic_timezone"]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin",
            column="timezone",
        ) from None


def clinic_today(clinic: Clinic, *, now: datetime | None = None) -> date:
    """Today's date in the clinic's time zone (the default date of a new session)."""
    return (now or datetime.now(ZoneInfo("UTC"))).astimezone(_zone(clinic.timezone)).date()


def set_clinic_timezone(db: Session, *, actor: User, timezone: str) -> Clinic:
    """Set the IANA time zone (zoneinfo) of the admin's clinic.

    Raises
    ------
    InputError
        Not a time zone zoneinfo knows.
    """
    require_role(actor, "admin")
    name = timezone.strip()
    _zone(name)
    clinic = db.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound(f"clinic {actor.clinic_id} not found")
    before = clinic.timezone
    clinic.timezone = name
    record_event(
        db,
        actor=actor,
        action="clinic.set_timezone",
        object_type="clinic",
        object_id=clinic.id,
        detail={"from": before, "to": name},
    )
    return clinic
