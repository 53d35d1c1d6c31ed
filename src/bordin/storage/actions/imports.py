"""Bulk import of item responses (a clinic's history, or the demo from the simulator)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bordin.errors import Conflict, InputError, NotFound
from bordin.storage.access import require_role
from bordin.storage.actions._feedback import refresh_norms, store_scores
from bordin.storage.audit import record_event
from bordin.storage.models import (
    Client,
    Episode,
    ItemResponse,
    TherapySession,
    User,
)

__all__ = ["import_responses"]

REQUIRED = ("client_id", "therapist_id", "session", "instrument", "item", "value")


def import_responses(
    db: Session,
    *,
    actor: User | None,
    clinic_id: int,
    responses: pd.DataFrame,
    therapists: Mapping[str, int],
) -> dict[str, int]:
    """Import a long item-response frame (DESIGN.md) as new clients of a clinic.

    Each ``client_id`` becomes a client (its code), assigned to the user that
    ``therapists`` maps its ``therapist_id`` to, with one episode opened at the first
    session's date. Responses are scored with :func:`bordin.scoring.score_responses` (which
    validates them, naming row, column or item); the clinic's norms are then refitted and
    every client's feedback computed against them in one vectorised call. Everything is in
    the caller's transaction, with one audit event per imported client. Only an admin of
    the clinic, or the system, imports.

    Returns
    -------
    dict
        Client code to the new client id.

    Raises
    ------
    InputError
        A required column is missing, a therapist is not mapped, or scoring rejects a row.
    Conflict
        A client code already exists in the clinic.
    """
    from bordin.scoring import score_responses

    if actor is not None:
        require_role(actor, "admin")
        if actor.clinic_id != clinic_id:
            raise NotFound(f"clinic {clinic_id} not found")
    missing = [c for c in REQUIRED if c not in responses.columns]
    if missing:
        raise InputError("missing required column", column=missing[0])
    frame = responses.copy()
    for column in ("client_id", "therapist_id", "instrument"):
        frame[column] = frame[column].astype(str)
    if "date" not in frame.columns:
        frame["date"] = None
    wide = score_responses(frame)  # validates everything before anything is written

    unknown = sorted(set(frame["therapist_id"]) - set(therapists))
    if unknown:
        raise InputError(f"therapist {unknown[0]!r} is not mapped to a user", column="therapist_id")
    staff = {
        u.id: u
        for u in db.scalars(select(User).where(User.id.in_(list(therapists.values()))))
        if u.clinic_id == clinic_id and u.role == "therapist"
    }
    for code, user_id in therapists.items():
        if user_id not in staff:
            raise InputError(f"user {user_id} is not a therapist of this clinic", column=code)
    codes = sorted(set(frame["client_id"]))
    taken = db.scalars(
        select(Client.code).where(Client.clinic_id == clinic_id, Client.code.in_(codes))
    ).all()
    if taken:
        raise Conflict(f"client code {taken[0]!r} already exists in this clinic")

    sessions = (
        frame.groupby(["client_id", "session"], observed=True, sort=True)
        .agg(therapist_id=("therapist_id", "first"), date=("date", "first"))
        .reset_index()
    )
    sessions["date"] = pd.to_datetime(sessions["date"], errors="coerce")
    first = sessions.groupby("client_id", observed=True).agg(
        therapist_id=("therapist_id", "first"), opened=("date", "min")
    )

    def _day(value: object) -> date | None:
        return None if pd.isna(value) else pd.Timestamp(value).date()

    client_rows = [
        {
            "clinic_id": clinic_id,
            "therapist_id": therapists[str(row["therapist_id"])],
            "code": str(code),
        }
        for code, row in first.iterrows()
    ]
    new_ids = db.scalars(
        insert(Client).returning(Client.id, sort_by_parameter_order=True), client_rows
    )
    client_ids = {str(row["code"]): cid for row, cid in zip(client_rows, new_ids, strict=True)}
    episode_rows = [
        {
            "client_id": client_ids[str(code)],
            "opened_on": _day(row["opened"]) or date.today(),
        }
        for code, row in first.iterrows()
    ]
    episode_ids = list(
        db.scalars(
            insert(Episode).returning(Episode.id, sort_by_parameter_order=True), episode_rows
        )
    )
    episode_of = {row["client_id"]: eid for row, eid in zip(episode_rows, episode_ids, strict=True)}
    session_rows = [
        {
            "client_id": client_ids[str(r.client_id)],
            "episode_id": episode_of[client_ids[str(r.client_id)]],
            "number": int(r.session),
            "date": _day(r.date),
        }
        for r in sessions.itertuples(index=False)
    ]
    session_ids = list(
        db.scalars(
            insert(TherapySession).returning(TherapySession.id, sort_by_parameter_order=True),
            session_rows,
        )
    )
    session_of = {
        (str(r.client_id), int(r.session)): (client_ids[str(r.client_id)], sid)
        for r, sid in zip(sessions.itertuples(index=False), session_ids, strict=True)
    }
    keys = list(zip(frame["client_id"], frame["session"].astype(int), strict=True))
    item_rows = [
        {
            "client_id": session_of[key][0],
            "session_id": session_of[key][1],
            "form_request_id": None,
            "instrument": instrument,
            "item": int(item),
            "value": float(value),
        }
        for key, instrument, item, value in zip(
            keys, frame["instrument"], frame["item"], frame["value"], strict=True
        )
        if not pd.isna(value)
    ]
    db.execute(insert(ItemResponse), item_rows)
    store_scores(db, wide, session_of)
    for code, client_id in client_ids.items():
        record_event(
            db,
            actor=actor,
            action="client.import",
            object_type="client",
            object_id=client_id,
            client_id=client_id,
            clinic_id=clinic_id,
            detail={"code": code, "sessions": int((sessions["client_id"] == code).sum())},
        )
    # The clinic's data changed wholesale: new norms, and everyone recomputed against them.
    refresh_norms(db, clinic_id, reason="import", actor=actor)
    return client_ids
