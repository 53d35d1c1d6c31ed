"""Scores, signals and alerts of a client, acknowledgement, and the caseload."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bordin.storage import actions, queries
from bordin.storage.actions._feedback import jsonable
from bordin.web.deps import CurrentUser, Db, RecordId, require_csrf
from bordin.web.schemas import (
    AcknowledgeIn,
    AlertOut,
    CaseloadEntryOut,
    FeedbackShownOut,
    ScoreRowOut,
    SignalOut,
)

__all__ = ["router"]

router = APIRouter(tags=["feedback"])


@router.get("/clients/{client_id}/scores")
def get_scores(client_id: RecordId, db: Db, user: CurrentUser) -> list[ScoreRowOut]:
    """A client's scale scores per session (``phq9_total``, ``sac_bond``...)."""
    frame = queries.get_scores_frame(db, actor=user, client_id=client_id)
    rows = []
    for record in frame.to_dict(orient="records"):
        scores = {
            k: jsonable(v)
            for k, v in record.items()
            if k not in ("client_id", "therapist_id", "session", "date")
        }
        rows.append(
            ScoreRowOut(
                session=int(record["session"]), date=jsonable(record["date"]), scores=scores
            )
        )
    return rows


@router.get("/clients/{client_id}/signals")
def list_signals(client_id: RecordId, db: Db, user: CurrentUser) -> list[SignalOut]:
    """A client's feedback signals: ruptures and repairs, per-session signals, summary."""
    return [
        SignalOut.model_validate(s)
        for s in queries.list_signals(db, actor=user, client_id=client_id)
    ]


@router.get("/clients/{client_id}/feedback-history")
def list_feedback_history(client_id: RecordId, db: Db, user: CurrentUser) -> list[FeedbackShownOut]:
    """What feedback showed for the client when each session came in, as shown then
    (later norms snapshots and sessions do not rewrite it)."""
    return [
        FeedbackShownOut.model_validate(h)
        for h in queries.list_feedback_history(db, actor=user, client_id=client_id)
    ]


@router.get("/clients/{client_id}/alerts")
def list_alerts(
    client_id: RecordId, db: Db, user: CurrentUser, include_inactive: bool = False
) -> list[AlertOut]:
    """A client's alerts, most urgent first."""
    found = queries.list_alerts(
        db, actor=user, client_id=client_id, include_inactive=include_inactive
    )
    return [AlertOut.model_validate(a) for a in found]


@router.post("/alerts/{alert_id}/acknowledge", dependencies=[Depends(require_csrf)])
def acknowledge_alert(
    alert_id: RecordId, body: AcknowledgeIn, db: Db, user: CurrentUser
) -> AlertOut:
    """Acknowledge an alert with a note (kept when feedback is recomputed)."""
    alert = actions.acknowledge_alert(db, actor=user, alert_id=alert_id, note=body.note)
    return AlertOut.model_validate(alert)


@router.get("/caseload")
def caseload(db: Db, user: CurrentUser) -> list[CaseloadEntryOut]:
    """The caseload, most urgent first (therapist: own; supervisor: team; admin: clinic)."""
    return [CaseloadEntryOut.model_validate(e) for e in queries.list_caseload(db, actor=user)]
