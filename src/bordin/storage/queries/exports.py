"""Clinic exports: the item-response and session-score CSV contracts of DESIGN.md."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope, require_role
from bordin.storage.actions._feedback import scores_frame
from bordin.storage.audit import record_event
from bordin.storage.models import Client, Episode, ItemResponse, TherapySession, User

__all__ = [
    "RESPONSE_COLUMNS",
    "export_item_responses",
    "export_session_scores",
    "get_clinic_scores",
    "list_ended_clients",
]

RESPONSE_COLUMNS = ("client_id", "therapist_id", "session", "date", "instrument", "item", "value")


def _clients_in_scope(db: Session, actor: User) -> list[int]:
    require_role(actor, "admin", "supervisor")
    return list(db.scalars(select(Client.id).where(client_scope(actor)).order_by(Client.id)))


def export_item_responses(db: Session, *, actor: User) -> pd.DataFrame:
    """Every item response in the actor's scope, as the long contract (codes, not names).

    ``client_id`` is the client's pseudonymous code, ``therapist_id`` the therapist's code.
    Admins export their clinic, supervisors their team.
    """
    ids = _clients_in_scope(db, actor)
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
        .where(ItemResponse.client_id.in_(ids))
        .order_by(Client.code, TherapySession.number, ItemResponse.instrument, ItemResponse.item)
    ).all()
    frame = pd.DataFrame(rows, columns=list(RESPONSE_COLUMNS))
    frame["date"] = frame["date"].map(lambda d: d.isoformat() if d else "")
    frame["value"] = frame["value"].map(lambda v: int(v) if float(v).is_integer() else v)
    record_event(
        db,
        actor=actor,
        action="export.responses",
        object_type="clinic",
        object_id=actor.clinic_id,
        detail={"clients": len(ids), "rows": len(frame)},
    )
    return frame


def export_session_scores(db: Session, *, actor: User) -> pd.DataFrame:
    """The wide session-scores frame of every client in the actor's scope."""
    ids = _clients_in_scope(db, actor)
    frame = scores_frame(db, ids)
    record_event(
        db,
        actor=actor,
        action="export.scores",
        object_type="clinic",
        object_id=actor.clinic_id,
        detail={"clients": len(ids), "rows": len(frame)},
    )
    return frame


def get_clinic_scores(db: Session, *, actor: User) -> pd.DataFrame:
    """The wide session-scores frame of every client in the actor's scope, for the pages'
    clinic figures (read, not exported: the audit row says so)."""
    ids = _clients_in_scope(db, actor)
    record_event(
        db,
        actor=actor,
        action="scores.read",
        object_type="clinic",
        object_id=actor.clinic_id,
        detail={"clients": len(ids)},
    )
    return scores_frame(db, ids)


def list_ended_clients(db: Session, *, actor: User) -> tuple[list[str], list[str]]:
    """Codes of the clients in scope whose treatment ended (every episode is closed): those
    whose last episode closed as planned, by referral or with no reason given (the older
    API), and those whose last episode closed as dropout."""
    ids = _clients_in_scope(db, actor)
    if not ids:
        return [], []
    rows = db.execute(
        select(Client.code, Episode.closed_on, Episode.close_reason)
        .join(Episode, Episode.client_id == Client.id)
        .where(Client.id.in_(ids))
        .order_by(Client.code, Episode.opened_on, Episode.id)
    ).all()
    closed: dict[str, bool] = {}
    reason: dict[str, str | None] = {}
    for code, closed_on, why in rows:
        closed[code] = closed.get(code, True) and closed_on is not None
        reason[code] = why  # the last episode's
    ended = [code for code in sorted(closed) if closed[code]]
    return (
        [code for code in ended if reason[code] != "dropout"],
        [code for code in ended if reason[code] == "dropout"],
    )
