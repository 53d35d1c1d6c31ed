"""Schedules: sessions booked ahead, and when an episode's forms go out.

Per episode, a :class:`~bordin.storage.models.DeliverySchedule` says how the next form
reaches the client: ``before_session`` (``hours_before`` each booked session),
``weekly`` (every seven days from ``next_due_at``) or ``manual`` (only when staff send
it), with the instruments and the language. :func:`queue_due_forms`, run by the sender on
every pass, makes the forms that have come due: for a booked session it records the
numbered session (dated the booking's day in the clinic's time zone) and delivers the
form (:func:`~bordin.storage.actions.deliver_form`), acting for the client's therapist;
each is audited, and a system row records that the schedule made it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import BordinError, Conflict, InputError, NotFound
from bordin.storage.access import require_client
from bordin.storage.actions.care import check_form_defaults, create_session
from bordin.storage.actions.delivery import deliver_form
from bordin.storage.actions.forms import DEFAULT_LINK_LIFETIME
from bordin.storage.audit import record_event
from bordin.storage.contact_cipher import ContactCipher
from bordin.storage.models import (
    BookedSession,
    Client,
    Clinic,
    DeliverySchedule,
    Episode,
    User,
    utcnow,
)

__all__ = [
    "SCHEDULE_MODES",
    "ScheduleMode",
    "book_session",
    "cancel_booking",
    "queue_due_forms",
    "set_delivery_schedule",
]

ScheduleMode = Literal["before_session", "weekly", "manual"]
SCHEDULE_MODES: tuple[ScheduleMode, ...] = ("before_session", "weekly", "manual")
WEEK = timedelta(days=7)
_log = logging.getLogger("bordin.delivery")
MAX_HOURS_BEFORE = timedelta(hours=336)


def _episode(db: Session, actor: User, episode_id: int) -> Episode:
    episode = db.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"episode {episode_id} not found")
    require_client(db, actor, episode.client_id)
    return episode


def set_delivery_schedule(
    db: Session,
    *,
    actor: User,
    episode_id: int,
    mode: str,
    instruments: Sequence[str],
    language: str = "en",
    hours_before: int = 24,
    first_due_at: datetime | None = None,
) -> DeliverySchedule:
    """Set how an episode's forms are sent (replacing any earlier schedule).

    Raises
    ------
    InputError
        An unknown mode, no or unknown instruments, a bad language, ``hours_before``
        outside 1-336, or a weekly schedule without a timezone-aware first time.
    NotFound
        The episode is not in the caller's scope.
    Conflict
        The episode is closed.
    """
    episode = _episode(db, actor, episode_id)
    if episode.closed_on is not None:
        raise Conflict(f"episode {episode_id} is closed")
    if mode not in SCHEDULE_MODES:
        raise InputError(f"the mode is one of {', '.join(SCHEDULE_MODES)}", column="mode")
    language, chosen = check_form_defaults(language, instruments)
    if not chosen:
        raise InputError("name at least one instrument", column="instruments")
    if not 1 <= hours_before <= MAX_HOURS_BEFORE.total_seconds() // 3600:
        raise InputError("hours before the session are 1-336", column="hours_before")
    if mode == "weekly" and (first_due_at is None or first_due_at.tzinfo is None):
        raise InputError("a weekly schedule needs its first time", column="first_due_at")
    schedule = db.scalar(select(DeliverySchedule).where(DeliverySchedule.episode_id == episode.id))
    if schedule is None:
        schedule = DeliverySchedule(episode_id=episode.id, updated_by=actor.id)
        db.add(schedule)
    schedule.mode = mode
    schedule.instruments = chosen
    schedule.language = language
    schedule.hours_before = hours_before
    schedule.next_due_at = first_due_at if mode == "weekly" else None
    schedule.updated_by = actor.id
    schedule.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="schedule.set",
        object_type="delivery_schedule",
        object_id=schedule.id,
        client_id=episode.client_id,
        detail={"mode": mode, "instruments": chosen, "hours_before": hours_before},
    )
    return schedule


def book_session(db: Session, *, actor: User, client_id: int, starts_at: datetime) -> BookedSession:
    """Book a session ahead in the client's open episode.

    Raises
    ------
    InputError
        ``starts_at`` is naive (a time zone is needed).
    NotFound
        The client is not in the caller's scope.
    Conflict
        The client has no open episode.
    """
    client = require_client(db, actor, client_id)
    if starts_at.tzinfo is None:
        raise InputError("a booked time needs its time zone", column="starts_at")
    episode = db.scalar(
        select(Episode)
        .where(Episode.client_id == client.id, Episode.closed_on.is_(None))
        .order_by(Episode.id.desc())
    )
    if episode is None:
        raise Conflict(f"client {client_id} has no open episode; open one first")
    booking = BookedSession(
        client_id=client.id, episode_id=episode.id, starts_at=starts_at, created_by=actor.id
    )
    db.add(booking)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="booking.create",
        object_type="booked_session",
        object_id=booking.id,
        client_id=client.id,
        detail={"starts_at": booking.starts_at.isoformat()},
    )
    return booking


def cancel_booking(db: Session, *, actor: User, booking_id: int) -> BookedSession:
    """Cancel a booked session (its form, if not sent yet, is not sent).

    Raises
    ------
    NotFound
        Not in the caller's scope.
    Conflict
        Cancelled already.
    """
    booking = db.get(BookedSession, booking_id)
    if booking is None:
        raise NotFound(f"booking {booking_id} not found")
    require_client(db, actor, booking.client_id)
    if booking.cancelled_at is not None:
        raise Conflict(f"booking {booking_id} is cancelled already")
    booking.cancelled_at = utcnow()
    record_event(
        db,
        actor=actor,
        action="booking.cancel",
        object_type="booked_session",
        object_id=booking.id,
        client_id=booking.client_id,
    )
    return booking


def _schedule_send(
    db: Session,
    *,
    cipher: ContactCipher,
    client: Client,
    schedule: DeliverySchedule,
    when: datetime,
    due_at: datetime,
    reason: str,
    lifetime: timedelta,
    now: datetime,
) -> int:
    """Record the session and deliver the form; the delivery's form request id."""
    therapist = db.get(User, client.therapist_id)
    clinic = db.get(Clinic, client.clinic_id)
    if therapist is None or clinic is None:
        raise NotFound(f"client {client.id} has no therapist")
    local_day = when.astimezone(ZoneInfo(clinic.timezone)).date()
    session = create_session(db, actor=therapist, client_id=client.id, session_date=local_day)
    delivery = deliver_form(
        db,
        actor=therapist,
        cipher=cipher,
        session_id=session.id,
        instruments=schedule.instruments,
        language=schedule.language,
        reason=reason,
        due_at=due_at,
        lifetime=lifetime,
        now=now,
    )
    record_event(
        db,
        actor=None,
        action="schedule.send",
        object_type="form_delivery",
        object_id=delivery.id,
        client_id=client.id,
        clinic_id=client.clinic_id,
        detail={"schedule": schedule.id, "session": session.number, "reason": reason},
    )
    return delivery.form_request_id


