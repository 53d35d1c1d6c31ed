"""E-mails owed for risk notifications, handed to a sender once each (see :mod:`.risk`).

Each :class:`~bordin.storage.models.RiskEmail` row is written with its notification; its
text holds no clinical content (no client, questionnaire, item or answer), only a link to
sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage.actions.risk import log_risk_step
from bordin.storage.models import Clinic, RiskEmail, RiskEvent, StaffNotification, User, utcnow

__all__ = ["OwedEmail", "risk_email_text", "take_risk_emails"]


@dataclass(frozen=True)
class OwedEmail:
    """An e-mail to hand to the sender: address, subject and body hold no clinical content.

    Attributes
    ----------
    idempotency_key : str
        ``risk-notification:<notification id>``: the sender sends each key once.
    recipient_id : int
        The staff member's user id.
    to : str
        Their username (the address staff sign in with).
    subject, body : str
        The message (:func:`risk_email_text`).
    """

    idempotency_key: str
    recipient_id: int
    to: str
    subject: str
    body: str


def risk_email_text(*, reason: str, clinic_name: str, link: str) -> tuple[str, str]:
    """Subject and body of a risk notification e-mail: no client, item or answer."""
    subject = f"{clinic_name}: please sign in to Bordin"
    if reason == "escalation":
        first = (
            "A form answer at your clinic was not acknowledged in time and needs a "
            "clinician's prompt attention."
        )
    else:
        first = "A form answer from one of your clients needs your prompt attention."
    body = (
        f"{first}\n\nSign in to read it: {link}\n\n"
        "This message holds no clinical details; they are shown only after you sign in.\n"
    )
    return subject, body


def take_risk_emails(
    db: Session, *, base_url: str, limit: int = 100, now: datetime | None = None
) -> list[OwedEmail]:
    """Hand over up to ``limit`` owed e-mails to a sender, each once.

    The rows are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so parallel senders take
    different rows) and marked handed over in the caller's transaction, with an
    ``email_handed_over`` step in the risk log: queue them in the outbox in that same
    transaction and a message is neither lost nor queued twice.
    """
    at = now or utcnow()
    rows = db.scalars(
        select(RiskEmail)
        .where(RiskEmail.handed_over_at.is_(None))
        .order_by(RiskEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    owed = []
    for row in rows:
        row.handed_over_at = at
        user = db.get(User, row.recipient_id)
        clinic = db.get(Clinic, row.clinic_id)
        notification = db.get(StaffNotification, row.notification_id)
        event = db.get(RiskEvent, notification.risk_event_id) if notification else None
        if user is None or clinic is None or event is None:
            continue
        subject, body = risk_email_text(
            reason=row.reason,
            clinic_name=clinic.name,
            link=base_url.rstrip("/") + row.link_path,
        )
        owed.append(
            OwedEmail(
                idempotency_key=row.idempotency_key,
                recipient_id=user.id,
                to=user.username,
                subject=subject,
                body=body,
            )
        )
        log_risk_step(
            db,
            event,
            "email_handed_over",
            at=at,
            recipient_id=user.id,
            detail={"idempotency_key": row.idempotency_key},
        )
    db.flush()
    return owed
