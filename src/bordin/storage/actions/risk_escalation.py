"""Escalation of risk answers nobody acknowledged in time (see :mod:`.risk`).

Exactly once, also with several checkers at once: the due events are locked
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers), ``escalated_at`` is
set by a conditional update that only one checker can win, and a notification is unique
per person, event and reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bordin.storage.actions.risk import log_risk_step, notify_risk
from bordin.storage.audit import record_event
from bordin.storage.models import Clinic, RiskEvent, User, utcnow

__all__ = ["escalate_overdue_risks"]


def _escalation_recipients(db: Session, event: RiskEvent) -> tuple[list[int], str]:
    """The supervisors of the therapist's team, else the clinic's admins (and which)."""
    therapist = db.get(User, event.therapist_id)
    if therapist is not None and therapist.team_id is not None:
        supervisors = db.scalars(
            select(User.id)
            .where(
                User.clinic_id == event.clinic_id,
                User.team_id == therapist.team_id,
                User.role == "supervisor",
                User.active.is_(True),
            )
            .order_by(User.id)
        ).all()
        if supervisors:
            return list(supervisors), "supervisor"
    admins = db.scalars(
        select(User.id)
        .where(User.clinic_id == event.clinic_id, User.role == "admin", User.active.is_(True))
        .order_by(User.id)
    ).all()
    return list(admins), "admin"


def escalate_overdue_risks(db: Session, *, now: datetime | None = None) -> list[RiskEvent]:
    """Notify the supervisors of every risk answer unacknowledged for longer than its
    clinic's ``risk_escalate_minutes``; return the events escalated by this call.

    ``now`` is the clock (tests and ``bordin risk escalate --at`` pass it). Safe to run
    from several processes at once: each event is escalated by exactly one of them.
    """
    at = now or utcnow()
    candidates = db.execute(
        select(RiskEvent.id, RiskEvent.answered_at, Clinic.risk_escalate_minutes)
        .join(Clinic, Clinic.id == RiskEvent.clinic_id)
        .where(RiskEvent.acknowledged_at.is_(None), RiskEvent.escalated_at.is_(None))
        .order_by(RiskEvent.id)
    ).all()
    due = [
        row.id
        for row in candidates
        if row.answered_at + timedelta(minutes=row.risk_escalate_minutes) <= at
    ]
    if not due:
        return []
    locked = db.scalars(
        select(RiskEvent)
        .where(
            RiskEvent.id.in_(due),
            RiskEvent.acknowledged_at.is_(None),
            RiskEvent.escalated_at.is_(None),
        )
        .order_by(RiskEvent.id)
        .with_for_update(skip_locked=True)
    ).all()
    escalated = []
    for event in locked:
        won = db.execute(
            update(RiskEvent)
            .where(
                RiskEvent.id == event.id,
                RiskEvent.acknowledged_at.is_(None),
                RiskEvent.escalated_at.is_(None),
            )
            .values(escalated_at=at)
            .execution_options(synchronize_session=False)
        )
        if getattr(won, "rowcount", 0) != 1:
            continue
        db.refresh(event)
        recipients, role = _escalation_recipients(db, event)
        minutes = db.scalar(
            select(Clinic.risk_escalate_minutes).where(Clinic.id == event.clinic_id)
        )
        log_risk_step(
            db,
            event,
            "escalated",
            at=at,
            detail={"after_minutes": minutes, "to_role": role, "recipients": recipients},
        )
        record_event(
            db,
            actor=None,
            action="risk.escalate",
            object_type="risk_event",
            object_id=event.id,
            client_id=event.client_id,
            clinic_id=event.clinic_id,
            detail={"to_role": role, "recipients": len(recipients)},
        )
        for recipient in recipients:
            notify_risk(db, event, recipient_id=recipient, reason="escalation", now=at)
        escalated.append(event)
    db.flush()
    return escalated
