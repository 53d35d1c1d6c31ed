"""Recompute one client's scores, signals and alerts inside the caller's transaction.

Called by every action that changes a client's responses. Scoring and feedback are the
core's (:func:`bordin.scoring.score_responses`, :func:`bordin.feedback.compute_feedback`);
this module only moves rows between the database and their frames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from bordin.storage.models import (
    Alert,
    Client,
    ItemResponse,
    Score,
    Signal,
    TherapySession,
    User,
)

__all__ = [
    "jsonable",
    "recompute_client_feedback",
    "recompute_feedback",
    "rescore_sessions",
    "scores_frame",
    "store_scores",
]

ID_COLUMNS = ("client_id", "therapist_id", "session", "date")
ALLIANCE_PREFERENCE = ("sac", "wai_sr")
OUTCOME_INSTRUMENTS = ("phq9", "gad7", "core10", "k10", "ors", "oq45")


def jsonable(value: Any) -> Any:
    """Turn numpy/pandas scalars, NaN, dates and containers into plain JSON values."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, int | str | bool):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _client_labels(db: Session, client_id: int) -> tuple[str, str]:
    row = db.execute(
        select(Client.code, User.code)
        .join(User, User.id == Client.therapist_id)
        .where(Client.id == client_id)
    ).one()
    return str(row[0]), str(row[1])


def rescore_sessions(db: Session, client_id: int, session_ids: Iterable[int]) -> None:
    """Replace the stored scores of the given sessions with fresh ones from their items."""
    from bordin.scoring import score_responses

    ids = sorted(set(session_ids))
    if not ids:
        return
    client_code, therapist_code = _client_labels(db, client_id)
    rows = db.execute(
        select(
            TherapySession.id,
            TherapySession.number,
            TherapySession.date,
            ItemResponse.instrument,
            ItemResponse.item,
            ItemResponse.value,
        )
        .join(ItemResponse, ItemResponse.session_id == TherapySession.id)
        .where(TherapySession.id.in_(ids))
    ).all()
    db.execute(delete(Score).where(Score.session_id.in_(ids)))
    if not rows:
        return
    long = pd.DataFrame(
        {
            "client_id": client_code,
            "therapist_id": therapist_code,
            "session": [r[1] for r in rows],
            "date": [r[2].isoformat() if r[2] else None for r in rows],
            "instrument": [r[3] for r in rows],
            "item": [r[4] for r in rows],
            "value": [r[5] for r in rows],
        }
    )
    wide = score_responses(long)
    store_scores(db, wide, {(client_code, r[1]): (client_id, r[0]) for r in rows})


def store_scores(
    db: Session, wide: pd.DataFrame, sessions: Mapping[tuple[str, int], tuple[int, int]]
) -> None:
    """Insert the scores of a wide frame; ``sessions`` maps (client code, session number)
    to (client id, session id)."""
    score_columns = [c for c in wide.columns if c not in ID_COLUMNS]
    rows = []
    for record in wide.to_dict(orient="records"):
        client_id, session_id = sessions[(str(record["client_id"]), int(record["session"]))]
        for column in score_columns:
            value = jsonable(record[column])
            if value is None:
                continue
            rows.append(
                {
                    "client_id": client_id,
                    "session_id": session_id,
                    "column": column,
                    "value": float(value),
                }
            )
    if rows:
        db.execute(insert(Score), rows)


def scores_frame(db: Session, client_ids: Iterable[int]) -> pd.DataFrame:
    """The wide session-scores frame (DESIGN.md) of the given clients, from stored scores."""
    ids = sorted(set(client_ids))
    rows = db.execute(
        select(
            Client.code,
            User.code,
            TherapySession.number,
            TherapySession.date,
            Score.column,
            Score.value,
        )
        .join(TherapySession, TherapySession.id == Score.session_id)
        .join(Client, Client.id == Score.client_id)
        .join(User, User.id == Client.therapist_id)
        .where(Score.client_id.in_(ids))
    ).all()
    if not rows:
        return pd.DataFrame(columns=list(ID_COLUMNS))
    # One pass over the rows (cheaper than a pandas pivot for one client's few sessions,
    # and linear for a whole clinic's export).
    sessions: dict[tuple[str, int], dict[str, Any]] = {}
    columns: set[str] = set()
    for client, therapist, number, day, column, value in rows:
        record = sessions.get((client, number))
        if record is None:
            record = sessions[(client, number)] = {
                "client_id": client,
                "therapist_id": therapist,
                "session": number,
                "date": day.isoformat() if day else None,
            }
        record[column] = value
        columns.add(column)
    ordered = [*ID_COLUMNS, *sorted(columns)]
    records = [sessions[key] for key in sorted(sessions)]
    wide = pd.DataFrame.from_records(records, columns=ordered)
    score_columns = ordered[len(ID_COLUMNS) :]
    wide[score_columns] = wide[score_columns].astype(float)
    return wide


