"""Kiosk mode: staff unlock a tablet in the waiting room for one client's form.

The device gets a random kiosk token (in the ``bordin_kiosk`` cookie; only its SHA-256 is
stored). The form request behind the kiosk gets the token :func:`kiosk_form_token` derives
from the kiosk token, so it is never stored, shown or put in a link: only the device
holding the cookie can fill in the form, through the kiosk's own pages.

A kiosk session locks (the device shows a locked screen) once the form is sent, or after
``timeout_seconds`` without a request; nothing about the client is shown after that. It
ends when a staff member who may see the client signs in on the device again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import InputError, NotFound
from bordin.storage.access import can_see_client, require_client
from bordin.storage.actions.forms import create_form_request
from bordin.storage.audit import record_event
from bordin.storage.credentials import hash_token, new_token
from bordin.storage.models import FormRequest, KioskSession, TherapySession, User, utcnow

__all__ = [
    "MAX_KIOSK_TIMEOUT",
    "MIN_KIOSK_TIMEOUT",
    "end_kiosk",
    "find_kiosk",
    "kiosk_form_token",
    "lock_kiosk",
    "start_kiosk",
]

MIN_KIOSK_TIMEOUT = timedelta(minutes=1)
MAX_KIOSK_TIMEOUT = timedelta(hours=2)


def kiosk_form_token(kiosk_token: str) -> str:
    """The form request token of a kiosk: a one-way function of the kiosk's own token."""
    return hashlib.sha256(b"kiosk-form:" + kiosk_token.encode("utf-8")).hexdigest()


def start_kiosk(
    db: Session,
    *,
    actor: User,
    session_id: int,
    instruments: Sequence[str],
    language: str = "en",
    timeout: timedelta,
    now: datetime | None = None,
) -> tuple[KioskSession, str]:
    """Unlock a device for one client's form; return the kiosk session and its token.

    The form request is made as :func:`~bordin.storage.actions.create_form_request` makes
    one (the same checks; an older open link for the session is cancelled), valid for the
    kiosk's timeout only.

    Raises
    ------
    InputError
        A timeout outside 1 minute to 2 hours, or as ``create_form_request``.
    NotFound
        The session's client is not in the actor's scope.
    """
    if not MIN_KIOSK_TIMEOUT <= timeout <= MAX_KIOSK_TIMEOUT:
        raise InputError("the kiosk timeout must be 1 to 120 minutes", column="timeout")
    session = db.get(TherapySession, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    client = require_client(db, actor, session.client_id)
    token = new_token()
    form, _ = create_form_request(
        db,
        actor=actor,
        session_id=session.id,
        instruments=instruments,
        language=language,
        lifetime=max(timeout * 4, timedelta(hours=1)),
        token=kiosk_form_token(token),
    )
    at = now or utcnow()
    kiosk = KioskSession(
        token_hash=hash_token(token),
        clinic_id=client.clinic_id,
        client_id=client.id,
        form_request_id=form.id,
        started_by=actor.id,
        started_at=at,
        last_seen_at=at,
        timeout_seconds=int(timeout.total_seconds()),
    )
    db.add(kiosk)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="kiosk.start",
        object_type="kiosk_session",
        object_id=kiosk.id,
        client_id=client.id,
        detail={"form_request": form.id, "timeout_seconds": kiosk.timeout_seconds},
    )
    return kiosk, token


def lock_kiosk(db: Session, kiosk: KioskSession, *, reason: str, now: datetime) -> None:
    """Lock the device (``submitted`` or ``timeout``); the form behind it closes too."""
    if kiosk.locked_at is not None:
        return
    kiosk.locked_at = now
    kiosk.lock_reason = reason
    form = db.get(FormRequest, kiosk.form_request_id)
    if form is not None and form.submitted_at is None and form.expires_at > now:
        form.expires_at = now
    record_event(
        db,
        actor=None,
        actor_kind="kiosk",
        action="kiosk.lock",
        object_type="kiosk_session",
        object_id=kiosk.id,
        client_id=kiosk.client_id,
        clinic_id=kiosk.clinic_id,
        detail={"reason": reason},
    )
    db.flush()


def find_kiosk(db: Session, token: str, *, now: datetime | None = None) -> KioskSession:
    """The kiosk session of a device's token, locked first if it timed out; a request
    to an open kiosk counts as activity.

    Raises
    ------
    NotFound
        Unknown token, or the kiosk session ended (a staff member signed in again).
    """
    at = now or utcnow()
    kiosk = db.scalar(
        select(KioskSession).where(KioskSession.token_hash == hash_token(token)).with_for_update()
    )
    if kiosk is None or kiosk.ended_at is not None:
        raise NotFound("this device is not in kiosk mode")
    if kiosk.locked_at is None:
        if at - kiosk.last_seen_at >= timedelta(seconds=kiosk.timeout_seconds):
            lock_kiosk(db, kiosk, reason="timeout", now=at)
        else:
            kiosk.last_seen_at = at
            db.flush()
    return kiosk


def end_kiosk(db: Session, *, actor: User, token: str, now: datetime | None = None) -> int:
    """A staff member who may see the kiosk's client ends it (after signing in on the
    device); returns the client's id. An unfinished form is closed.

    Raises
    ------
    NotFound
        Unknown or ended kiosk, or the actor may not see its client (the device stays a
        kiosk).
    """
    at = now or utcnow()
    kiosk = db.scalar(
        select(KioskSession).where(KioskSession.token_hash == hash_token(token)).with_for_update()
    )
    if kiosk is None or kiosk.ended_at is not None:
        raise NotFound("this device is not in kiosk mode")
    if not can_see_client(db, actor, kiosk.client_id):
        raise NotFound("this kiosk's client is not in your caseload")
    if kiosk.locked_at is None:
        lock_kiosk(db, kiosk, reason="staff", now=at)
    kiosk.ended_at = at
    kiosk.ended_by = actor.id
    record_event(
        db,
        actor=actor,
        action="kiosk.end",
        object_type="kiosk_session",
        object_id=kiosk.id,
        client_id=kiosk.client_id,
    )
    db.flush()
    return kiosk.client_id