def queue_due_forms(
    db: Session,
    *,
    cipher: ContactCipher,
    now: datetime,
    lifetime: timedelta = DEFAULT_LINK_LIFETIME,
    limit: int = 200,
) -> int:
    """Deliver the forms that have come due at ``now``; how many.

    A booked session is due ``hours_before`` its start under a ``before_session``
    schedule, until it starts; a ``weekly`` schedule at ``next_due_at`` (then moved on by
    whole weeks past ``now``). Bookings and schedules are locked (``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL), so two senders never make the same form twice.
    """
    made = 0
    bookings = db.execute(
        select(BookedSession, DeliverySchedule)
        .join(DeliverySchedule, DeliverySchedule.episode_id == BookedSession.episode_id)
        .join(Episode, Episode.id == BookedSession.episode_id)
        .where(
            DeliverySchedule.mode == "before_session",
            BookedSession.form_request_id.is_(None),
            BookedSession.cancelled_at.is_(None),
            BookedSession.starts_at > now,
            BookedSession.starts_at <= now + MAX_HOURS_BEFORE,
            Episode.closed_on.is_(None),
        )
        .order_by(BookedSession.starts_at, BookedSession.id)
        .limit(limit)
        .with_for_update(of=BookedSession, skip_locked=True)
    ).all()
    for booking, schedule in bookings:
        if booking.starts_at - timedelta(hours=schedule.hours_before) > now:
            continue
        client = db.get(Client, booking.client_id)
        if client is None:
            continue
        try:
            with db.begin_nested():
                booking.form_request_id = _schedule_send(
                    db,
                    cipher=cipher,
                    client=client,
                    schedule=schedule,
                    when=booking.starts_at,
                    due_at=booking.starts_at,
                    reason="schedule",
                    lifetime=lifetime,
                    now=now,
                )
        except BordinError:
            _log.exception("booking %s: the scheduled form could not be made", booking.id)
            continue
        made += 1
    weekly = db.scalars(
        select(DeliverySchedule)
        .join(Episode, Episode.id == DeliverySchedule.episode_id)
        .where(
            DeliverySchedule.mode == "weekly",
            DeliverySchedule.next_due_at <= now,
            Episode.closed_on.is_(None),
        )
        .order_by(DeliverySchedule.id)
        .limit(limit)
        .with_for_update(of=DeliverySchedule, skip_locked=True)
    ).all()
    for schedule in weekly:
        episode = db.get(Episode, schedule.episode_id)
        client = db.get(Client, episode.client_id) if episode else None
        if client is None or schedule.next_due_at is None:
            continue
        due = schedule.next_due_at
        try:
            with db.begin_nested():
                _schedule_send(
                    db,
                    cipher=cipher,
                    client=client,
                    schedule=schedule,
                    when=now,
                    due_at=due,
                    reason="weekly",
                    lifetime=lifetime,
                    now=now,
                )
        except BordinError:
            _log.exception("schedule %s: the weekly form could not be made", schedule.id)
        while due <= now:
            due += WEEK
        schedule.next_due_at = due
        made += 1
    db.flush()
    return made
