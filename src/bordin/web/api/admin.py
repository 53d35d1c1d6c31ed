"""Users, teams and the audit trail of a clinic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bordin.storage import actions, queries
from bordin.web.deps import MAX_ID, CurrentUser, Db, RecordId, require_csrf
from bordin.web.schemas import AdminTwoFactorIn, UserOut

__all__ = ["AuditEventOut", "TeamIn", "TeamOut", "UserIn", "router"]

router = APIRouter(tags=["admin"])


class UserIn(BaseModel):
    """A new staff account (admins only)."""

    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=10, max_length=1024)
    role: str = Field(pattern="^(therapist|supervisor|admin)$")
    team_id: int | None = Field(None, ge=1, le=MAX_ID)
    code: str | None = Field(None, min_length=1, max_length=64)
    display_name: str = Field("", max_length=200)


class TeamIn(BaseModel):
    """A new team."""

    name: str = Field(min_length=1, max_length=200)


class TeamOut(BaseModel):
    """A team."""

    id: int
    name: str


class AuditEventOut(BaseModel):
    """One audit event."""

    id: int
    at: datetime
    actor_kind: str
    actor_id: int | None
    action: str
    object_type: str
    object_id: int | None
    client_id: int | None
    detail: dict[str, Any]


@router.get("/users")
def list_users(db: Db, user: CurrentUser) -> list[UserOut]:
    """Staff of the clinic (admin) or team (supervisor)."""
    return [UserOut.model_validate(u) for u in queries.list_users(db, actor=user)]


@router.post("/users", status_code=201, dependencies=[Depends(require_csrf)])
def create_user(body: UserIn, db: Db, user: CurrentUser) -> UserOut:
    """Create a staff account in the admin's clinic (password hashed with argon2id)."""
    created = actions.create_user(
        db,
        actor=user,
        clinic_id=user.clinic_id,
        username=body.username,
        password=body.password,
        role=body.role,
        team_id=body.team_id,
        code=body.code,
        display_name=body.display_name,
    )
    return UserOut.model_validate(created)


@router.get("/teams")
def list_teams(db: Db, user: CurrentUser) -> list[TeamOut]:
    """Teams of the clinic."""
    return [TeamOut(id=t.id, name=t.name) for t in queries.list_teams(db, actor=user)]


@router.post("/teams", status_code=201, dependencies=[Depends(require_csrf)])
def create_team(body: TeamIn, db: Db, user: CurrentUser) -> TeamOut:
    """Create a team (admins only)."""
    team = actions.create_team(db, actor=user, clinic_id=user.clinic_id, name=body.name)
    return TeamOut(id=team.id, name=team.name)


@router.get("/audit-events")
def list_audit_events(
    db: Db,
    user: CurrentUser,
    client_id: int | None = Query(None, ge=1, le=MAX_ID),
    before_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(200, ge=1, le=1000),
) -> list[AuditEventOut]:
    """The clinic's audit trail, newest first (admins only); page with ``before_id``."""
    events = queries.list_audit_events(
        db, actor=user, client_id=client_id, limit=limit, before_id=before_id
    )
    return [
        AuditEventOut(
            id=e.id,
            at=e.at,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            client_id=e.client_id,
            detail=e.detail,
        )
        for e in events
    ]


# --- two-factor login (issue 21) ---
@router.post(
    "/users/{user_id}/two-factor/off", status_code=204, dependencies=[Depends(require_csrf)]
)
def turn_off_two_factor(user_id: RecordId, db: Db, user: CurrentUser) -> None:
    """Turn off a staff member's two-factor login (a lost phone; admins only)."""
    from bordin.storage.actions.two_factor import turn_off_two_factor as turn_off

    turn_off(db, actor=user, user_id=user_id)


@router.put("/clinic/admin-two-factor", status_code=204, dependencies=[Depends(require_csrf)])
def require_admin_two_factor(body: AdminTwoFactorIn, db: Db, user: CurrentUser) -> None:
    """Require (or not) two-factor login for the clinic's admins (every admin must use it
    already)."""
    from bordin.storage.actions.two_factor import require_admin_two_factor as require

    require(db, actor=user, required=body.required)
