"""Clients' contact details: kept apart from clinical data, encrypted, read only in scope.

An email address (and a mobile number, for a later SMS provider) lives in its own table,
encrypted under ``BORDIN_CONTACT_KEY`` (:mod:`bordin.storage.contact_cipher`). Staff who
may see the client may set, read and delete it; every read is audited
(``contact.read``), and deletion (on the client's request) removes the row. Exports never
include it: they read clinical tables only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bordin.errors import InputError
from bordin.storage.access import require_client
from bordin.storage.audit import record_event
from bordin.storage.contact_cipher import ContactCipher
from bordin.storage.models import ClientContact, User, utcnow

__all__ = [
    "ContactDetails",
    "check_email",
    "delete_client_contact",
    "read_client_contact",
    "set_client_contact",
]

_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclass(frozen=True)
class ContactDetails:
    """A client's contact details, decrypted.

    Attributes
    ----------
    client_id : int
        The client.
    email : str or None
        Email address.
    phone : str or None
        Mobile number in E.164 form (``+4915112345678``).
    updated_at : datetime
        When they were last set.
    """

    client_id: int
    email: str | None
    phone: str | None
    updated_at: datetime


def check_email(email: str) -> str:
    """An email address, trimmed and checked for a usable form.

    Raises
    ------
    InputError
        Not of the form ``name@domain.tld`` or longer than 254 characters.
    """
    value = email.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InputError("an email address is like name@example.org", column="email")
    return value


def _check_phone(phone: str) -> str:
    value = re.sub(r"[\s()-]", "", phone)
    if not _PHONE.match(value):
        raise InputError("a mobile number is in international form: +4915112345678", column="phone")
    return value


def set_client_contact(
    db: Session,
    *,
    actor: User,
    cipher: ContactCipher,
    client_id: int,
    email: str | None,
    phone: str | None = None,
) -> None:
    """Set (replace) a client's contact details; None or empty leaves a field unset.

    Raises
    ------
    NotFound
        The client is not in the caller's scope.
    InputError
        A malformed address or number (nothing is stored).
    """
    client = require_client(db, actor, client_id)
    email_value = check_email(email) if email and email.strip() else None
    phone_value = _check_phone(phone) if phone and phone.strip() else None
    row = db.scalar(select(ClientContact).where(ClientContact.client_id == client.id))
    if row is None:
        row = ClientContact(client_id=client.id, updated_by=actor.id)
        db.add(row)
    row.email_enc = cipher.encrypt(email_value) if email_value else None
    row.phone_enc = cipher.encrypt(phone_value) if phone_value else None
    row.updated_by = actor.id
    row.updated_at = utcnow()
    db.flush()
    record_event(
        db,
        actor=actor,
        action="contact.set",
        object_type="client_contact",
        object_id=row.id,
        client_id=client.id,
        detail={"email": email_value is not None, "phone": phone_value is not None},
    )


def read_client_contact(
    db: Session, *, actor: User, cipher: ContactCipher, client_id: int
) -> ContactDetails | None:
    """A client's contact details (None when there are none); audited as ``contact.read``.

    Raises
    ------
    NotFound
        The client is not in the caller's scope.
    """
    client = require_client(db, actor, client_id)
    row = db.scalar(select(ClientContact).where(ClientContact.client_id == client.id))
    record_event(
        db,
        actor=actor,
        action="contact.read",
        object_type="client_contact",
        object_id=row.id if row is not None else None,
        client_id=client.id,
        detail={"found": row is not None},
    )
    if row is None:
        return None
    return ContactDetails(
        client_id=client.id,
        email=cipher.decrypt(row.email_enc) if row.email_enc else None,
        phone=cipher.decrypt(row.phone_enc) if row.phone_enc else None,
        updated_at=row.updated_at,
    )


def delete_client_contact(db: Session, *, actor: User, client_id: int) -> bool:
    """Delete a client's contact details (on request); whether there were any. Queued
    messages to the client are then not sent (the address is looked up at send time).

    Raises
    ------
    NotFound
        The client is not in the caller's scope.
    """
    client = require_client(db, actor, client_id)
    result = db.execute(delete(ClientContact).where(ClientContact.client_id == client.id))
    deleted = bool(result.rowcount)  # type: ignore[attr-defined]
    record_event(
        db,
        actor=actor,
        action="contact.delete",
        object_type="client_contact",
        client_id=client.id,
        detail={"deleted": deleted},
    )
    return deleted
