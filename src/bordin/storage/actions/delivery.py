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
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_client
from bordin.storage.actions.forms import DEFAULT_LINK_LIFETIME, create_form_request
from bordin.storage.actions.outbox import enqueue_email
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
    "NotSent",
    "OutgoingEmail",
    "deliver_form",
    "forget_spent_tokens",
    "mark_filled_on_paper",
    "prepare_emails",
    "queue_reminders",
    "resend_form",
]


@dataclass(frozen=True)
class OutgoingEmail:
    """One email ready for SMTP.

    Attributes
    ----------
    outbox_id : int
        The outbox row.
    attempt : int
        The attempt number of this claim (its result is recorded against it).
    to : str
        Recipient address.
    subject, body : str
        Subject line and plain-text body (the clinic's name and a link, or a notice).
    message_id : str
        The Message-ID header, the same at every attempt.
    """

    outbox_id: int
    attempt: int
    to: str
    subject: str
    body: str
    message_id: str


def _form_subject(clinic: str, kind: str) -> str:
    return f"{clinic}: reminder of your form" if kind == "reminder" else f"{clinic}: a short form"


def _form_body(clinic: str, link: str, kind: str) -> str:
    opening = (
        f"A reminder from {clinic}: your short form is still open."
        if kind == "reminder"
        else f"{clinic} asks you to fill in a short form before your session."
    )
    return f"{opening}\n\n{link}\n\nThis link is for you alone; please do not forward it.\n"


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
            subject=_form_subject(clinic.name if clinic else "", "form"),
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
            subject=_form_subject(clinics[delivery.clinic_id], "reminder"),
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


@dataclass(frozen=True)
class NotSent:
    """A claimed message that must not be sent now, and why: for good (``retry`` False:
    the form was answered, the address deleted) or for now (the contact key cannot decrypt
    it)."""

    outbox_id: int
    attempt: int
    reason: str
    retry: bool = False


def prepare_emails(
    db: Session,
    messages: Sequence[OutboxMessage],
    *,
    cipher: ContactCipher,
    base_url: str,
    now: datetime,
) -> list[OutgoingEmail | NotSent]:
    """The email of each claimed outbox row (in order), or why it must not be sent.

    A form or reminder is not sent once its form was answered, filled on paper, replaced
    or expired; a client's message is not sent when the address was deleted. The rows'
    addresses, deliveries and forms are read in a few queries for the whole batch.
    """
    client_ids = {m.client_id for m in messages if m.client_id is not None}
    user_ids = {m.user_id for m in messages if m.user_id is not None}
    delivery_ids = {m.form_delivery_id for m in messages if m.form_delivery_id is not None}
    contacts = {
        c.client_id: c
        for c in db.scalars(select(ClientContact).where(ClientContact.client_id.in_(client_ids)))
    }
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(user_ids)))}
    forms = {
        d.id: (d, r)
        for d, r in db.execute(
            select(FormDelivery, FormRequest)
            .join(FormRequest, FormRequest.id == FormDelivery.form_request_id)
            .where(FormDelivery.id.in_(delivery_ids))
        )
    }
    clinics = {
        c.id: c.name
        for c in db.scalars(
            select(Clinic).where(Clinic.id.in_({d.clinic_id for d, _ in forms.values()}))
        )
    }
    prepared: list[OutgoingEmail | NotSent] = []
    for message in messages:
        try:
            outcome = _prepare(message, contacts, users, forms, clinics, cipher, base_url, now)
        except InputError as exc:
            prepared.append(NotSent(message.id, message.attempts, str(exc), retry=True))
            continue
        if isinstance(outcome, str):
            prepared.append(NotSent(message.id, message.attempts, outcome))
            continue
        to, body = outcome
        prepared.append(
            OutgoingEmail(
                outbox_id=message.id,
                attempt=message.attempts,
                to=to,
                subject=message.subject,
                body=body,
                message_id=message.message_id,
            )
        )
    return prepared


def _prepare(
    message: OutboxMessage,
    contacts: dict[int, ClientContact],
    users: dict[int, User],
    forms: dict[int, tuple[FormDelivery, FormRequest]],
    clinics: dict[int, str],
    cipher: ContactCipher,
    base_url: str,
    now: datetime,
) -> tuple[str, str] | str:
    """(address, body) of one message, or why it must not be sent."""
    if message.client_id is not None:
        contact = contacts.get(message.client_id)
        if contact is None or contact.email_enc is None:
            return "no email address"
        to = cipher.decrypt(contact.email_enc)
    elif message.user_id is not None:
        user = users.get(message.user_id)
        if user is None or not user.active or "@" not in user.username:
            return "the user has no email address or is disabled"
        to = user.username
    else:
        return "no recipient"
    body = message.body
    if message.kind in ("form", "reminder"):
        found = forms.get(message.form_delivery_id or 0)
        if found is None:
            return "the form is gone"
        delivery, request = found
        if request.submitted_at is not None:
            return "the form was answered"
        if delivery.paper_at is not None or delivery.replaced_by is not None:
            return "the form was filled on paper or replaced"
        if delivery.token_enc is None or request.expires_at <= now:
            return "the link expired"
        link = f"{base_url.rstrip('/')}/f/{cipher.decrypt(delivery.token_enc)}"
        body = _form_body(clinics.get(delivery.clinic_id, ""), link, message.kind)
    if not body:
        return "empty message"
    return to, body
