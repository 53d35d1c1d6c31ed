"""The risk pathway: a risk item endorsed in a form notifies the therapist at once, and the
supervisors when nobody acknowledges it in time; every step goes into the risk log.

Risk items are those the instrument definitions mark with ``risk_from`` (PHQ-9 item 9,
CORE-10 item 6, OQ-45 item 8; see :mod:`bordin.feedback.risk` for the sources). Bordin
never assesses risk: it makes sure the answer reaches a clinician who reviews risk with the
client per the clinic's protocol.

* :func:`raise_risk_events` runs in the transaction that stores the answers (the client's
  link, the kiosk, or a paper form typed in): one :class:`RiskEvent` per endorsed item,
  and :func:`notify_risk` for the client's therapist.
* :func:`notify_risk` writes one :class:`StaffNotification` (shown on the pages until read)
  and one :class:`RiskEmail` owed to that person (no clinical content: a link to sign in),
  in the same transaction.
* ``escalate_overdue_risks`` (:mod:`.risk_escalation`) is the escalation check (the
  service's lifespan loop and ``bordin risk escalate``): each event unacknowledged for the
  clinic's ``risk_escalate_minutes`` notifies the supervisors of the therapist's team (the
  clinic's admins when the team has none), exactly once.
* ``take_risk_emails`` (:mod:`.risk_emails`) hands the owed e-mails to a sender, each
  once, with its idempotency key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.access import can_see_client, require_role
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Client,
    Clinic,
    RiskEmail,
    RiskEvent,
    RiskLogEntry,
    StaffNotification,
    User,
    utcnow,
)

__all__ = [
    "MAX_CRISIS_TEXT",
    "acknowledge_risk",
    "endorsed_risk_items",
    "log_risk_step",
    "notify_risk",
    "open_risk_event",
    "raise_risk_events",
    "set_risk_settings",
]

MAX_CRISIS_TEXT = 2000
MAX_NOTE = 4000


def endorsed_risk_items(
    rows: Sequence[tuple[str, int, float]],
) -> list[tuple[str, int, float]]:
    """The ``(instrument, item, value)`` rows at or above their item's ``risk_from``."""
    from bordin.instruments import get_instrument

    found = []
    for instrument, number, value in rows:
        item = get_instrument(instrument).item(number)
        if item.risk_from is not None and value >= item.risk_from:
            found.append((instrument, number, value))
    return found


