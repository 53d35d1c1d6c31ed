"""Changes to a client's care after the fact: transfer to another therapist, a session's
corrected date, and a form filled on paper, typed in by staff."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, NotFound
from bordin.storage.access import require_client, require_role, require_therapist_in_scope
from bordin.storage.actions._feedback import recompute_client_feedback, rescore_sessions
from bordin.storage.actions.care import check_form_defaults
from bordin.storage.actions.forms import validate_answers
from bordin.storage.audit import record_event
from bordin.storage.models import Client, ItemResponse, TherapySession, User

__all__ = ["change_session_date", "record_paper_form", "set_form_defaults", "transfer_client"]


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
    rows = validate_answers([instrument], {instrument: answers})
    taken = db.scalar(
        select(ItemResponse.id).where(
            ItemResponse.session_id == session.id, ItemResponse.instrument == instrument
        )
    )
    if taken is not None:
        raise Conflict(f"session {session.number} already has answers to {instrument}")
    db.execute(
        insert(ItemResponse),
        [
            {
                "client_id": session.client_id,
                "session_id": session.id,
                "form_request_id": None,
                "entered_by": actor.id,
                "instrument": name,
                "item": item,
                "value": value,
            }
            for name, item, value in rows
        ],
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
    rescore_sessions(db, session.client_id, [session.id])
    recompute_client_feedback(db, session.client_id)
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
