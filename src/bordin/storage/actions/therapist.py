"""The therapist's side of a session: the Therapist Session Check, rated by the client's
therapist from the client's page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from bordin.errors import NotFound, PermissionDenied
from bordin.storage.access import require_client
from bordin.storage.actions._feedback import rescore_sessions
from bordin.storage.actions.forms import store_entered_answers
from bordin.storage.audit import record_event
from bordin.storage.models import TherapySession, User

__all__ = ["THERAPIST_CHECK", "record_therapist_check"]

#: the therapist-rated session check (items 1-6 mirror the client's ``sac``)
THERAPIST_CHECK: Final = "tsc"


def record_therapist_check(
    db: Session, *, actor: User, session_id: int, answers: Mapping[Any, Any]
) -> int:
    """Store the therapist's session check for one session; returns the items stored.

    Only the client's own therapist rates the check (it is their view of the session). The
    answers are validated as any form is (:func:`validate_answers`: item 8, how much a
    noticed tension was addressed, is refused when item 7 is 0), stored as item responses
    marked as entered by the therapist, audited (``therapist_check.record``) and the
    session rescored, all in the caller's transaction.
    The client's feedback signals do not read the therapist's ratings, so they are not
    recomputed; the pair signals (:mod:`bordin.feedback.pairs`) are computed when read.

    Raises
    ------
    NotFound
        The session is not in the caller's scope.
    PermissionDenied
        The caller is not the client's therapist.
    Conflict
        The session already has a therapist check.
    InputError
        An unanswered or out-of-range item (naming it).
    """
    session = db.get(TherapySession, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    client = require_client(db, actor, session.client_id)
    if client.therapist_id != actor.id:
        raise PermissionDenied("only the client's therapist rates the therapist session check")
    rows = store_entered_answers(
        db,
        actor=actor,
        session=session,
        instrument=THERAPIST_CHECK,
        answers=answers,
        already="your session check",
    )
    record_event(
        db,
        actor=actor,
        action="therapist_check.record",
        object_type="session",
        object_id=session.id,
        client_id=session.client_id,
        detail={"instrument": THERAPIST_CHECK, "session": session.number, "items": len(rows)},
    )
    rescore_sessions(db, [session.id])
    return len(rows)