def _feedback_instruments(columns: Iterable[str]) -> tuple[str | None, tuple[str, ...]]:
    present = set(columns)
    alliance = next((a for a in ALLIANCE_PREFERENCE if f"{a}_total" in present), None)
    outcomes = tuple(o for o in OUTCOME_INSTRUMENTS if f"{o}_total" in present)
    return alliance, outcomes


def recompute_client_feedback(db: Session, client_id: int) -> None:
    """Recompute one client's signals and alerts from their stored scores."""
    recompute_feedback(db, [client_id])


def recompute_feedback(db: Session, client_ids: Iterable[int]) -> None:
    """Recompute the signals and alerts of the given clients in one vectorised call.

    Alerts are matched on (client, kind, session): an alert found again keeps its
    acknowledgement and note; one no longer raised is marked inactive (kept for the audit
    trail, hidden from the caseload).
    """
    from bordin.feedback import compute_feedback

    ids = sorted(set(client_ids))
    if not ids:
        return
    codes = {
        str(code): cid
        for cid, code in db.execute(select(Client.id, Client.code).where(Client.id.in_(ids)))
    }
    frame = scores_frame(db, ids)
    alliance, outcomes = _feedback_instruments(frame.columns)
    db.execute(delete(Signal).where(Signal.client_id.in_(ids)))
    existing = {
        (a.client_id, a.kind, a.session): a
        for a in db.scalars(select(Alert).where(Alert.client_id.in_(ids)))
    }
    seen: set[tuple[int, str, int]] = set()
    if len(frame) and (alliance is not None or outcomes):
        result = compute_feedback(frame, alliance=alliance or "sac", outcomes=outcomes)
        _store_signals(db, codes, result)
        for key, values in _merged_alerts(result.alerts, codes).items():
            seen.add(key)
            stored = existing.get(key)
            if stored is None:
                db.add(Alert(client_id=key[0], kind=key[1], session=key[2], **values))
            else:
                for name, value in values.items():
                    setattr(stored, name, value)
    for key, stored in existing.items():
        if key not in seen:
            stored.active = False
    db.flush()


def _merged_alerts(
    alerts: Iterable[Any], codes: Mapping[str, int]
) -> dict[tuple[int, str, int], dict[str, Any]]:
    """One stored alert per (client, kind, session), the identity acknowledgements keep.

    When the engine raises two alerts of one kind for the same session (two ruptures in
    different components), the most urgent one leads and the others' explanations and
    evidence are kept with it (``evidence["also"]``), so nothing is lost.
    """
    merged: dict[tuple[int, str, int], dict[str, Any]] = {}
    ordered = sorted(alerts, key=lambda a: -float(a.priority))
    for alert in ordered:
        key = (codes[str(alert.client_id)], str(alert.kind), int(alert.session))
        evidence = jsonable(alert.evidence)
        found = merged.get(key)
        if found is None:
            merged[key] = {
                "severity": str(alert.severity),
                "priority": float(alert.priority),
                "title": str(alert.title),
                "explanation": str(alert.explanation),
                "evidence": evidence,
                "suggestions": jsonable(alert.suggestions),
                "references": jsonable(alert.references),
                "active": True,
            }
            continue
        found["explanation"] += f" Also: {alert.title}. {alert.explanation}"
        if isinstance(found["evidence"], dict):
            found["evidence"].setdefault("also", []).append(evidence)
        for field in ("suggestions", "references"):
            for entry in jsonable(getattr(alert, field)):
                if entry not in found[field]:
                    found[field].append(entry)
    return merged


def _frame_records(frame: Any) -> list[dict[str, Any]]:
    """JSON-ready records of a result table (NaN as null, dates as ISO text)."""
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        return []
    records: list[dict[str, Any]] = json.loads(
        frame.to_json(orient="records", date_format="iso", default_handler=str)
    )
    return records


def _store_signals(db: Session, codes: Mapping[str, int], result: Any) -> None:
    rows = []
    for kind, attribute in (
        ("rupture", "ruptures"),
        ("session", "sessions"),
        ("summary", "clients"),
    ):
        for record in _frame_records(getattr(result, attribute, None)):
            client_id = codes.get(str(record.get("client_id")))
            if client_id is None:
                continue
            session = record.get("session", record.get("onset_session", record.get("onset")))
            rows.append(
                {
                    "client_id": client_id,
                    "kind": kind,
                    "session": int(session) if isinstance(session, int | float) else None,
                    "data": record,
                }
            )
    if rows:
        db.execute(insert(Signal), rows)
