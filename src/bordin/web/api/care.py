"""``/api/v1/clients``, episodes and sessions of the caller's caseload."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bordin.storage import actions, queries
from bordin.web.deps import CurrentUser, Db, RecordId, require_csrf
from bordin.web.schemas import (
    ClientIn,
    ClientOut,
    EpisodeCloseIn,
    EpisodeIn,
    EpisodeOut,
    SessionIn,
    SessionOut,
)

__all__ = ["router"]

router = APIRouter(tags=["caseload"])
csrf = [Depends(require_csrf)]


@router.get("/clients")
def list_clients(db: Db, user: CurrentUser) -> list[ClientOut]:
    """The clients the caller may see (own, team or clinic, by role)."""
    return [ClientOut.model_validate(c) for c in queries.list_clients(db, actor=user)]


@router.post("/clients", status_code=201, dependencies=csrf)
def create_client(body: ClientIn, db: Db, user: CurrentUser) -> ClientOut:
    """Register a client by pseudonymous code; opens their first episode."""
    client = actions.create_client(
        db, actor=user, code=body.code, therapist_id=body.therapist_id, opened_on=body.opened_on
    )
    return ClientOut.model_validate(client)


@router.get("/clients/{client_id}")
def get_client(client_id: RecordId, db: Db, user: CurrentUser) -> ClientOut:
    """One client (404 outside the caller's scope)."""
    return ClientOut.model_validate(queries.get_client(db, actor=user, client_id=client_id))


@router.get("/clients/{client_id}/episodes")
def list_episodes(client_id: RecordId, db: Db, user: CurrentUser) -> list[EpisodeOut]:
    """A client's episodes of care."""
    found = queries.list_episodes(db, actor=user, client_id=client_id)
    return [EpisodeOut.model_validate(e) for e in found]


@router.post("/clients/{client_id}/episodes", status_code=201, dependencies=csrf)
def open_episode(client_id: RecordId, body: EpisodeIn, db: Db, user: CurrentUser) -> EpisodeOut:
    """Open a new episode of care (409 while one is open)."""
    episode = actions.open_episode(db, actor=user, client_id=client_id, opened_on=body.opened_on)
    return EpisodeOut.model_validate(episode)


@router.post("/episodes/{episode_id}/close", dependencies=csrf)
def close_episode(
    episode_id: RecordId, body: EpisodeCloseIn, db: Db, user: CurrentUser
) -> EpisodeOut:
    """Close an episode of care."""
    episode = actions.close_episode(db, actor=user, episode_id=episode_id, closed_on=body.closed_on)
    return EpisodeOut.model_validate(episode)


@router.get("/clients/{client_id}/sessions")
def list_sessions(client_id: RecordId, db: Db, user: CurrentUser) -> list[SessionOut]:
    """A client's sessions by number."""
    found = queries.list_sessions(db, actor=user, client_id=client_id)
    return [SessionOut.model_validate(s) for s in found]


@router.post("/clients/{client_id}/sessions", status_code=201, dependencies=csrf)
def create_session(client_id: RecordId, body: SessionIn, db: Db, user: CurrentUser) -> SessionOut:
    """Record an attended session in the open episode."""
    session = actions.create_session(
        db, actor=user, client_id=client_id, session_date=body.date, number=body.number
    )
    return SessionOut.model_validate(session)


@router.get("/sessions/{session_id}")
def get_session(session_id: RecordId, db: Db, user: CurrentUser) -> SessionOut:
    """One session."""
    return SessionOut.model_validate(queries.get_session(db, actor=user, session_id=session_id))
