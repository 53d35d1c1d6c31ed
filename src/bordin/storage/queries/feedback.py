"""Reads of scores, signals, alerts and the caseload ordered by alert priority."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bordin.storage.access import client_scope, require_client
from bordin.storage.actions._feedback import scores_frame
from bordin.storage.audit import record_event
from bordin.storage.models import Alert, Client, FormRequest, Signal, TherapySession, User

__all__ = ["CaseloadEntry", "get_scores_frame", "list_alerts", "list_caseload", "list_signals"]


def get_scores_frame(db: Session, *, actor: User, client_id: int) -> pd.DataFrame:
    """A client's wide session-scores frame (DESIGN.md columns)."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="scores.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return scores_frame(db, [client.id])


def list_signals(db: Session, *, actor: User, client_id: int) -> list[Signal]:
    """A client's feedback signals (ruptures, per-session signals, summary)."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="signals.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    return list(
        db.scalars(
            select(Signal).where(Signal.client_id == client.id).order_by(Signal.kind, Signal.id)
        )
    )


def list_alerts(
    db: Session, *, actor: User, client_id: int, include_inactive: bool = False
) -> list[Alert]:
    """A client's alerts, most urgent first (inactive ones only when asked for)."""
    client = require_client(db, actor, client_id)
    record_event(
        db,
        actor=actor,
        action="alerts.read",
        object_type="client",
        object_id=client.id,
        client_id=client.id,
    )
    statement = select(Alert).where(Alert.client_id == client.id)
    if not include_inactive:
        statement = statement.where(Alert.active.is_(True))
    return list(
        db.scalars(statement.order_by(Alert.priority.desc(), Alert.session.desc(), Alert.id))
    )


@dataclass(frozen=True)
class CaseloadEntry:
    """One line of a caseload.

    ``priority`` is the highest priority among the client's active, unacknowledged alerts
    (0 when there are none); the caseload is ordered by it, then by client code.
    ``colour`` is the not-on-track colour at the latest session (first outcome), shown
    beside the alerts; a yellow colour is not an open alert (``FeedbackConfig.yellow_alert``).
    """

    client_id: int
    code: str
    therapist_id: int
    therapist_code: str
    last_session: int | None
    last_session_date: date | None
    open_alerts: int
    priority: float
    top_alert_kind: str | None
    top_alert_title: str | None
    open_forms: int
    colour: str | None = None


def list_caseload(db: Session, *, actor: User) -> list[CaseloadEntry]:
    """The actor's caseload ordered by alert priority (most urgent first)."""
    clients = db.execute(
        select(Client.id, Client.code, Client.therapist_id, User.code)
        .join(User, User.id == Client.therapist_id)
        .where(client_scope(actor))
    ).all()
    ids = [row[0] for row in clients]
    last = {
        row[0]: (row[1], row[2])
        for row in db.execute(
            select(TherapySession.client_id, TherapySession.number, TherapySession.date)
            .where(TherapySession.client_id.in_(ids))
            .order_by(TherapySession.client_id, TherapySession.number)
        )
    }
    alerts: dict[int, list[Alert]] = {}
    for alert in db.scalars(
        select(Alert)
        .where(Alert.client_id.in_(ids), Alert.active.is_(True), Alert.acknowledged_at.is_(None))
        .order_by(Alert.priority.desc(), Alert.session.desc())
    ):
        alerts.setdefault(alert.client_id, []).append(alert)
    # the not-on-track colour at the latest session (of the first outcome), from the engine's
    # client table: shown beside the alerts, not one of them (a yellow colour is not an open
    # alert unless FeedbackConfig.yellow_alert; docs/alert-validity.md)
    colours: dict[int, str | None] = {
        int(client_id): (data or {}).get("colour")
        for client_id, data in db.execute(
            select(Signal.client_id, Signal.data).where(
                Signal.client_id.in_(ids), Signal.kind == "summary"
            )
        )
    }
    forms: dict[int, int] = {
        int(client_id): int(count)
        for client_id, count in db.execute(
            select(FormRequest.client_id, func.count())
            .where(FormRequest.client_id.in_(ids), FormRequest.submitted_at.is_(None))
            .group_by(FormRequest.client_id)
        )
    }
    entries = []
    for client_id, code, therapist_id, therapist_code in clients:
        mine = alerts.get(client_id, [])
        session = last.get(client_id)
        entries.append(
            CaseloadEntry(
                client_id=client_id,
                code=code,
                therapist_id=therapist_id,
                therapist_code=therapist_code,
                last_session=session[0] if session else None,
                last_session_date=session[1] if session else None,
                open_alerts=len(mine),
                priority=mine[0].priority if mine else 0.0,
                top_alert_kind=mine[0].kind if mine else None,
                top_alert_title=mine[0].title if mine else None,
                open_forms=int(forms.get(client_id, 0)),
                colour=colours.get(client_id),
            )
        )
    entries.sort(key=lambda e: (-e.priority, e.code))
    record_event(
        db,
        actor=actor,
        action="caseload.read",
        object_type="client",
        detail={"clients": [e.client_id for e in entries]},
    )
    return entries