def log_risk_step(
    db: Session,
    event: RiskEvent,
    step: str,
    *,
    at: datetime,
    actor: User | None = None,
    actor_kind: str | None = None,
    recipient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> RiskLogEntry:
    """Add one step to the risk log (in the caller's transaction)."""
    entry = RiskLogEntry(
        clinic_id=event.clinic_id,
        risk_event_id=event.id,
        at=at,
        step=step,
        actor_kind=actor_kind or ("user" if actor is not None else "system"),
        actor_id=actor.id if actor is not None else None,
        recipient_id=recipient_id,
        detail=detail or {},
    )
    db.add(entry)
    return entry


def notify_risk(
    db: Session,
    event: RiskEvent,
    *,
    recipient_id: int,
    reason: str,
    now: datetime,
    actor_kind: str = "system",
) -> StaffNotification | None:
    """Notify one staff member of ``event`` on the pages and by an owed e-mail.

    ``reason`` is ``risk`` (the therapist) or ``escalation`` (a supervisor). Writes the
    notification, the e-mail row (``risk-notification:<id>`` is its idempotency key) and
    two risk-log steps, ``notified`` and ``email_queued``. Returns ``None`` (and writes
    nothing) when that person was already notified of the event for that reason.
    """
    existing = db.scalar(
        select(StaffNotification.id).where(
            StaffNotification.user_id == recipient_id,
            StaffNotification.risk_event_id == event.id,
            StaffNotification.reason == reason,
        )
    )
    if existing is not None:
        return None
    notification = StaffNotification(
        clinic_id=event.clinic_id,
        user_id=recipient_id,
        risk_event_id=event.id,
        reason=reason,
        created_at=now,
    )
    db.add(notification)
    db.flush()
    email = RiskEmail(
        clinic_id=event.clinic_id,
        notification_id=notification.id,
        recipient_id=recipient_id,
        idempotency_key=f"risk-notification:{notification.id}",
        reason=reason,
        link_path=f"/risk/{event.id}",
        created_at=now,
    )
    db.add(email)
    db.flush()
    log_risk_step(
        db,
        event,
        "notified",
        at=now,
        actor_kind=actor_kind,
        recipient_id=recipient_id,
        detail={"reason": reason, "notification": notification.id},
    )
    log_risk_step(
        db,
        event,
        "email_queued",
        at=now,
        actor_kind=actor_kind,
        recipient_id=recipient_id,
        detail={"reason": reason, "idempotency_key": email.idempotency_key},
    )
    return notification


def raise_risk_events(
    db: Session,
    *,
    client: Client,
    session_id: int,
    rows: Sequence[tuple[str, int, float]],
    answered_at: datetime,
    language: str = "en",
    form_request_id: int | None = None,
    entered_by: User | None = None,
) -> list[RiskEvent]:
    """Record each endorsed risk item of a stored form and notify the therapist at once.

    Called in the transaction that stores ``rows`` (validated ``(instrument, item,
    value)``), so the answers and their risk events commit together or not at all. An item
    already raised for this session is not raised again.
    """
    raised = []
    actor_kind = "user" if entered_by is not None else "token"
    for instrument, number, value in endorsed_risk_items(rows):
        exists = db.scalar(
            select(RiskEvent.id).where(
                RiskEvent.session_id == session_id,
                RiskEvent.instrument == instrument,
                RiskEvent.item == number,
            )
        )
        if exists is not None:
            continue
        event = RiskEvent(
            clinic_id=client.clinic_id,
            client_id=client.id,
            session_id=session_id,
            form_request_id=form_request_id,
            entered_by=entered_by.id if entered_by is not None else None,
            therapist_id=client.therapist_id,
            instrument=instrument,
            item=number,
            value=value,
            language=language,
            answered_at=answered_at,
        )
        db.add(event)
        db.flush()
        log_risk_step(
            db,
            event,
            "raised",
            at=answered_at,
            actor=entered_by,
            actor_kind=actor_kind,
            detail={"instrument": instrument, "item": number, "value": value},
        )
        record_event(
            db,
            actor=entered_by,
            actor_kind=actor_kind,
            action="risk.raise",
            object_type="risk_event",
            object_id=event.id,
            client_id=client.id,
            clinic_id=client.clinic_id,
            detail={"instrument": instrument, "item": number},
        )
        notify_risk(
            db,
            event,
            recipient_id=client.therapist_id,
            reason="risk",
            now=answered_at,
            actor_kind=actor_kind,
        )
        raised.append(event)
    return raised


def _visible_event(db: Session, actor: User, risk_event_id: int) -> RiskEvent:
    event = db.get(RiskEvent, risk_event_id)
    if event is None or not can_see_client(db, actor, event.client_id):
        raise NotFound(f"risk answer {risk_event_id} not found")
    return event


def open_risk_event(
    db: Session, *, actor: User, risk_event_id: int, now: datetime | None = None
) -> RiskEvent:
    """The risk event as its page shows it; the actor's notifications of it become read
    (a ``viewed`` step in the risk log the first time).

    Raises
    ------
    NotFound
        The event's client is not in the actor's scope.
    """
    event = _visible_event(db, actor, risk_event_id)
    at = now or utcnow()
    unread = db.scalars(
        select(StaffNotification).where(
            StaffNotification.risk_event_id == event.id,
            StaffNotification.user_id == actor.id,
            StaffNotification.read_at.is_(None),
        )
    ).all()
    for notification in unread:
        notification.read_at = at
        log_risk_step(
            db, event, "viewed", at=at, actor=actor, detail={"reason": notification.reason}
        )
    record_event(
        db,
        actor=actor,
        action="risk.view",
        object_type="risk_event",
        object_id=event.id,
        client_id=event.client_id,
    )
    db.flush()
    return event


def acknowledge_risk(
    db: Session,
    *,
    actor: User,
    risk_event_id: int,
    note: str = "",
    now: datetime | None = None,
) -> RiskEvent:
    """Acknowledge a risk answer (anyone who may see the client), with a note.

    Acknowledging stops the escalation. Acknowledging again keeps the first time and
    replaces the note (logged again).

    Raises
    ------
    NotFound
        The event's client is not in the actor's scope.
    InputError
        The note is longer than 4000 characters.
    """
    event = _visible_event(db, actor, risk_event_id)
    if len(note) > MAX_NOTE:
        raise InputError(f"the note is longer than {MAX_NOTE} characters", column="note")
    at = now or utcnow()
    first = event.acknowledged_at is None
    if first:
        event.acknowledged_at = at
        event.acknowledged_by = actor.id
    event.note = note.strip()
    read = db.scalars(
        select(StaffNotification).where(
            StaffNotification.risk_event_id == event.id,
            StaffNotification.user_id == actor.id,
            StaffNotification.read_at.is_(None),
        )
    ).all()
    for notification in read:
        notification.read_at = at
    log_risk_step(
        db,
        event,
        "acknowledged" if first else "note_changed",
        at=at,
        actor=actor,
        detail={"minutes_after_answer": round((at - event.answered_at).total_seconds() / 60, 1)},
    )
    record_event(
        db,
        actor=actor,
        action="risk.acknowledge",
        object_type="risk_event",
        object_id=event.id,
        client_id=event.client_id,
    )
    db.flush()
    return event


def set_risk_settings(
    db: Session, *, actor: User, crisis_text: str, escalate_minutes: int
) -> Clinic:
    """Set the admin's clinic's crisis text (shown to clients after a form with a risk
    item; local crisis numbers) and the minutes before an unacknowledged risk answer is
    escalated to the supervisors.

    Raises
    ------
    InputError
        The text is longer than 2000 characters, or the minutes are not 1 to 10080.
    """
    require_role(actor, "admin")
    text = crisis_text.strip()
    if len(text) > MAX_CRISIS_TEXT:
        raise InputError(
            f"the crisis text is longer than {MAX_CRISIS_TEXT} characters", column="crisis_text"
        )
    if not 1 <= escalate_minutes <= 7 * 24 * 60:
        raise InputError(
            "the escalation delay must be 1 to 10080 minutes (a week)",
            column="risk_escalate_minutes",
        )
    clinic = db.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound(f"clinic {actor.clinic_id} not found")
    before = {"crisis_text": clinic.crisis_text, "minutes": clinic.risk_escalate_minutes}
    clinic.crisis_text = text or None
    clinic.risk_escalate_minutes = escalate_minutes
    record_event(
        db,
        actor=actor,
        action="clinic.set_risk_settings",
        object_type="clinic",
        object_id=clinic.id,
        detail={
            "from": before,
            "to": {"crisis_text": clinic.crisis_text, "minutes": escalate_minutes},
        },
    )
    db.flush()
    return clinic
