"""Reads of clients, episodes and sessions, scoped by :mod:`bordin.storage.access`.

Every read of a client's data writes an audit row in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import NotFound
from bordin.storage.access import client_scope, require_client
from bordin.storage.audit import record_event
from bordin.storage.models import Client, Episode, TherapySession, User

__all__ = ["get_client", "get_session", "list_clients", "list_episodes", "list_sessions"]


def get_client(db: Session, *, actor: User, client_id: int) -> Client:
    """One client in the actor's scope (``NotFound`` otherwise)."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="client.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return client


def list_clients(db: Session, *, actor: User) -> list[Client]:
    """The clients the actor may see, by code (audited as one listing event)."""
    clients = list(db.scalars(select(Client).where(client_scope(actor)).order_by(Client.code)))
    record_event(
        db,
        actor=actor,
        action="client.list",
        object_type="client",
        detail={"clients": [c.id for c in clients]},
    )
    return clients


def list_episodes(db: Session, *, actor: User, client_id: int) -> list[Episode]:
    """A client's episodes of care, oldest first."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="episode.list",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return list(
        db.scalars(select(Episode).where(Episode.client_id == client.id).order_by(Episode.id))
    )


def list_sessions(db: Session, *, actor: User, client_id: int) -> list[TherapySession]:
    """A client's sessions by number."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="session.list",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return list(
        db.scalars(
            select(TherapySession)
            .where(TherapySession.client_id == client.id)
            .order_by(TherapySession.number)
        )
    )


def get_session(db: Session, *, actor: User, session_id: int) -> TherapySession:
    """One session whose client is in the actor's scope (``NotFound`` otherwise)."""
    session = db.get(TherapySession, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    try:
        require_client(db, actor, session.client_id)
    except NotFound:
        raise NotFound(f"session {session_id} not found") from None
    record_event(
        db,
        actor=actor,
        action="session.read",
        object_type="session",
        object_id=session.id,
        client_id=session.client_id,
    )
    return session
