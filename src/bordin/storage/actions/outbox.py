"""The email outbox: queue a message in the caller's transaction; claim, and record results.

Delivery is at least once. :func:`enqueue_email` adds a row in the transaction of the
change that causes the message (a form request, a risk alert), so a message exists if and
only if that change committed; queueing the same ``idempotency_key`` twice returns the
first row. A sender (:mod:`bordin.delivery`) claims due rows with
:func:`claim_due_messages` (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
senders share the queue; SQLite serialises writers), which marks them ``sending`` with a
lease and commits before any SMTP traffic. Each result is then committed on its own:
:func:`mark_message_sent`, or :func:`mark_message_failed` (a retry after exponential
backoff, or ``failed``/``bounced`` for good). A sender that dies leaves its rows
``sending``; they are claimed again when the lease runs out, never earlier, so a live
sender's message is never sent twice by another.

Duplicates are possible in one window only: a sender killed after the SMTP server
accepted a message and before the ``sent`` row committed. Every attempt of a message
carries the same Message-ID (:func:`message_id_for`, derived from the idempotency key),
so mail systems that collapse duplicates by Message-ID show it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.audit import record_event
from bordin.storage.models import Client, FormDelivery, OutboxMessage, User, utcnow

__all__ = [
    "MAX_BACKOFF",
    "MessageKind",
    "claim_due_messages",
    "enqueue_email",
    "mark_message_cancelled",
    "mark_message_failed",
    "mark_message_sent",
    "message_id_for",
    "retry_delay",
]

MessageKind = Literal["form", "reminder", "notification"]
MAX_BACKOFF = timedelta(hours=1)


def message_id_for(idempotency_key: str, *, domain: str = "bordin.invalid") -> str:
    """The Message-ID header of every attempt of the message with this key."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def enqueue_email(
    db: Session,
    *,
    to_client: int | None = None,
    to_user: int | None = None,
    subject: str,
    body: str | None,
    idempotency_key: str,
    kind: MessageKind = "notification",
    form_delivery_id: int | None = None,
    not_before: datetime | None = None,
    actor: User | None = None,
) -> OutboxMessage:
    """Queue an email to a client (their stored address) or a staff user, in ``db``'s
    transaction; return the queued row (the existing one if the key was queued before).

    The body must hold no clinical content: a link and the clinic's name, or a notice to
    look at Bordin. ``body`` is None only for ``form`` and ``reminder`` messages, whose
    text (with the link) is built when sent from ``form_delivery_id``. The address is
    looked up when the message is sent (a client's from their encrypted contact details;
    a user's from their username, which is an email address), so a deleted address is
    never used. The queueing is audited (``outbox.queue``).

    Raises
    ------
    InputError
        Not exactly one recipient, an empty or overlong subject or key, or a ``form`` or
        ``reminder`` message without its delivery.
    NotFound
        No such client or user.
    """
    if (to_client is None) == (to_user is None):
        raise InputError("name exactly one recipient: to_client or to_user", column="to")
    subject = " ".join(subject.split())
    if not subject or len(subject) > 200:
        raise InputError("the subject is 1-200 characters on one line", column="subject")
    if not idempotency_key or len(idempotency_key) > 128:
        raise InputError("the idempotency key is 1-128 characters", column="idempotency_key")
    if kind in ("form", "reminder") and form_delivery_id is None:
        raise InputError(f"a {kind} message names its form delivery", column="form_delivery_id")
    if kind == "notification" and not body:
        raise InputError("a notification has a body", column="body")
    existing = db.scalar(
        select(OutboxMessage).where(OutboxMessage.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing
    if to_client is not None:
        client = db.get(Client, to_client)
        if client is None:
            raise NotFound(f"client {to_client} not found")
        clinic_id = client.clinic_id
    else:
        user = db.get(User, to_user)
        if user is None:
            raise NotFound(f"user {to_user} not found")
        clinic_id = user.clinic_id
    now = utcnow()
    message = OutboxMessage(
        clinic_id=clinic_id,
        idempotency_key=idempotency_key,
        kind=kind,
        client_id=to_client,
        user_id=to_user,
        form_delivery_id=form_delivery_id,
        subject=subject,
        body=body,
        status="queued",
        attempts=0,
        next_attempt_at=not_before or now,
        message_id=message_id_for(idempotency_key),
        detail={},
        created_at=now,
    )
    db.add(message)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="outbox.queue",
        object_type="outbox_message",
        object_id=message.id,
        client_id=to_client,
        clinic_id=clinic_id,
        detail={"kind": kind, "to": "client" if to_client is not None else "user"},
    )
    return message


def claim_due_messages(
    db: Session, *, now: datetime, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for this sender: queued ones whose time has
    come, and ``sending`` ones whose lease ran out (their sender died). Each is marked
    ``sending`` until ``now + lease`` and its attempt counted. Commit before sending.

    Rows another sender holds are skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
    """
    due = or_(
        and_(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.lease_until <= now),
    )
    statement = (
        select(OutboxMessage)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(db.scalars(statement))
    for message in claimed:
        if message.status == "sending":
            message.detail = {**message.detail, "reclaimed": message.detail.get("reclaimed", 0) + 1}
        message.status = "sending"
        message.lease_until = now + lease
        message.attempts += 1
    db.flush()
    return claimed


def _finish(
    db: Session, message_pk: int, *, attempt: int, values: dict[str, object]
) -> OutboxMessage | None:
    """Update the message if it is still this sender's claim (``sending``, same attempt)."""
    result = db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_pk,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.get(OutboxMessage, message_pk, populate_existing=True)


def mark_message_sent(db: Session, message_pk: int, *, attempt: int, now: datetime) -> bool:
    """Record that the SMTP server accepted the message (audited as ``outbox.sent``);
    whether it was recorded.

    False when the claim was lost meanwhile (the lease ran out and another sender took
    the message): nothing is changed then. Three statements, so that a sender commits
    each result at once without slowing down.
    """
    row = db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_pk,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == attempt,
        )
        .values(status="sent", sent_at=now, lease_until=None, last_error=None)
        .returning(
            OutboxMessage.kind,
            OutboxMessage.client_id,
            OutboxMessage.clinic_id,
            OutboxMessage.form_delivery_id,
        )
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    kind, client_id, clinic_id, delivery_id = row
    if delivery_id is not None:
        db.execute(
            update(FormDelivery)
            .where(FormDelivery.id == delivery_id)
            .values(last_sent_at=now)
            .execution_options(synchronize_session=False)
        )
    record_event(
        db,
        actor=None,
        action="outbox.sent",
        object_type="outbox_message",
        object_id=message_pk,
        client_id=client_id,
        clinic_id=clinic_id,
        detail={"kind": kind, "attempts": attempt},
    )
    return True


def retry_delay(attempts: int, *, base: timedelta) -> timedelta:
    """Exponential backoff: ``base``, twice that, four times, ... at most :data:`MAX_BACKOFF`."""
    if attempts < 1:
        raise InputError("attempts start at 1", column="attempts")
    return min(base * (2 ** min(attempts - 1, 30)), MAX_BACKOFF)


def mark_message_failed(
    db: Session,
    message_pk: int,
    *,
    attempt: int,
    now: datetime,
    error: str,
    permanent: bool = False,
    bounced: bool = False,
    max_attempts: int,
    backoff: timedelta,
) -> OutboxMessage | None:
    """Record a failed attempt: retry after :func:`retry_delay`, or give up.

    ``bounced`` (the server refused the recipient for good) and ``permanent`` (any other
    5xx refusal) end the message at once; otherwise it fails for good after
    ``max_attempts`` attempts. Returns None when the claim was lost meanwhile.
    """
    if bounced:
        status = "bounced"
    elif permanent or attempt >= max_attempts:
        status = "failed"
    else:
        status = "queued"
    values: dict[str, object] = {
        "status": status,
        "lease_until": None,
        "last_error": error[:500],
    }
    if status == "queued":
        values["next_attempt_at"] = now + retry_delay(attempt, base=backoff)
    message = _finish(db, message_pk, attempt=attempt, values=values)
    if message is not None and status != "queued":
        record_event(
            db,
            actor=None,
            action=f"outbox.{status}",
            object_type="outbox_message",
            object_id=message.id,
            client_id=message.client_id,
            clinic_id=message.clinic_id,
            detail={"kind": message.kind, "attempts": message.attempts, "error": error[:200]},
        )
    return message


def mark_message_cancelled(
    db: Session, message_pk: int, *, attempt: int, reason: str
) -> OutboxMessage | None:
    """End a claimed message without sending it (its form was answered, replaced or
    expired, or the address was deleted)."""
    message = _finish(
        db,
        message_pk,
        attempt=attempt,
        values={"status": "cancelled", "lease_until": None, "last_error": reason[:500]},
    )
    if message is not None:
        record_event(
            db,
            actor=None,
            action="outbox.cancel",
            object_type="outbox_message",
            object_id=message.id,
            client_id=message.client_id,
            clinic_id=message.clinic_id,
            detail={"reason": reason},
        )
    return message
