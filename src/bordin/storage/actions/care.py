"""Clients, episodes of care and sessions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.interop.csv_files import ENDINGS
from bordin.storage.access import require_client, require_therapist_in_scope
from bordin.storage.audit import record_event
from bordin.storage.models import Client, Episode, TherapySession, User

__all__ = [
    "CLOSE_REASONS",
    "check_form_defaults",
    "close_episode",
    "create_client",
    "create_session",
    "open_episode",
]

_CODE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _check_code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > 64 or not set(code) <= _CODE_CHARS:
        raise InputError(
            "a client code is 1-64 letters, digits, '-', '_' or '.' (a pseudonym, never a name)",
            column="code",
        )
    return code


def create_client(
    db: Session,
    *,
    actor: User,
    code: str,
    therapist_id: int | None = None,
    opened_on: date | None = None,
    form_language: str = "en",
    default_instruments: Sequence[str] | None = None,
) -> Client:
    """Register a client by pseudonymous code and open their first episode of care.

    A therapist registers clients for themself; a supervisor or admin names a therapist in
    their scope. ``form_language`` and ``default_instruments`` are what the client's form
    links use until a form was sent (see :func:`check_form_defaults`).

    Raises
    ------
    Conflict
        The code is already used in this clinic.
    """
    therapist = require_therapist_in_scope(db, actor, therapist_id)
    code = _check_code(code)
    taken = db.scalar(
        select(Client.id).where(Client.clinic_id == actor.clinic_id, Client.code == code)
    )
    if taken is not None:
        raise Conflict(f"the client code {code!r} is already used in this clinic")
    language, instruments = check_form_defaults(form_language, default_instruments)
    client = Client(
        clinic_id=actor.clinic_id,
        therapist_id=therapist.id,
        code=code,
        form_language=language,
        default_instruments=instruments,
    )
    db.add(client)
    db.flush()
    episode = Episode(client_id=client.id, opened_on=opened_on or date.today())
    db.add(episode)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="client.create",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"therapist_id": therapist.id, "episode_id": episode.id},
    )
    return client


_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def check_form_defaults(
    form_language: str, default_instruments: Sequence[str] | None
) -> tuple[str, list[str] | None]:
    """A client's form language (a code such as ``en`` or ``pt-BR``) and default
    questionnaires (client-rated instruments), checked.

    Raises
    ------
    InputError
        A malformed language code (column ``form_language``), or an unknown or
        clinician-rated instrument (column ``default_instruments``).
    """
    from bordin.errors import InstrumentError
    from bordin.instruments import get_instrument

    language = form_language.strip()
    if not _LANGUAGE.match(language):
        raise InputError("a language code is like en, de or pt-BR", column="form_language")
    if not default_instruments:
        return language, None
    chosen = list(dict.fromkeys(str(i) for i in default_instruments))
    for instrument in chosen:
        try:
            definition = get_instrument(instrument)
        except InstrumentError:
            raise InputError(
                f"unknown instrument {instrument!r}", column="default_instruments"
            ) from None
        if definition.respondent != "client":
            raise InputError(
                f"{instrument} is not filled in by the client", column="default_instruments"
            )
    return language, chosen


def _open_episode_of(db: Session, client_id: int) -> Episode | None:
    return db.scalar(
        select(Episode)
        .where(Episode.client_id == client_id, Episode.closed_on.is_(None))
        .order_by(Episode.id.desc())
    )


def open_episode(
    db: Session, *, actor: User, client_id: int, opened_on: date | None = None
) -> Episode:
    """Open a new episode of care.

    Raises
    ------
    Conflict
        The client already has an open episode.
    """
    client = require_client(db, actor, client_id)
    if _open_episode_of(db, client.id) is not None:
        raise Conflict(f"client {client_id} already has an open episode")
    episode = Episode(client_id=client.id, opened_on=opened_on or date.today())
    db.add(episode)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="episode.open",
        object_type="episode",
        object_id=episode.id,
        client_id=client.id,
    )
    return episode


#: why an episode of care ended: the endings an endings file records (one vocabulary for
#: the service, ``bordin import --endings`` and ``bordin report --endings``)
CLOSE_REASONS = ENDINGS


def close_episode(
    db: Session,
    *,
    actor: User,
    episode_id: int,
    closed_on: date | None = None,
    reason: str | None = None,
) -> Episode:
    """Close an episode of care (discharge), with its reason: a planned end, a dropout or a
    referral (:data:`CLOSE_REASONS`; None when not given, as through the older API).

    The episode's open form links are cancelled in the same transaction
    (:mod:`bordin.storage.actions.link_lifecycle`)."""
    episode = db.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"episode {episode_id} not found")
    require_client(db, actor, episode.client_id)
    if episode.closed_on is not None:
        raise Conflict(f"episode {episode_id} is already closed")
    if reason is not None and reason not in CLOSE_REASONS:
        raise InputError(f"the reason is one of {', '.join(CLOSE_REASONS)}", column="reason")
    closed = closed_on or date.today()
    if closed < episode.opened_on:
        raise InputError("an episode cannot close before it opened", column="closed_on")
    episode.closed_on = closed
    episode.close_reason = reason
    from bordin.storage.actions.link_lifecycle import cancel_episode_links

    cancel_episode_links(db, actor=actor, episode=episode)  # a closed episode takes no answers
    record_event(
        db,
        actor=actor,
        action="episode.close",
        object_type="episode",
        object_id=episode.id,
        client_id=episode.client_id,
        detail={"reason": reason},
    )
    return episode


def create_session(
    db: Session,
    *,
    actor: User,
    client_id: int,
    session_date: date | None = None,
    number: int | None = None,
) -> TherapySession:
    """Record an attended session in the client's open episode (numbered 1, 2, ... by default).

    Raises
    ------
    Conflict
        The client has no open episode, or the session number is taken.
    """
    client = require_client(db, actor, client_id)
    episode = _open_episode_of(db, client.id)
    if episode is None:
        raise Conflict(f"client {client_id} has no open episode; open one first")
    last = db.scalar(
        select(func.max(TherapySession.number)).where(TherapySession.client_id == client.id)
    )
    if number is None:
        number = (last or 0) + 1
    if number < 1:
        raise InputError("session numbers start at 1", column="number")
    taken = db.scalar(
        select(TherapySession.id).where(
            TherapySession.client_id == client.id, TherapySession.number == number
        )
    )
    if taken is not None:
        raise Conflict(f"client {client_id} already has a session {number}")
    session = TherapySession(
        client_id=client.id, episode_id=episode.id, number=number, date=session_date
    )
    db.add(session)
    db.flush()
    record_event(
        db,
        actor=actor,
        action="session.create",
        object_type="session",
        object_id=session.id,
        client_id=client.id,
        detail={"number": number},
    )
    return session
