"""Form links do not outlive their context (issue 21, item 4).

The rules, decided here and applied wherever a link is made, opened or answered:

* **A closed episode takes no answers.** Closing an episode cancels its sessions' open
  links in the same transaction (a ``form_request.cancel`` audit row each, reason
  ``episode_closed``); a link of a closed episode that is opened anyway (one made before
  this rule existed) is refused as expired, and no new link is made for a session of a
  closed episode.
* **Answers go to an active therapist.** A link accepts answers only while the client's
  current therapist is active. A link made by a therapist who has since been deactivated
  stays valid if, and only once, the client has been transferred to an active colleague,
  who then sees the answers like any other (scope follows the client's therapist). If the
  client is still assigned to the deactivated account, the link is refused as expired:
  nobody would read the answers.

A refused link answers 410, as an expired one does, and nothing is stored.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import Conflict
from bordin.storage.audit import record_event
from bordin.storage.exceptions import LinkExpired
from bordin.storage.models import Episode, FormRequest, TherapySession, User, utcnow

__all__ = ["cancel_episode_links", "refuse_closed_episode", "refuse_inactive_link"]


def cancel_episode_links(db: Session, *, actor: User, episode: Episode) -> int:
    """Cancel the open, unanswered links of ``episode``'s sessions (audited); how many."""
    now = utcnow()
    pending = db.scalars(
        select(FormRequest)
        .join(TherapySession, TherapySession.id == FormRequest.session_id)
        .where(
            TherapySession.episode_id == episode.id,
            FormRequest.submitted_at.is_(None),
            FormRequest.expires_at > now,
        )
        .order_by(FormRequest.id)
    ).all()
    for request in pending:
        request.expires_at = now
        record_event(
            db,
            actor=actor,
            action="form_request.cancel",
            object_type="form_request",
            object_id=request.id,
            client_id=request.client_id,
            detail={"reason": "episode_closed", "episode": episode.id},
        )
    db.flush()
    return len(pending)


def refuse_closed_episode(db: Session, session: TherapySession) -> None:
    """Refuse to make a link for a session of a closed episode.

    Raises
    ------
    Conflict
        The session's episode is closed.
    """
    closed_on = db.scalar(select(Episode.closed_on).where(Episode.id == session.episode_id))
    if closed_on is not None:
        raise Conflict(
            f"session {session.number} belongs to an episode closed on {closed_on}; "
            "open a new episode first"
        )


def refuse_inactive_link(closed_on: date | None, therapist_active: bool) -> None:
    """Refuse an unanswered link whose episode is closed (``closed_on`` set) or whose
    client's therapist is no longer active (the module's rules); the caller reads both with
    the link (:func:`~bordin.storage.actions.forms.find_form_request`, one statement).

    Raises
    ------
    LinkExpired
        The link may not take answers any more.
    """
    if closed_on is not None or not therapist_active:
        raise LinkExpired(
            "this form link is no longer active; ask your therapist or the clinic for a new one"
        )
