"""The risk pathway: risk answers in the caller's scope, acknowledging one, the clinic's
risk log and its risk settings (crisis text, escalation delay)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bordin.storage import actions, queries
from bordin.storage.access import require_role
from bordin.storage.models import Clinic
from bordin.web.deps import MAX_ID, CurrentUser, Db, RecordId, require_csrf

__all__ = ["RiskAcknowledgementIn", "RiskSettingsIn", "RiskSettingsOut", "router"]

router = APIRouter(tags=["risk"])


class RiskAcknowledgementIn(BaseModel):
    """A note with the acknowledgement of a risk answer."""

    note: str = Field("", max_length=4000)


class RiskSettingsIn(BaseModel):
    """The clinic's crisis text (local crisis numbers) and escalation delay."""

    crisis_text: str = Field("", max_length=2000)
    escalate_minutes: int = Field(60, ge=1, le=10080)


class RiskSettingsOut(BaseModel):
    """The clinic's risk settings."""

    crisis_text: str | None
    escalate_minutes: int


@router.get("/risk/events")
def list_risk_events(
    db: Db, user: CurrentUser, open_only: bool = Query(True)
) -> list[dict[str, Any]]:
    """Risk answers of the clients in the caller's scope, newest first: the item's
    wording, the answer and when it was given (unacknowledged only unless
    ``open_only=false``)."""
    return queries.list_risk_events(db, actor=user, open_only=open_only)


@router.get("/risk/events/{event_id}")
def get_risk_event(event_id: RecordId, db: Db, user: CurrentUser) -> dict[str, Any]:
    """One risk answer; the caller's notices of it become read (logged)."""
    event = actions.open_risk_event(db, actor=user, risk_event_id=event_id)
    return queries.describe_risk_event(db, event)


@router.post("/risk/events/{event_id}/acknowledge", dependencies=[Depends(require_csrf)])
def acknowledge_risk_event(
    event_id: RecordId, body: RiskAcknowledgementIn, db: Db, user: CurrentUser
) -> dict[str, Any]:
    """Acknowledge a risk answer with a note; this stops its escalation."""
    event = actions.acknowledge_risk(db, actor=user, risk_event_id=event_id, note=body.note)
    return queries.describe_risk_event(db, event)


@router.get("/risk/log")
def read_risk_log(
    db: Db,
    user: CurrentUser,
    risk_event_id: int | None = Query(None, ge=1, le=MAX_ID),
    since: datetime | None = Query(None),
    limit: int = Query(1000, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """Every step of the clinic's risk pathway, oldest first (admins only)."""
    return queries.list_risk_log(
        db, actor=user, risk_event_id=risk_event_id, since=since, limit=limit
    )


@router.get("/clinic/risk-settings")
def get_risk_settings(db: Db, user: CurrentUser) -> RiskSettingsOut:
    """The clinic's crisis text and escalation delay (admins only)."""
    require_role(user, "admin")
    clinic = db.get(Clinic, user.clinic_id)
    return RiskSettingsOut(
        crisis_text=clinic.crisis_text if clinic else None,
        escalate_minutes=clinic.risk_escalate_minutes if clinic else 60,
    )


@router.put("/clinic/risk-settings", dependencies=[Depends(require_csrf)])
def put_risk_settings(body: RiskSettingsIn, db: Db, user: CurrentUser) -> RiskSettingsOut:
    """Set the crisis text shown after forms with a risk item, and the minutes before an
    unacknowledged risk answer is escalated to the supervisors (admins only)."""
    clinic = actions.set_risk_settings(
        db, actor=user, crisis_text=body.crisis_text, escalate_minutes=body.escalate_minutes
    )
    return RiskSettingsOut(
        crisis_text=clinic.crisis_text, escalate_minutes=clinic.risk_escalate_minutes
    )
