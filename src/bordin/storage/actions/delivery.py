"""Form links sent by email: delivery, reminders, resend, "filled on paper", and the text
of each email as the sender builds it.

A delivery is a form request made for a client's session together with a
:class:`~bordin.storage.models.FormDelivery` row and, when the client has an email
address, a queued ``form`` message, all in the caller's transaction. The email holds the
clinic's name and the link, nothing clinical. The link's token is kept encrypted on the
delivery while the form is open, so reminders can repeat it; it is erased once the form
is answered, filled on paper or replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bordin.errors import Conflict, NotFound
from bordin.storage.access import require_client
from bordin.storage.actions.forms import DEFAULT_LINK_LIFETIME, create_form_request
from bordin.storage.actions.outbox import enqueue_email
from bordin.storage.actions.outgoing import form_subject
from bordin.storage.audit import record_event
from bordin.storage.contact_cipher import ContactCipher
from bordin.storage.models import (
    Client,
    ClientContact,
    Clinic,
    FormDelivery,
    FormRequest,
    OutboxMessage,
    User,
    utcnow,
)

__all__ = [
    "deliver_form",
    "forget_spent_tokens",
    "mark_filled_on_paper",
    "queue_reminders",
    "resend_form",
]


def _has_email(db: Session, client_id: int) -> bool:
    found = db.scalar(
        select(ClientContact.id).where(
            ClientContact.client_id == client_id, ClientContact.email_enc.is_not(None)
        )
    )
    return found is not None


def deliver_form(
    db: Session,
    *,
    actor: User,
    cipher: ContactCipher,
    session_id: int,
    instruments: Sequence[str],
    language: str,
    reason: str,
    due_at: datetime | None = None,
    lifetime: timedelta = DEFAULT_LINK_LIFETIME,
    now: datetime | None = None,
) -> FormDelivery:
    """Make a form link for a session and queue its email, in one transaction.

    ``now`` (default: the current time) is when the link's lifetime starts; the sender
    passes its clock.

    Older open deliveries of the same session are marked replaced (their links are
    cancelled by :func:`~bordin.storage.actions.create_form_request`). Without an email
    address the delivery is still recorded (``not_emailed="no_email"``) so that the form
    shows as due on the non-completer list, from where it can be resent or marked as
    filled on paper.

    Raises
    ------
    NotFound, InputError, Conflict
        As :func:`~bordin.storage.actions.create_form_request`.
    """
    request, token = create_form_request(
        db,
        actor=actor,
        session_id=session_id,
        instruments=instruments,
        language=language,
        lifetime=lifetime,
    )
    if now is not None:
        request.expires_at = now + lifetime
    client = db.get(Client, request.client_id)
    if client is None:  # impossible through the foreign key; a clear error regardless
        raise NotFound(f"client {request.client_id} not found")
    emailed = _has_email(db, client.id)
    delivery = FormDelivery(
        clinic_id=client.clinic_id,
        client_id=client.id,
        form_request_id=request.id,
        token_enc=cipher.encrypt(token),
        reason=reason,
        due_at=due_at or now or request.created_at,
        not_emailed=None if emailed else "no_email",
        reminders_sent=0,
        created_at=request.created_at,
    )
    db.add(delivery)
    db.flush()
    older = db.scalars(
        select(FormDelivery)
        .join(FormRequest, FormRequest.id == FormDelivery.form_request_id)
        .where(
            FormRequest.session_id == request.session_id,
            FormDelivery.id != delivery.id,
            FormDelivery.replaced_by.is_(None),
            FormRequest.submitted_at.is_(None),
        )
    ).all()
    for previous in older:
        previous.replaced_by = delivery.id
        previous.token_enc = None
    if emailed:
        clinic = db.get(Clinic, client.clinic_id)
        enqueue_email(
            db,
            to_client=client.id,
            subject=form_subject(clinic.name if clinic else "", "form"),
            body=None,
            idempotency_key=f"form:{request.id}",
            kind="form",
            form_delivery_id=delivery.id,
            actor=actor,
        )
    record_event(
        db,
        actor=actor,
        action="delivery.create",
        object_type="form_delivery",
        object_id=delivery.id,
        client_id=client.id,
        detail={"reason": reason, "emailed": emailed, "form_request": request.id},
    )
    return delivery


def _open_delivery(db: Session, actor: User, delivery_id: int) -> tuple[FormDelivery, FormRequest]:
    delivery = db.get(FormDelivery, delivery_id)
    if delivery is None:
        raise NotFound(f"form delivery {delivery_id} not found")
    require_client(db, actor, delivery.client_id)
    request = db.get(FormRequest, delivery.form_request_id)
    if request is None:
        raise NotFound(f"form delivery {delivery_id} not found")
    if request.submitted_at is not None:
        raise Conflict("this form was answered already")
    if delivery.paper_at is not None:
        raise Conflict("this form was marked as filled on paper")
    if delivery.replaced_by is not None:
        raise Conflict("this form link was replaced by a newer one")
    return delivery, request


def resend_form(
    db: Session,
    *,
    actor: User,
    cipher: ContactCipher,
    delivery_id: int,
    lifetime: timedelta = DEFAULT_LINK_LIFETIME,
) -> FormDelivery:
    """Send a fresh link for an unanswered form (the old link stops working).

    Raises
    ------
    NotFound
        The delivery is not in the caller's scope.
    Conflict
        The form was answered, filled on paper or replaced already.
    """
    delivery, request = _open_delivery(db, actor, delivery_id)
    return deliver_form(
        db,
        actor=actor,
        cipher=cipher,
        session_id=request.session_id,
        instruments=request.instruments,
        language=request.language,
        reason="resend",
        due_at=delivery.due_at,
        lifetime=lifetime,
    )


def mark_filled_on_paper(db: Session, *, actor: User, delivery_id: int) -> FormDelivery:
    """Record that the client filled this form on paper: the link is cancelled, no more
    reminders go out and the client leaves the non-completer list. The answers are typed
    in on the session's paper-form page.

    Raises
    ------
    NotFound, Conflict
        As :func:`resend_form`.
    """
    delivery, request = _open_delivery(db, actor, delivery_id)
    now = utcnow()
    delivery.paper_at = now
    delivery.token_enc = None
    if request.expires_at > now:
        request.expires_at = now
    db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.form_delivery_id == delivery.id, OutboxMessage.status == "queued")
        .values(status="cancelled", last_error="filled on paper")
        .execution_options(synchronize_session=False)
    )
    record_event(
        db,
        actor=actor,
        action="delivery.paper",
        object_type="form_delivery",
        object_id=delivery.id,
        client_id=delivery.client_id,
        detail={"form_request": request.id},
    )
    return delivery


def queue_reminders(db: Session, *, now: datetime, after: timedelta, max_reminders: int) -> int:
    """Queue a reminder for each emailed form still open ``after`` its last email, up to
    ``max_reminders`` per link; how many were queued. Idempotent: the reminder's key is
    the link and its number."""
    if max_reminders < 1:
        return 0
    due = db.scalars(
        select(FormDelivery)
        .join(FormRequest, FormRequest.id == FormDelivery.form_request_id)
        .where(
            FormDelivery.not_emailed.is_(None),
            FormDelivery.paper_at.is_(None),
            FormDelivery.replaced_by.is_(None),
            FormDelivery.token_enc.is_not(None),
            FormDelivery.reminders_sent < max_reminders,
            FormDelivery.last_sent_at.is_not(None),
            FormDelivery.last_sent_at <= now - after,
            FormRequest.submitted_at.is_(None),
            FormRequest.expires_at > now,
        )
        .order_by(FormDelivery.id)
    ).all()
    clinics: dict[int, str] = {}
    for delivery in due:
        if delivery.clinic_id not in clinics:
            clinic = db.get(Clinic, delivery.clinic_id)
            clinics[delivery.clinic_id] = clinic.name if clinic else ""
        number = delivery.reminders_sent + 1
        enqueue_email(
            db,
            to_client=delivery.client_id,
            subject=form_subject(clinics[delivery.clinic_id], "reminder"),
            body=None,
            idempotency_key=f"reminder:{delivery.form_request_id}:{number}",
            kind="reminder",
            form_delivery_id=delivery.id,
        )
        delivery.reminders_sent = number
        # the next reminder is counted from this one's sending, not from the first email
        delivery.last_sent_at = None
    db.flush()
    return len(due)


def forget_spent_tokens(db: Session, *, now: datetime) -> int:
    """Erase the kept tokens of links that can no longer be used (answered or expired);
    how many. The sender runs it on every pass."""
    spent = select(FormRequest.id).where(
        (FormRequest.submitted_at.is_not(None)) | (FormRequest.expires_at <= now)
    )
    result = db.execute(
        update(FormDelivery)
        .where(FormDelivery.token_enc.is_not(None), FormDelivery.form_request_id.in_(spent))
        .values(token_enc=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
