"""The demo's delivery content: sessions booked ahead under a schedule, and a non-completer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bordin.storage import actions
from bordin.storage.contact_cipher import ContactCipher
from bordin.storage.models import Episode, User, utcnow

__all__ = ["add_delivery_demo"]


def _open_episode(db: Session, client_id: int) -> int:
    from sqlalchemy import select

    found = db.scalar(
        select(Episode.id)
        .where(Episode.client_id == client_id, Episode.closed_on.is_(None))
        .order_by(Episode.id.desc())
    )
    return int(found or 0)


def add_delivery_demo(
    db: Session,
    *,
    therapist: User,
    client_ids: list[int],
    cipher: ContactCipher,
    now: datetime | None = None,
) -> dict[str, int]:
    """Book two sessions ahead for one client (forms 24 hours before each, by email to a
    reserved example address), and leave another client's form unanswered two days after
    it was due, so the non-completer list has someone on it. Returns the ids made."""
    now = now or utcnow()
    booked_client, late_client = client_ids[0], client_ids[1]
    actions.set_client_contact(
        db, actor=therapist, cipher=cipher, client_id=booked_client, email="client@example.org"
    )
    actions.set_delivery_schedule(
        db,
        actor=therapist,
        episode_id=_open_episode(db, booked_client),
        mode="before_session",
        instruments=["sac", "phq9", "gad7"],
        hours_before=24,
    )
    start = now.replace(minute=0, second=0, microsecond=0)
    for days in (3, 10):
        actions.book_session(
            db, actor=therapist, client_id=booked_client, starts_at=start + timedelta(days=days)
        )
    session = actions.create_session(
        db, actor=therapist, client_id=late_client, session_date=(now - timedelta(days=2)).date()
    )
    late = actions.deliver_form(
        db,
        actor=therapist,
        cipher=cipher,
        session_id=session.id,
        instruments=["sac", "phq9"],
        language="en",
        reason="manual",
        due_at=now - timedelta(days=2),
    )
    return {"booked_client": booked_client, "non_completer_delivery": late.id}
