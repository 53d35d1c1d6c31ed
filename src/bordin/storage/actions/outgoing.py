"""The emails a sender is about to send: their text (the clinic's name and the link, never
clinical content), built for a claimed batch with a few queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import InputError
from bordin.storage.contact_cipher import ContactCipher
from bordin.storage.models import (
    ClientContact,
    Clinic,
    FormDelivery,
    FormRequest,
    OutboxMessage,
    User,
)

__all__ = ["NotSent", "OutgoingEmail", "form_body", "form_subject", "prepare_emails"]


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


def form_subject(clinic: str, kind: str) -> str:
    """The subject of a form email or reminder: the clinic's name, nothing clinical."""
    return f"{clinic}: reminder of your form" if kind == "reminder" else f"{clinic}: a short form"


def form_body(clinic: str, link: str, kind: str) -> str:
    """The body of a form email or reminder: the clinic's name and the link only."""
    opening = (
        f"A reminder from {clinic}: your short form is still open."
        if kind == "reminder"
        else f"{clinic} asks you to fill in a short form before your session."
    )
    return f"{opening}\n\n{link}\n\nThis link is for you alone; please do not forward it.\n"


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
        body = form_body(clinics.get(delivery.clinic_id, ""), link, message.kind)
    if not body:
        return "empty message"
    return to, body
