"""Changes to a client's care after the fact: transfer to another therapist, a session's
corrected date, and a form filled on paper, typed in by staff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_client, require_role, require_therapist_in_scope
from bordin.storage.actions._feedback import recompute_client_feedback, rescore_sessions
from bordin.storage.actions.care import _check_code, check_form_defaults
from bordin.storage.actions.forms import store_entered_answers
from bordin.storage.actions.risk import raise_risk_events
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Client,
    Episode,
    MissedSession,
    TherapySession,
    User,
    utcnow,
)

__all__ = [
    "MISSED_KINDS",
    "change_session_date",
    "record_missed_session",
    "record_paper_form",
    "rename_client",
    "set_form_defaults",
    "transfer_client",
]

#: why a planned session did not take place
MISSED_KINDS = ("cancelled", "did_not_attend")


def transfer_client(db: Session, *, actor: User, client_id: int, therapist_id: int) -> Client:
    """Give a client to another therapist (a supervisor in scope, or an admin)."""
    require_role(actor, "supervisor", "admin")
    client = require_client(db, actor, client_id)
    therapist = require_therapist_in_scope(db, actor, therapist_id)
    if not therapist.active:
        raise Conflict(f"{therapist.username} is deactivated; choose an active therapist")
    before = client.therapist_id
    client.therapist_id = therapist.id
    record_event(
        db,
        actor=actor,
        action="client.transfer",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"from": before, "to": therapist.id},
    )
    return client


def _session(db: Session, actor: User, session_id: int) -> TherapySession:
    session = db.get(TherapySession, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    require_client(db, actor, session.client_id)
    return session


def change_session_date(
    db: Session, *, actor: User, session_id: int, session_date: date | None
) -> TherapySession:
    """Correct a session's date."""
    session = _session(db, actor, session_id)
    before = session.date
    session.date = session_date
    record_event(
        db,
        actor=actor,
        action="session.change_date",
        object_type="session",
        object_id=session.id,
        client_id=session.client_id,
        detail={
            "from": before.isoformat() if before else None,
            "to": session_date.isoformat() if session_date else None,
        },
    )
    return session


def record_paper_form(
    db: Session,
    *,
    actor: User,
    session_id: int,
    instrument: str,
    answers: Mapping[Any, Any],
) -> int:
    """Store a questionnaire the client filled on paper, typed in by staff.

    The responses are marked as staff-entered (``entered_by``), validated as a client's own
    form is (:func:`validate_answers`), and the client's scores and feedback recomputed.
    Returns the number of items stored.

    Raises
    ------
    Conflict
        The session already has responses to this instrument.
    InputError
        As :func:`validate_answers`, naming the item.
    """
    session = _session(db, actor, session_id)
    rows = store_entered_answers(
        db,
        actor=actor,
        session=session,
        instrument=instrument,
        answers=answers,
        already=f"answers to {instrument}",
    )
    record_event(
        db,
        actor=actor,
        action="form.enter_paper",
        object_type="session",
        object_id=session.id,
        client_id=session.client_id,
        detail={"instrument": instrument, "items": len(rows)},
    )
    rescore_sessions(db, [session.id])
    recompute_client_feedback(db, session.client_id)
    client = db.get(Client, session.client_id)
    if client is not None:  # an endorsed risk item notifies the therapist as a form does
        raise_risk_events(
            db,
            client=client,
            session_id=session.id,
            rows=rows,
            answered_at=utcnow(),
            entered_by=actor,
        )
    return len(rows)


def set_form_defaults(
    db: Session,
    *,
    actor: User,
    client_id: int,
    form_language: str,
    default_instruments: Sequence[str] | None,
) -> Client:
    """Change the language of a client's form links and the questionnaires of their first
    form (later links ask what the last one asked, unless chosen otherwise)."""
    client = require_client(db, actor, client_id)
    language, instruments = check_form_defaults(form_language, default_instruments)
    before = {"form_language": client.form_language, "instruments": client.default_instruments}
    client.form_language = language
    client.default_instruments = instruments
    record_event(
        db,
        actor=actor,
        action="client.set_form_defaults",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"before": before, "after": {"form_language": language, "instruments": instruments}},
    )
    return client


def record_missed_session(
    db: Session, *, actor: User, client_id: int, session_date: date, kind: str
) -> MissedSession:
    """Record a session that did not take place (cancelled, or the client did not attend)
    in the client's open episode; attended-session numbers are unchanged.

    Raises
    ------
    InputError
        An unknown kind.
    Conflict
        The client has no open episode.
    """
    client = require_client(db, actor, client_id)
    if kind not in MISSED_KINDS:
        raise InputError(f"the kind is one of {', '.join(MISSED_KINDS)}", column="kind")
    episode = db.scalar(
        select(Episode)
        .where(Episode.client_id == client.id, Episode.closed_on.is_(None))
        .order_by(Episode.id.desc())
    )
    if episode is None:
        raise Conflict(f"client {client_id} has no open episode; open one first")
    missed = MissedSession(
        client_id=client.id,
        episode_id=episode.id,
        date=session_date,
        kind=kind,
        created_by=actor.id,
    )
    db.add(missed)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="session.missed",
        object_type="missed_session",
        object_id=missed.id,
        client_id=client.id,
        detail={"kind": kind, "date": session_date.isoformat()},
    )
    return missed


def rename_client(db: Session, *, actor: User, client_id: int, code: str) -> Client:
    """Correct a client's pseudonymous code.

    Raises
    ------
    InputError
        Not a valid code.
    Conflict
        Another client of the clinic has this code.
    """
    client = require_client(db, actor, client_id)
    new = _check_code(code)
    taken = db.scalar(
        select(Client.id).where(
            Client.clinic_id == client.clinic_id, Client.code == new, Client.id != client.id
        )
    )
    if taken is not None:
        raise Conflict(f"the client code {new!r} is already used in this clinic")
    before = client.code
    client.code = new
    record_event(
        db,
        actor=actor,
        action="client.rename",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"from": before, "to": new},
    )
    return client
