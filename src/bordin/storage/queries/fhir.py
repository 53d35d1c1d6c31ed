"""Reads behind the FHIR routes: one client's responses and scores, audited."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.errors import NotFound
from bordin.storage.access import client_scope
from bordin.storage.actions._feedback import scores_frame
from bordin.storage.audit import record_event
from bordin.storage.models import Client, ItemResponse, TherapySession, User

__all__ = ["list_fhir_responses", "list_fhir_scores"]

_COLUMNS = ["client_id", "therapist_id", "session", "date", "instrument", "item", "value"]


def _client(db: Session, actor: User, code: str) -> Client:
    client = db.scalar(select(Client).where(Client.code == code, client_scope(actor)))
    if client is None:
        raise NotFound(f"client {code!r} not found")
    return client


def list_fhir_responses(db: Session, *, actor: User, client_code: str) -> pd.DataFrame:
    """The long item responses of the client with this pseudonymous code (in scope only).

    Raises
    ------
    NotFound
        No such client in the actor's scope (indistinguishable from none at all).
    """
    client = _client(db, actor, client_code)
    rows = db.execute(
        select(
            Client.code,
            User.code,
            TherapySession.number,
            TherapySession.date,
            ItemResponse.instrument,
            ItemResponse.item,
            ItemResponse.value,
        )
        .join(Client, Client.id == ItemResponse.client_id)
        .join(User, User.id == Client.therapist_id)
        .join(TherapySession, TherapySession.id == ItemResponse.session_id)
        .where(ItemResponse.client_id == client.id)
        .order_by(TherapySession.number, ItemResponse.instrument, ItemResponse.item)
    ).all()
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    frame["date"] = frame["date"].map(lambda d: d.isoformat() if d else None)
    record_event(
        db,
        actor=actor,
        action="fhir.read_responses",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"rows": len(frame)},
    )
    return frame


def list_fhir_scores(db: Session, *, actor: User, client_code: str) -> pd.DataFrame:
    """The wide session scores of the client with this pseudonymous code (in scope only)."""
    client = _client(db, actor, client_code)
    frame = scores_frame(db, [client.id])
    record_event(
        db,
        actor=actor,
        action="fhir.read_scores",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
        detail={"rows": len(frame)},
    )
    return frame
